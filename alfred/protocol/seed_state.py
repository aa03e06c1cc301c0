"""The state of a seed folder, decided in one place: :func:`seed_state`.

Every reader of states -- status, clean_interrupted, the automatic summaries, results
loading, SLURM submission, the worker -- calls :func:`seed_state`, so they all agree.
The FLAG-files themselves are written by :mod:`alfred.protocol.flags` and
:mod:`alfred.protocol.reset`.
"""
from __future__ import annotations

import enum
import os
import time
from dataclasses import dataclass, field

from alfred.protocol.fsio import read_small, read_small_stat
from alfred.protocol.layout import (
    COMPLETED,
    COMPLETING,
    CRASH,
    OPENED,
    PAUSED,
    PRUNED,
    RESETTING,
    SEED_FLAGS,
    UNHATCHED,
    SeedDir,
    flag_token,
    is_seed_flag,
    paused_step,
)
from alfred.protocol.liveness import HOSTNAME, fs_now, pid_alive, pid_start_time, same_pid_space
from alfred.protocol.slurm_jobs import job_verdict

__all__ = ["SeedState", "SeedStatus", "seed_state", "read_flag_info", "crashed_run", "stale_threshold", "lease_s",
           "check_stale_after", "HOSTNAME", "MIN_STALE_S", "STALE_FLOOR_S", "pid_start_time", "pid_alive"]

# The default stale threshold of a claim: 5 heartbeats, never under 2 minutes.
MIN_STALE_S = 120.0
STALE_HEARTBEATS = 5
# No stale threshold may be lower (--stale_after_s is refused under it): mtimes are stamped to the
# second on some filesystems, and a holder must have time to stop itself before anyone judges it.
STALE_FLOOR_S = 10.0
# An ended SLURM job's claim waits this many of its heartbeats before it counts as interrupted:
# a job SLURM calls ended (NODE_FAIL, a requeue) may have a process still writing.
ENDED_JOB_HEARTBEATS = 2


class SeedState(str, enum.Enum):
    UNHATCHED = UNHATCHED  # the states that one flag decides are named after it
    RUNNING = "RUNNING"
    INTERRUPTED = "INTERRUPTED"
    CRASHED = "CRASHED"
    COMPLETED = COMPLETED
    PRUNED = PRUNED  # adaptive search: stopped at a rung (terminal: never reset)
    PAUSED = PAUSED  # adaptive search: PAUSED.<step>, waiting for a promotion (never reset)


@dataclass(frozen=True)
class SeedStatus:
    state: SeedState
    reason: str = ""
    info: dict = field(default_factory=dict)  # the claim's facts (host, pid, start_epoch, ...) when read
    flag: str | None = None  # the flag read: OPENED.<token>, COMPLETING.<token>, RESETTING.<token>, PAUSED.<step>
    age_s: float | None = None  # the claim's heartbeat age, on the filesystem's clock (negative: clock skew)


# The states a lookup decides alone, shared: status scans build none per seed.
_BY_NAME = ((os.sep + COMPLETED, SeedStatus(SeedState.COMPLETED)),
            (os.sep + UNHATCHED, SeedStatus(SeedState.UNHATCHED)),
            (os.sep + CRASH, SeedStatus(SeedState.CRASHED)))


