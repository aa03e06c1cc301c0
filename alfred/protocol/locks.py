"""Locks on storage dirs: the one implementation of "one process at a time" in alfred.

Used for ``CLEAN_ONGOING`` (clean_interrupted), ``RETRAIN_ONGOING`` (create_retrainbest),
``SUMMARY_ONGOING`` and ``PLOT_ARRAYS_ONGOING`` (the automatic summaries). A lock ``<NAME>``
is one file that moves by rename, as a seed's flag does, so it exists exactly once:

    free      ``.<NAME>.free``          a hidden empty file
    held      ``<NAME>.<token>``        the holder's facts (host, boot id, PID namespace, pid,
                                        time, token); its mtime is the holder's heartbeat
    claim     rename(.<NAME>.free, <NAME>.<token>): exactly one claimer wins
    release   rename(<NAME>.<token>, .<NAME>.free): only the holder knows its own name, so
              nobody releases a lock someone else holds
    finish    the done flag (e.g. SUMMARY_COMPLETED) written while held, then release
    takeover  a holder judged dead -- its pid dead in this host's PID namespace, or its
              heartbeat older than the lock's stale time on the filesystem's clock -- is
              replaced by rename(<NAME>.<dead token>, <NAME>.<token>): exactly one taker wins,
              and a holder that was only stopped finds its name gone when it resumes: it owns
              nothing any more (``owns``), and every later step of its own fails

The first use of a lock in a storage dir (no free file and no holder, e.g. a folder made by an
older alfred) creates the free file once: ``link(2)`` of a new file to ``.<NAME>.init`` decides
who does, and that ``.init`` stays. A plain ``<NAME>`` file is a lock of an older alfred,
judged and taken over the same way. Holders refresh their lock while they hold it (``held``,
``start_refresh``), so a long clean or summary is never taken for dead.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alfred.protocol.fsio import atomic_write_text, read_json_or_empty, stall_point, write_into, write_new
from alfred.protocol.liveness import fresh_mtime, fs_now, identity, pid_alive, same_pid_space

__all__ = ["LockClaim", "claim_lock", "finish_lock", "held", "holder", "owner_is_dead", "owns", "read_lock",
           "release_lock", "remove_if_dead", "touch"]


@dataclass
class LockClaim:
    path: Path  # the lock's name, <folder>/<NAME>
    token: str
    info: dict
    stale_after_s: float = 3600.0
    _refresher: threading.Event | None = field(default=None, repr=False)

    @property
    def held_path(self) -> Path:
        return self.path.with_name(f"{self.path.name}.{self.token}")

    def start_refresh(self, every_s: float | None = None) -> None:
        """Touch the lock from a thread every ``every_s`` (default: a tenth of its stale time)
        until it is released or finished."""
        if self._refresher is None:
            self._refresher = threading.Event()
            every = every_s or max(1.0, self.stale_after_s / 10)
            threading.Thread(target=_refresh, args=(self, self._refresher, every), name="alfred-lock",
                             daemon=True).start()

    def stop_refresh(self) -> None:
        if self._refresher is not None:
            self._refresher.set()


def _refresh(claim: LockClaim, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        if not touch(claim):
            return


def read_lock(path: str | os.PathLike) -> dict:
    """The facts in a done flag (e.g. SUMMARY_COMPLETED), or of the holder of the lock ``path``; {} if none."""
    info = read_json_or_empty(path)
    if info:
        return info
    found = holder(path)
    return found[1] if found else {}


_TOKEN = re.compile(r"[0-9a-f]{16}")


def _free(path: Path) -> Path:
    return path.with_name(f".{path.name}.free")


def holder(path: str | os.PathLike) -> tuple[Path, dict] | None:
    """``(file, facts)`` of whoever holds the lock ``path`` now, or None when it is free."""
    path = Path(path)
    prefix = path.name + "."
    try:
        names = os.listdir(path.parent)
    except (FileNotFoundError, NotADirectoryError):
        return None
    for name in sorted(names):
        if name == path.name or (name.startswith(prefix) and _TOKEN.fullmatch(name[len(prefix):])):
            held_path = path.parent / name
            return held_path, read_json_or_empty(held_path)
    return None


def _dead(held_path: Path, info: dict, stale_after_s: float) -> bool:
    if same_pid_space(info):
        return not pid_alive(info["pid"], info.get("pid_start"))
    mtime = fresh_mtime(held_path)
    if mtime is None:
        return False  # gone meanwhile: whoever took it is alive
    if not info:  # a claim a moment old has no facts yet: ctime says when it was renamed
        try:
            mtime = max(mtime, os.lstat(held_path).st_ctime)
        except OSError:
            return False
    return fs_now(held_path.parent) - mtime > stale_after_s


def owner_is_dead(path: str | os.PathLike, stale_after_s: float) -> bool:
    """Whether the lock ``path`` is held by a process that is gone (False if it is free)."""
    found = holder(path)
    return found is not None and _dead(found[0], found[1], stale_after_s)


def _facts(token: str, extra: dict | None) -> dict:
    now = time.time()
    return {**identity(os.getpid()), "time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)), "epoch": now,
            "token": token, **(extra or {})}


def _take(source: Path, path: Path, stale_after_s: float, extra: dict | None) -> LockClaim | None:
    """rename(source, <NAME>.<token>): the lock is ours if that rename succeeded."""
    token = os.urandom(8).hex()
    claim = LockClaim(path, token, _facts(token, extra), stale_after_s)
    try:
        os.rename(source, claim.held_path)
    except FileNotFoundError:
        if not os.path.exists(claim.held_path):  # an NFS retransmission may report ENOENT for a rename done
            return None
    stall_point("after_lock_create")
    try:
        write_into(claim.held_path, json.dumps(claim.info, indent=1).encode(), os.O_TRUNC)
    except FileNotFoundError:
        return None  # taken over while this process was stopped
    return claim


def claim_lock(path: str | os.PathLike, *, stale_after_s: float, extra: dict | None = None) -> LockClaim | None:
    """Take the lock ``path``, taking it over if its holder is dead. None if a live process holds it."""
    path = Path(path)
    for _ in range(3):
        got = _take(_free(path), path, stale_after_s, extra)
        if got is not None:
            if not _legacy_holder_alive(path, stale_after_s):
                return got
            release_lock(got)  # an older alfred holds <NAME> itself (it knows nothing of the free file)
            return None
        found = holder(path)
        if found is None:
            _create_free(path)
            continue
        if not _dead(found[0], found[1], stale_after_s):
            return None
        got = _take(found[0], path, stale_after_s, extra)  # the takeover: one taker's rename succeeds
        if got is not None:
            return got
    return None


def _legacy_holder_alive(path: Path, stale_after_s: float) -> bool:
    """Whether a lock of an older alfred (the plain ``<NAME>`` file) is held by a live process;
    a dead one's file is removed (it would show as held)."""
    if not os.path.lexists(path):
        return False
    if not _dead(path, read_json_or_empty(path), stale_after_s):
        return True
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return False


