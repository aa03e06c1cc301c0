"""A worker's heartbeat: its claim touched while main runs, and the claim's loss noticed at once.

Two threads. The heartbeat touches the claim every ``heartbeat_s`` and checks every CHECK_S
that it is still there; the lease watchdog touches no file (a hung filesystem cannot hold it
up) and stops main once no heartbeat has succeeded for the claim's lease
(alfred.protocol.seed_state.lease_s). Either one stops main through alfred.protocol.fencing.
"""
from __future__ import annotations

import logging
import os
import signal
import threading

from alfred.protocol import fencing, flags
from alfred.protocol.liveness import lease_clock

__all__ = ["Heartbeat", "CHECK_S"]

CHECK_S = 1.0  # how often the heartbeat thread checks that the claim is still ours
log = logging.getLogger("alfred.search.worker")


class Heartbeat(threading.Thread):
    """Touches the current claim every ``interval_s``, and every CHECK_S checks it is still ours.

    It never dies of an error (a failed touch is retried). When the claim is gone it stops the
    user's main (fencing.claim_lost). A second thread, which never touches a file (a hung
    filesystem cannot hold it up), stops main when heartbeats have been failing, or one has been
    stuck, for so long that none succeeded within ``lease_s``: by then a cleaner on another host
    may be about to call the run dead (the claim records the stale threshold its holder keeps
    to). A process that was only stopped (SIGSTOP, a suspended job) made no attempt meanwhile:
    its next heartbeat decides (the claim still there: it goes on; gone: it is fenced). With
    ``parent_pid``, it also stops the worker when that parent (the launcher) is gone, where the
    kernel could not be asked to (no prctl).
    """

    def __init__(self, interval_s: float, lease_s: float, parent_pid: int | None = None):
        super().__init__(name="alfred-heartbeat", daemon=True)
        self.interval_s, self.lease_s, self.parent_pid = interval_s, lease_s, parent_pid
        self.lock = threading.Lock()
        self.current: flags.Claim | None = None
        self.last_ok = lease_clock()  # when the last heartbeat of the current claim succeeded
        self.in_flight: float | None = None  # when the heartbeat under way started
        self.failed: float | None = None  # when the last heartbeat failed (None: none failed since last_ok)
        self.stopping = threading.Event()
        self.watchdog = threading.Thread(target=self._watch, name="alfred-lease", daemon=True)

    def start(self) -> None:
        super().start()
        self.watchdog.start()

    def set(self, claim: flags.Claim | None) -> None:
        """Beat for ``claim`` from now on; its lease runs from when it was made."""
        with self.lock:
            self.current, self.failed = claim, None
            self.last_ok = claim.clock if claim is not None and claim.clock else lease_clock()

    def expired(self) -> str | None:
        """Why the current claim's lease ran out (no heartbeat succeeded within it, and they are
        failing or stuck), or None."""
        silent = lease_clock() - self.last_ok
        if self.current is None or silent <= self.lease_s or (self.failed is None and self.in_flight is None):
            return None
        how = "failing" if self.failed is not None else "stuck (the filesystem does not answer)"
        return (f"no heartbeat succeeded for {silent:.0f} s, they are {how} (its lease is {self.lease_s:.0f} s): "
                "a cleaner may call it dead")

    def check(self) -> str | None:
        """Why the current claim is lost, or None (at SIGCONT: one lookup of the claim's file)."""
        claim = self.current
        if claim is None:
            return None
        return self.expired() or (None if flags.owns(claim) else "it was reset while this worker was stopped")

    def _watch(self) -> None:
        while not self.stopping.wait(CHECK_S):
            why = self.expired()
            if why is not None and not fencing.lost():
                fencing.claim_lost(why)

    def run(self) -> None:
        last_beat = lease_clock()
        while not self.stopping.wait(min(CHECK_S, self.interval_s)):
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                self.parent_pid = None
                log.warning("the launcher is gone: releasing the running seed and stopping")
                os.kill(os.getpid(), signal.SIGTERM)
            claim = self.current
            if claim is None or fencing.lost():
                continue
            beat = lease_clock() - last_beat >= self.interval_s  # after a stop too: at once
            self.in_flight = lease_clock()
            try:
                alive = flags.heartbeat(claim) if beat else flags.owns(claim)
            except Exception as e:  # e.g. an NFS hiccup: keep beating (the lease says when to give up)
                self.failed = lease_clock()
                log.warning("heartbeat failed (%s); retrying", e)
                continue
            finally:
                self.in_flight = None
            if beat and alive:
                last_beat = lease_clock()
                with self.lock:
                    if self.current is claim:
                        self.last_ok, self.failed = last_beat, None
            if not alive and self.current is claim:
                fencing.claim_lost("it was reset while this worker was stopped or cut off")