def seed_state(seed_dir: str | os.PathLike, *, stale_after_s: float | None = None,
               now: float | None = None) -> SeedStatus:
    """The state of one seed folder, read from its FLAG-files.

    A seed folder holds one flag at a time (every transition is one rename), so flags are
    looked up by name, one ``access(2)`` each, in this order:

    1. ``COMPLETED``  -> COMPLETED
    2. ``UNHATCHED``  -> UNHATCHED
    3. ``CRASH.txt``  -> CRASHED
    4. the folder is listed for a flag with a token:
       ``OPENED.<token>``, a claim, and ``COMPLETING.<token>``, a run publishing its files
       -> RUNNING while its holder lives, else INTERRUPTED; the holder is judged:
       a. by SLURM first, when the claim names a SLURM job SLURM can answer for
          (alfred.protocol.slurm_jobs): alive while that incarnation of the job is PENDING,
          RUNNING, SUSPENDED, ...; once it ended, after two more of its heartbeats;
       b. else by its pid, only from the same host, boot and PID namespace (a reused pid is
          told apart by its start time; zombies are dead);
       c. else by its heartbeat (the flag's mtime): older than the stale threshold
          (:func:`stale_threshold`), measured on the filesystem's clock, is dead.
       ``RESETTING.<token>`` -> INTERRUPTED: a reset under way, or left by a dead cleaner
       (clean_interrupted finishes it; a COMPLETING one it completes, never resets).
       ``PRUNED`` -> PRUNED, ``PAUSED.<step>`` -> PAUSED (adaptive searches; looked for only
       in this listing, so a grid search pays nothing for them)
    5. none           -> INTERRUPTED: a folder an older alfred left without a flag

    A seed that changes state between two lookups (claimed, then finished) is looked at
    again from the top.

    Args:
        stale_after_s: the least heartbeat age (s) after which a run counts as interrupted;
            a claim's own recorded threshold is never undercut (see stale_threshold).
        now: the time on the filesystem's clock (default: read from a probe file, see
            alfred.protocol.liveness.fs_now).
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
        except NotADirectoryError:
            return SeedStatus(SeedState.INTERRUPTED, "not a folder")
        found = sorted(n for n in names if (is_seed_flag(n) and n not in SEED_FLAGS) or n == OPENED)
        paused = next((n for n in found if paused_step(n) is not None), None)
        if paused is not None:
            return SeedStatus(SeedState.PAUSED, "paused at a rung, waiting for a promotion", {}, paused)
        if PRUNED in names:
            return _PRUNED
        if found:
            status = _flag_status(base, found[0], stale_after_s, now)
            if status is not None:
                return status
        elif not SEED_FLAGS.intersection(names):
            return SeedStatus(SeedState.INTERRUPTED, "no FLAG-file (left so by an older alfred)")
    return SeedStatus(SeedState.INTERRUPTED, "its FLAG-files keep changing")


_PRUNED = SeedStatus(SeedState.PRUNED)


def _flag_status(seed_dir: str, name: str, stale_after_s: float | None, now: float | None) -> SeedStatus | None:
    if name.startswith(RESETTING + "."):
        return SeedStatus(SeedState.INTERRUPTED, "a reset under way, or left unfinished by a cleaner that stopped",
                          {}, name)
    status = _holder_status(seed_dir, name, stale_after_s, now)
    if status is None or not name.startswith(COMPLETING + ".") or status.state is SeedState.RUNNING:
        return status
    return SeedStatus(SeedState.INTERRUPTED, f"completed, but its holder stopped while publishing its files "
                                             f"({status.reason}): clean_interrupted finishes it",
                      status.info, name, status.age_s)


def stale_threshold(info: dict, stale_after_s: float | None = None) -> float:
    """Heartbeat age after which the holder of a claim with facts ``info`` counts as dead.

    The claim records the threshold its holder promised to stop by (``stale_after_s``): a
    holder stops its own main once its lease (:func:`lease_s`) runs out, before anyone may call
    it dead. A cleaner's ``stale_after_s`` may wait longer, never shorter. Claims of an older
    alfred record none: 5 heartbeats, at least MIN_STALE_S, or the cleaner's value.
    """
    recorded = _number(info.get("stale_after_s"))
    if recorded is not None:
        return max(recorded, stale_after_s or 0.0)
    if stale_after_s is not None:
        return stale_after_s
    heartbeat_s = _number(info.get("heartbeat_s")) or 30.0
    return max(STALE_HEARTBEATS * heartbeat_s, MIN_STALE_S)


def default_stale_after(heartbeat_s: float) -> float:
    """The threshold a worker records by default: 5 heartbeats, at least MIN_STALE_S."""
    return max(STALE_HEARTBEATS * heartbeat_s, MIN_STALE_S)


def lease_s(stale_after_s: float, heartbeat_s: float) -> float:
    """How long a holder goes on without a successful heartbeat before it stops its own main:
    the stale threshold less a margin of a quarter of it (at least 2 heartbeats)."""
    return stale_after_s - max(stale_after_s / 4, 2 * heartbeat_s)


def check_stale_after(stale_after_s: float | None, heartbeat_s: float | None = None) -> str | None:
    """Why ``stale_after_s`` (with ``heartbeat_s``) is refused, or None when it is valid."""
    if stale_after_s is None:
        return None
    if not stale_after_s >= STALE_FLOOR_S:  # NaN too
        return (f"--stale_after_s {stale_after_s:g}: give at least {STALE_FLOOR_S:g} s (a live run must be able to "
                "miss a heartbeat, and stop itself, before anyone may call it dead)")
    if heartbeat_s is not None and lease_s(stale_after_s, heartbeat_s) < heartbeat_s:
        return (f"--stale_after_s {stale_after_s:g} with --heartbeat_s {heartbeat_s:g}: give a stale threshold of "
                f"at least {3 * heartbeat_s:g} s (3 heartbeats), or beat more often")
    return None


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


_clock: dict[str, tuple[float, float]] = {}  # storage dir -> (when read, the filesystem's time then)


def _fs_now(seed_dir: str) -> float:
    """The filesystem's time, read from a probe in the storage dir at most once a second."""
    storage = os.path.dirname(os.path.dirname(seed_dir))
    local = time.monotonic()
    seen = _clock.get(storage)
    if seen is None or local - seen[0] > 1.0:
        seen = (local, fs_now(storage))
        _clock[storage] = seen
    return seen[1] + (local - seen[0])


