"""Locks on storage dirs: the one implementation of "one process at a time" in alfred.

Used for ``CLEAN_ONGOING`` (clean_interrupted), ``RETRAIN_ONGOING`` (create_retrainbest),
``SUMMARY_ONGOING`` and ``PLOT_ARRAYS_ONGOING`` (the automatic summaries).

    claim     write the lock's facts (host, pid, pid start time, time, token) to a temporary
              file, then link(2) it to the lock's name. link fails if the name exists, so
              exactly one of several claimers wins -- atomic on local filesystems and on NFS
              (the classic NFS lock) -- and the lock is never seen empty or half-written.
    finish    only while the lock still holds our token: write the done flag (e.g.
              SUMMARY_COMPLETED), then remove the lock.
    release   only while ours: remove the lock.
    takeover  a lock whose owner is dead -- its pid is dead on this host, or, from another
              host, its heartbeat (mtime, see :func:`touch`) is older than ``stale_after_s``
              -- may be taken over. A taker first wins ``<lock>.takeover`` (the same claim),
              checks again that the owner is dead, and only then removes the lock and claims
              it, so two takers never both own it, and a live owner's lock is never broken.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alfred.protocol.fsio import atomic_write_text, read_json_or_empty, stall_point
from alfred.protocol.seed_state import HOSTNAME, pid_alive, pid_start_time

__all__ = ["LockClaim", "claim_lock", "finish_lock", "held", "owner_is_dead", "owns", "read_lock", "release_lock",
           "remove_if_dead", "touch"]

TAKEOVER_STALE_S = 60.0  # a <lock>.takeover of another host older than this belongs to a dead taker


@dataclass
class LockClaim:
    path: Path
    token: str
    info: dict


def read_lock(path: str | os.PathLike) -> dict:
    """The facts in a lock or done flag; {} when missing or unreadable."""
    return read_json_or_empty(path)


def owner_is_dead(path: str | os.PathLike, stale_after_s: float, now: float | None = None) -> bool:
    """Whether the process that holds the lock ``path`` is gone (False if there is no lock).

    On this host its pid decides (a reused pid is told apart by its start time); from another
    host, a heartbeat older than ``stale_after_s``. A lock that cannot be read (made by hand,
    or damaged) counts as dead once its mtime is older than ``stale_after_s``.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    info = read_lock(path)
    if info.get("host") == HOSTNAME and isinstance(info.get("pid"), int):
        return not pid_alive(info["pid"], info.get("pid_start"))
    now = time.time() if now is None else now
    return now - st.st_mtime > stale_after_s


def _create(path: Path, extra: dict | None) -> LockClaim | None:
    now = time.time()
    pid = os.getpid()
    info = {"host": HOSTNAME, "pid": pid, "pid_start": pid_start_time(pid),
            "time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)), "epoch": now,
            "token": uuid.uuid4().hex, **(extra or {})}
    tmp = path.with_name(f".{path.name}.{info['token'][:12]}")
    with open(tmp, "x", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
    try:
        os.link(tmp, path)  # the decision: fails with EEXIST when another process holds it
    except FileExistsError:
        return None
    finally:
        os.unlink(tmp)
    stall_point("after_lock_create")
    return LockClaim(path, info["token"], info)


def claim_lock(path: str | os.PathLike, *, stale_after_s: float, extra: dict | None = None) -> LockClaim | None:
    """Take the lock ``path``, taking it over if its owner is dead. None if a live owner has it."""
    path = Path(path)
    got = _create(path, extra)
    if got is not None or not owner_is_dead(path, stale_after_s):
        return got
    with _takeover(path) as mine:
        if not mine:
            return None
        if owner_is_dead(path, stale_after_s):  # checked again under the takeover lock
            _unlink(path)
        return _create(path, extra)  # None if a live process took it meanwhile


def remove_if_dead(path: str | os.PathLike, stale_after_s: float) -> bool:
    """Remove the lock ``path`` if its owner is dead (under the takeover lock, like a
    takeover, so a lock just claimed by a live taker is never removed). True if removed."""
    path = Path(path)
    with _takeover(path) as mine:
        if not mine or not owner_is_dead(path, stale_after_s):
            return False
        _unlink(path)
        return True


@contextmanager
def _takeover(path: Path) -> Iterator[bool]:
    lock = path.with_name(path.name + ".takeover")
    taken = _create(lock, None)
    if taken is None:
        if owner_is_dead(lock, TAKEOVER_STALE_S):  # a taker died mid-takeover: clear its lock
            _unlink(lock)
        yield False
        return
    try:
        yield True
    finally:
        _unlink(lock)


def owns(claim: LockClaim) -> bool:
    return read_lock(claim.path).get("token") == claim.token


def touch(claim: LockClaim) -> None:
    """Refresh the lock's mtime: its heartbeat, for processes on other hosts."""
    try:
        os.utime(claim.path)
    except FileNotFoundError:
        pass


def finish_lock(claim: LockClaim, done_path: str | os.PathLike, info: dict | None = None) -> bool:
    """Write ``done_path`` (e.g. SUMMARY_COMPLETED) with ``info``, then remove the lock.

    Returns False, writing nothing, when the lock was taken over meanwhile.
    """
    if not owns(claim):
        return False
    atomic_write_text(done_path, json.dumps({**claim.info, "end_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                                             **(info or {})}, indent=1) + "\n")
    _unlink(claim.path)
    return True


def release_lock(claim: LockClaim) -> None:
    """Give the lock up without a result."""
    if owns(claim):
        _unlink(claim.path)


@contextmanager
def held(path: str | os.PathLike, *, stale_after_s: float, extra: dict | None = None) -> Iterator[LockClaim | None]:
    """``with held(lock) as claim:`` -- claim is None when another live process holds it;
    the lock is released at the end of the block."""
    claim = claim_lock(path, stale_after_s=stale_after_s, extra=extra)
    try:
        yield claim
    finally:
        if claim is not None:
            release_lock(claim)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