def _create_free(path: Path) -> None:
    """The free file of a lock used for the first time: created by whoever links ``.<NAME>.init`` first."""
    mine = path.with_name(f".{path.name}.tmp.{os.urandom(6).hex()}")
    write_new(mine, json.dumps(_facts("", None)).encode())
    init = path.with_name(f".{path.name}.init")
    try:
        os.link(mine, init)
    except FileExistsError:
        os.unlink(mine)
        _finish_dead_creation(path, init)
        return  # created before (and taken meanwhile), or being created by someone else
    os.rename(mine, _free(path))


def _finish_dead_creation(path: Path, init: Path) -> None:
    """The process that linked ``.init`` died before making the free file: make it from its file
    (the one sharing ``.init``'s inode), by one rename that only one process can do."""
    try:
        inode = os.lstat(init).st_ino
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if name.startswith(f".{path.name}.tmp."):
            theirs = path.parent / name
            try:
                if os.lstat(theirs).st_ino == inode and _dead(theirs, read_json_or_empty(theirs), 60.0):
                    os.rename(theirs, _free(path))
            except OSError:
                pass


def owns(claim: LockClaim) -> bool:
    """Whether the lock is still held under this claim's name (not taken over)."""
    return os.path.exists(claim.held_path)


def touch(claim: LockClaim) -> bool:
    """Refresh the lock's mtime, its heartbeat for other hosts; False once it is no longer ours."""
    try:
        os.utime(claim.held_path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def release_lock(claim: LockClaim) -> bool:
    """Give the lock up: rename(<NAME>.<token>, .<NAME>.free). False if it was taken over meanwhile."""
    claim.stop_refresh()
    try:
        os.truncate(claim.held_path, 0)
        os.rename(claim.held_path, _free(claim.path))
    except FileNotFoundError:
        return False
    return True


def finish_lock(claim: LockClaim, done_path: str | os.PathLike, info: dict | None = None) -> bool:
    """Write ``done_path`` (e.g. SUMMARY_COMPLETED) with ``info``, then release the lock.

    Returns False, writing nothing, when the lock was taken over meanwhile.
    """
    if not owns(claim):
        claim.stop_refresh()
        return False
    atomic_write_text(done_path, json.dumps({**claim.info, "end_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                                             **(info or {})}, indent=1) + "\n")
    return release_lock(claim)


def remove_if_dead(path: str | os.PathLike, stale_after_s: float) -> bool:
    """Free the lock ``path`` if its holder is dead: rename(<NAME>.<dead token>, .<NAME>.free), which
    fails if a live taker renamed it first. True if freed."""
    path = Path(path)
    found = holder(path)
    if found is None or not _dead(found[0], found[1], stale_after_s):
        return False
    try:
        os.rename(found[0], _free(path))
    except FileNotFoundError:
        return False
    return True


@contextmanager
def held(path: str | os.PathLike, *, stale_after_s: float, extra: dict | None = None) -> Iterator[LockClaim | None]:
    """``with held(lock) as claim:`` -- claim is None when another live process holds it; the
    lock is refreshed while the block runs and released at its end."""
    claim = claim_lock(path, stale_after_s=stale_after_s, extra=extra)
    if claim is not None:
        claim.start_refresh()
    try:
        yield claim
    finally:
        if claim is not None:
            release_lock(claim)
