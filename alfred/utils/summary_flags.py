"""Storage-level FLAG-files of the results side: who makes a storage dir's summary, once.

    (none) --claim: O_CREAT|O_EXCL SUMMARY_ONGOING---------> SUMMARY_ONGOING (host, pid, time)
    SUMMARY_ONGOING --finish: write SUMMARY_COMPLETED (or SUMMARY_FAILED), unlink ONGOING

Exactly one of several processes creating ``SUMMARY_ONGOING`` at once succeeds (O_EXCL is
atomic on local filesystems and NFSv3+). An ONGOING flag whose owner is dead -- its pid is
dead on this host, or the flag is older than ``stale_after_s`` on another host -- can be
taken over: a taker first wins ``<flag>.takeover`` (O_EXCL), checks again that the owner is
dead, and only then replaces the flag, so two takers never both own it.
``PLOT_ARRAYS_ONGOING`` / ``PLOT_ARRAYS_COMPLETED`` follow the same protocol.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from alfred.utils import flags
from alfred.utils.misc import atomic_write_text

__all__ = ["FlagClaim", "claim_flag", "finish_flag", "owner_is_dead", "read_flag", "release_flag", "remove_if_dead",
           "STALE_S"]

STALE_S = 6 * 3600.0  # an ONGOING flag from another host this old counts as abandoned
TAKEOVER_STALE_S = 60.0


@dataclass
class FlagClaim:
    path: Path
    token: str
    info: dict


def read_flag(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def owner_is_dead(path: Path, stale_after_s: float = STALE_S, now: float | None = None) -> bool:
    """Whether the process that created the ONGOING flag ``path`` is gone (False if no flag)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    info = read_flag(path)
    now = time.time() if now is None else now
    if info.get("host") == flags.HOSTNAME and isinstance(info.get("pid"), int):
        return not flags._pid_alive(info["pid"], info.get("pid_start"))
    if not info:  # being written (content follows O_EXCL create at once), unless very old
        return now - st.st_mtime > TAKEOVER_STALE_S
    return now - max(st.st_mtime, float(info.get("epoch", 0))) > stale_after_s


def _create(path: Path, extra: dict | None) -> FlagClaim | None:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None
    now = time.time()
    info = {"host": flags.HOSTNAME, "pid": os.getpid(), "pid_start": flags.pid_start_time(os.getpid()),
            "time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)), "epoch": now,
            "token": uuid.uuid4().hex, **(extra or {})}
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
    return FlagClaim(path, info["token"], info)


def claim_flag(path: Path, *, stale_after_s: float = STALE_S, extra: dict | None = None) -> FlagClaim | None:
    """Create the ONGOING flag ``path``; take it over if its owner is dead. None if a live owner has it."""
    path = Path(path)
    got = _create(path, extra)
    if got is not None or not owner_is_dead(path, stale_after_s):
        return got
    lock = path.with_name(path.name + ".takeover")
    taken = _create(lock, None)
    if taken is None:
        if owner_is_dead(lock, TAKEOVER_STALE_S):  # a taker died mid-takeover: clear its lock
            _unlink(lock)
        return None
    try:
        if not owner_is_dead(path, stale_after_s):  # re-check under the lock: someone else took it
            return _create(path, extra)  # (or the flag vanished: then this is a plain claim)
        _unlink(path)
        return _create(path, extra)
    finally:
        _unlink(lock)


def remove_if_dead(path: Path, stale_after_s: float = STALE_S) -> bool:
    """Remove the ONGOING flag ``path`` if its owner is dead (under the takeover lock, like a
    takeover, so a flag just claimed by a live taker is never removed). True if removed."""
    path = Path(path)
    lock = path.with_name(path.name + ".takeover")
    if _create(lock, None) is None:
        return False
    try:
        if not owner_is_dead(path, stale_after_s):
            return False
        _unlink(path)
        return True
    finally:
        _unlink(lock)


def owns(claim: FlagClaim) -> bool:
    return read_flag(claim.path).get("token") == claim.token


def touch(claim: FlagClaim) -> None:
    """Refresh the flag's mtime (its heartbeat, for readers on other hosts)."""
    try:
        os.utime(claim.path)
    except FileNotFoundError:
        pass


def finish_flag(claim: FlagClaim, done_path: Path, info: dict | None = None) -> bool:
    """Write ``done_path`` (e.g. SUMMARY_COMPLETED) with ``info``, then remove the ONGOING flag.

    Returns False, writing nothing, when the claim was taken over meanwhile.
    """
    if not owns(claim):
        return False
    atomic_write_text(done_path, json.dumps({**claim.info, "end_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                                             **(info or {})}, indent=1) + "\n")
    _unlink(claim.path)
    return True


def release_flag(claim: FlagClaim) -> None:
    """Give the ONGOING flag up without a result (nothing to do after all)."""
    if owns(claim):
        _unlink(claim.path)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
