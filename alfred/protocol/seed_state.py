"""The state of a seed folder, decided in one place: :func:`seed_state`.

Every reader of states -- status, clean_interrupted, the automatic summaries, results
loading, SLURM submission, the worker -- calls :func:`seed_state`, so they all agree.
The FLAG-files themselves are written by :mod:`alfred.protocol.flags`.
"""
from __future__ import annotations

import enum
import json
import os
import socket
import time
from dataclasses import dataclass, field

from alfred.protocol.fsio import MAX_FLAG_BYTES, read_regular
from alfred.protocol.layout import COMPLETED, CRASH, SEED_FLAGS, UNHATCHED, is_claim_flag
from alfred.protocol.slurm_jobs import job_verdict

__all__ = ["SeedState", "SeedStatus", "seed_state", "read_flag_info", "pid_start_time", "pid_alive", "HOSTNAME",
           "MIN_STALE_S", "stale_threshold"]

HOSTNAME = socket.gethostname()
# NFS clients cache file attributes for up to 60 s (acregmax), so a heartbeat seen from
# another node can look that much older than it is: never call a run stale sooner.
MIN_STALE_S = 120.0
STALE_HEARTBEATS = 5


class SeedState(str, enum.Enum):
    UNHATCHED = UNHATCHED  # the states that one flag decides are named after it
    RUNNING = "RUNNING"
    INTERRUPTED = "INTERRUPTED"
    CRASHED = "CRASHED"
    COMPLETED = COMPLETED


@dataclass(frozen=True)
class SeedStatus:
    state: SeedState
    reason: str = ""
    info: dict = field(default_factory=dict)  # the claim's facts (host, pid, start_epoch, ...) when read
    flag: str | None = None  # the claim's flag file (OPENED.<token>), for RUNNING and INTERRUPTED


# The states a lookup decides alone, shared: status scans build none per seed.
_BY_NAME = ((os.sep + COMPLETED, SeedStatus(SeedState.COMPLETED)),
            (os.sep + UNHATCHED, SeedStatus(SeedState.UNHATCHED)),
            (os.sep + CRASH, SeedStatus(SeedState.CRASHED)))


def seed_state(seed_dir: str | os.PathLike, *, stale_after_s: float | None = None,
               now: float | None = None) -> SeedStatus:
    """The state of one seed folder, read from its FLAG-files.

    A seed folder holds one flag at a time (every transition is a rename, and a reset or a
    release creates UNHATCHED only after moving the old flag away), so flags are looked up
    by name, one ``access(2)`` each, in this order:

    1. ``COMPLETED``  -> COMPLETED
    2. ``UNHATCHED``  -> UNHATCHED
    3. ``CRASH.txt``  -> CRASHED
    4. ``OPENED.<token>`` (a claim; the folder is listed to find it) -> RUNNING or INTERRUPTED:
       a. SLURM first, when the claim names a SLURM job SLURM can answer for
          (alfred.protocol.slurm_jobs): running while the job is PENDING, RUNNING, SUSPENDED,
          REQUEUED, ...; interrupted as soon as it ended;
       b. else a pid on this host is alive or dead (a reused pid is told apart by its start
          time; zombies are dead);
       c. else the heartbeat (the claim's mtime) is fresh or older than ``stale_after_s``
    5. none           -> INTERRUPTED: a reset stopped midway (the next clean finishes it)

    A seed that changes state between two lookups (claimed, then finished) is looked at
    again from the top.

    Args:
        stale_after_s: heartbeat age (s) after which a run on another host is interrupted;
            default: max(5 heartbeats, MIN_STALE_S), using the heartbeat_s recorded in OPENED.
        now: the time to judge heartbeats against (default: now).
    """
    base = os.fspath(seed_dir).rstrip(os.sep)
    access, exists = os.access, os.F_OK
    for _ in range(3):
        for suffix, status in _BY_NAME:
            if access(base + suffix, exists):
                return status
        try:
            names = os.listdir(base)
        except FileNotFoundError:
            return SeedStatus(SeedState.INTERRUPTED, "seed folder is gone")
        claims = sorted(n for n in names if is_claim_flag(n))
        if claims:
            status = _claim_status(base, claims[0], stale_after_s, now)
            if status is not None:
                return status
        elif not SEED_FLAGS.intersection(names):
            return SeedStatus(SeedState.INTERRUPTED, "no FLAG-file (a reset was interrupted)")
    return SeedStatus(SeedState.INTERRUPTED, "its FLAG-files keep changing")