def _holder_status(seed_dir: str, name: str, stale_after_s: float | None, now: float | None) -> SeedStatus | None:
    """RUNNING or INTERRUPTED for the holder of flag ``name``; None if the flag is gone meanwhile."""
    path = os.path.join(seed_dir, name)
    try:
        data, st = read_small_stat(path)  # one open: the facts and the heartbeat, fresh on NFS too
    except FileNotFoundError:
        return None
    except OSError as e:  # a symlink or a FIFO planted under a flag's name: nobody's heartbeat
        return SeedStatus(SeedState.INTERRUPTED, f"{name} is not a regular file ({e.strerror or e})", {}, name)
    info = parse_facts(data)
    if flag_token(name) is not None and info.get("token") not in (None, flag_token(name)):
        info = {}  # facts of an earlier claim, not yet overwritten: this claim is a moment old
    last_sign = st.st_mtime if info else max(st.st_mtime, st.st_ctime)  # mid-claim: ctime says when renamed
    age = (_fs_now(seed_dir) if now is None else now) - last_sign
    threshold = stale_threshold(info, stale_after_s)
    verdict = job_verdict(info) if "slurm_job_id" in info else None
    if verdict is not None:
        alive, job_state = verdict
        job = f"SLURM job {info['slurm_job_id']}"
        if alive:
            return SeedStatus(SeedState.RUNNING, f"{job} is {job_state}", info, name, age)
        wait = ENDED_JOB_HEARTBEATS * (_number(info.get("heartbeat_s")) or 30.0)
        if age <= wait:
            return SeedStatus(SeedState.RUNNING, f"{job} is {job_state}; waiting {wait - age:.0f} s more for its "
                                                 "heartbeat to stop", info, name, age)
        return SeedStatus(SeedState.INTERRUPTED, f"{job} is {job_state}, no heartbeat for {age:.0f} s",
                          info, name, age)
    if same_pid_space(info):
        if pid_alive(info["pid"], info.get("pid_start")):
            return SeedStatus(SeedState.RUNNING, f"pid {info['pid']} is alive on this host", info, name, age)
        return SeedStatus(SeedState.INTERRUPTED, f"pid {info['pid']} is dead on this host", info, name, age)
    if age > threshold:
        return SeedStatus(SeedState.INTERRUPTED, f"no heartbeat for {age:.0f} s", info, name, age)
    if age < -2.0:
        return SeedStatus(SeedState.RUNNING, f"heartbeat {-age:.0f} s in the future: clocks disagree", info, name, age)
    return SeedStatus(SeedState.RUNNING, f"heartbeat {max(age, 0.0):.0f} s ago", info, name, age)


def crashed_run(seed_dir: str | os.PathLike) -> SeedDir:
    """The tree of a crashed seed's run, whose ``log_path``, ``recorders_dir``, ... are in the
    run's own folder (the token is in CRASH.txt); the seed folder's tree if none is named."""
    token = read_flag_info(os.path.join(seed_dir, CRASH)).get("token")
    tree = SeedDir(seed_dir, run_token=token if isinstance(token, str) and token.isalnum() else None)
    return tree


def read_flag_info(path: str | os.PathLike) -> dict:
    """The facts in OPENED or COMPLETED: their JSON lines merged, later lines adding keys.

    {} when the file is missing or empty (mid-claim), a symlink or a special file. A line that
    does not parse (a flag of an older layout written by several writes, or a damaged one) is
    skipped.
    """
    try:
        data = read_small(path)
    except OSError:
        return {}
    return parse_facts(data)


def parse_facts(data: bytes) -> dict:
    """The facts in a flag's bytes (see read_flag_info)."""
    import json

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