def stale_threshold(info: dict, stale_after_s: float | None = None) -> float:
    """Heartbeat age after which the run of an OPENED holding ``info`` counts as interrupted."""
    if stale_after_s is not None:
        return stale_after_s
    try:
        heartbeat_s = float(info.get("heartbeat_s", 30.0))
    except (TypeError, ValueError):
        heartbeat_s = 30.0
    return max(STALE_HEARTBEATS * heartbeat_s, MIN_STALE_S)


def _claim_status(seed_dir: str, name: str, stale_after_s: float | None, now: float | None) -> SeedStatus | None:
    """RUNNING or INTERRUPTED for the claim file ``name``; None if it is gone meanwhile."""
    path = os.path.join(seed_dir, name)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    info = read_flag_info(path)
    verdict = job_verdict(info, now) if "slurm_job_id" in info else None
    if verdict is not None:
        alive, job_state = verdict
        reason = f"SLURM job {info['slurm_job_id']} is {job_state}"
        return SeedStatus(SeedState.RUNNING if alive else SeedState.INTERRUPTED, reason, info, name)
    if info.get("host") == HOSTNAME and isinstance(info.get("pid"), int):
        if pid_alive(info["pid"], info.get("pid_start")):
            return SeedStatus(SeedState.RUNNING, f"pid {info['pid']} is alive on this host", info, name)
        return SeedStatus(SeedState.INTERRUPTED, f"pid {info['pid']} is dead on this host", info, name)
    # The heartbeat is the mtime. A claim without facts is mid-claim: the rename kept the old
    # mtime of UNHATCHED but set ctime, so ctime tells when the claim happened.
    last_sign = st.st_mtime if info else max(st.st_mtime, st.st_ctime)
    age = (time.time() if now is None else now) - last_sign
    if age > stale_threshold(info, stale_after_s):
        return SeedStatus(SeedState.INTERRUPTED, f"no heartbeat for {age:.0f} s", info, name)
    return SeedStatus(SeedState.RUNNING, f"heartbeat {age:.0f} s ago", info, name)


def read_flag_info(path: str | os.PathLike) -> dict:
    """The facts in OPENED or COMPLETED: their JSON lines merged, later lines adding keys.

    {} when the file is missing or empty (mid-claim). A line that does not parse (a flag of
    an older layout written by several writes, or a damaged one) is skipped.
    """
    try:  # no link followed, no FIFO or device opened, at most MAX_FLAG_BYTES read
        data = read_regular(path, max_bytes=MAX_FLAG_BYTES, truncate=True)
    except OSError:
        return {}
    info: dict = {}
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            info.update(obj)
    if not info and data.strip():  # one JSON object over several lines (indented)
        try:
            obj = json.loads(data)
        except ValueError:
            return {}
        return obj if isinstance(obj, dict) else {}
    return info


# Liveness of a pid on this host -------------------------------------------------------------

def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (Linux); None if there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def pid_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell a live pid from a reused one."""
    fields = _proc_stat(pid)
    return fields[19] if fields else None


def pid_alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` on this host is still the process that recorded ``start``.

    A killed process whose parent has not reaped it yet is a zombie: dead, though kill(0) works.
    """
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _proc_stat(pid)
    if fields is None:
        return not os.path.isdir("/proc/self")  # no procfs: trust kill(0)
    if fields[0] in ("Z", "X"):
        return False
    return start is None or fields[19] == start
