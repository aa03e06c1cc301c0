"""The seed FLAG-file protocol: every state change of a seed folder is one atomic rename.

    UNHATCHED --claim: rename(UNHATCHED, OPENED)------------------> OPENED (running)
    OPENED    --complete: rename(OPENED, COMPLETED)---------------> COMPLETED
    OPENED    --crash: rename(OPENED, CRASH.txt)------------------> CRASH.txt
    OPENED    --release (Ctrl-C, preemption): rename(OPENED, UNHATCHED), files kept
    OPENED interrupted / CRASH.txt --reset: rename(flag, attempts/<n>/flag), move the
              attempt's files into attempts/<n>/, then create UNHATCHED (O_EXCL)

rename(2) of a file within one folder is atomic on local filesystems and on NFS: the
server performs it once, so when two processes rename the same source exactly one
succeeds and the other gets ENOENT. That single winner is what makes a claim exclusive
and what stops a cleaner and a finishing worker from both acting on one OPENED.

Contents are written after the rename that decides the state. OPENED and COMPLETED hold
JSON lines (``read_flag_info`` merges them): the claim fills the empty file it renamed with
one line, completing appends one more. Each line goes in by a single write(2) of a few
hundred bytes into a file that no one truncates, so a reader sees the line whole or not at
all; an OPENED still empty (a worker killed between rename and write) is judged by its
ctime. No temp file + rename here: on ext4, renaming over a file that holds data forces its
blocks out at once, which made that the costliest step of a run. CRASH.txt, rare and long,
is written whole (temp file + os.replace).
While a seed runs, its worker touches OPENED every ``heartbeat_s`` (os.utime): a seed is
*interrupted* when that heartbeat is older than the stale threshold, or when OPENED names
a pid on this host that is no longer alive.
"""
from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.layout import ATTEMPTS, COMPLETED, CONFIG, CONFIG_UNIQUE, CRASH, OPENED, RELEASED, UNHATCHED, SeedDir
from alfred.utils.misc import atomic_write_text
from alfred.utils.seed_state import HOSTNAME, SeedState, SeedStatus, pid_start_time, read_flag_info

__all__ = ["Claim", "claim", "owns", "heartbeat", "complete", "crash", "release", "reset", "failed_attempts"]

_KEEP_ON_RESET = frozenset({CONFIG, CONFIG_UNIQUE, ATTEMPTS})


@dataclass
class Claim:
    """What a worker holds while it runs a seed: the seed's paths and the token written in OPENED."""

    tree: SeedDir
    token: str
    info: dict
    seed_dir: str = ""  # the tree's seed folder as a string: flag paths are joined often

    def __post_init__(self) -> None:
        if not self.seed_dir:
            self.seed_dir = os.fspath(self.tree.seed_dir)

    def flag(self, name: str) -> str:
        return os.path.join(self.seed_dir, name)


_own_start: tuple[int, str | None] = (0, None)


def _own_pid_start() -> tuple[int, str | None]:
    """(pid, start time) of this process, read once per process (a forked child reads its own)."""
    global _own_start
    pid = os.getpid()
    if _own_start[0] != pid:
        _own_start = (pid, pid_start_time(pid))
    return _own_start


def _append_line(path: str, info: dict) -> bool:
    """Append ``info`` as one JSON line by a single write(2); False if ``path`` is gone."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        return False
    try:
        os.write(fd, (json.dumps(info) + "\n").encode())
    finally:
        os.close(fd)
    return True


def _next_attempt(tree: SeedDir | str) -> int:
    attempts = os.path.join(tree, ATTEMPTS) if isinstance(tree, str) else tree.attempts_dir
    try:
        done = [int(n) for n in os.listdir(attempts) if n.isdigit()]
    except FileNotFoundError:
        return 1
    return max(done, default=0) + 1


def failed_attempts(tree: SeedDir) -> int:
    """Attempts that failed: ``attempts/<n>/`` without RELEASED (crashed or interrupted, then reset).

    Released attempts (Ctrl-C, preemption) are not failures: a long run may be preempted many times.
    """
    try:
        names = [n for n in os.listdir(tree.attempts_dir) if n.isdigit()]
    except FileNotFoundError:
        return 0
    return sum(not os.path.exists(tree.attempts_dir / n / RELEASED) for n in names)


# Recorded in OPENED when the worker runs inside a SLURM job, to find a seed's job and its log.
_SLURM_ENV = {"slurm_job_id": "SLURM_JOB_ID", "slurm_array_job_id": "SLURM_ARRAY_JOB_ID",
              "slurm_array_task_id": "SLURM_ARRAY_TASK_ID", "slurm_restart_count": "SLURM_RESTART_COUNT"}


def _slurm_info() -> dict:
    environ = os.environ
    return {key: environ[var] for key, var in _SLURM_ENV.items() if var in environ}


def _now_iso(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def claim(tree: SeedDir | str | os.PathLike, *, worker_id: str, heartbeat_s: float,
          extra: dict | None = None) -> Claim | None:
    """Take the seed if it is UNHATCHED: one rename, which exactly one worker wins.

    ``tree`` is the seed's SeedDir or its seed folder: a worker's pass tries every
    seed, and the tree is then built only for the seed it wins.
    Returns None when another worker (or state) got there first.
    """
    seed_dir = os.fspath(tree.seed_dir if isinstance(tree, SeedDir) else tree)
    opened = os.path.join(seed_dir, OPENED)
    try:
        os.rename(os.path.join(seed_dir, UNHATCHED), opened)
    except FileNotFoundError:
        return None
    now = time.time()
    pid, pid_start = _own_pid_start()
    info = {
        "host": HOSTNAME,
        "pid": pid,
        "pid_start": pid_start,
        "worker_id": worker_id,
        "start_time": _now_iso(now),
        "start_epoch": now,
        "attempt": _next_attempt(seed_dir),
        "heartbeat_s": heartbeat_s,
        "token": os.urandom(16).hex(),
        **_slurm_info(),
        **(extra or {}),
    }
    if not isinstance(tree, SeedDir):
        tree = DirectoryTree(seed_dir)  # what the user's main receives as dir_tree
    _append_line(opened, info)  # into the empty file just renamed; gone only if reset meanwhile
    return Claim(tree=tree, token=info["token"], info=info, seed_dir=seed_dir)


def owns(c: Claim) -> bool:
    """True while OPENED still holds this claim's token (no cleaner has reset the seed)."""
    return read_flag_info(c.flag(OPENED)).get("token") == c.token


def heartbeat(c: Claim) -> bool:
    """Touch OPENED; False once it is gone (the seed was reset by a cleaner)."""
    try:
        os.utime(c.flag(OPENED))
    except FileNotFoundError:
        return False
    return True


def complete(c: Claim) -> bool:
    """OPENED -> COMPLETED, then one line with the end time. False if the seed was taken
    away (reset) while it ran."""
    if not owns(c):
        return False
    completed = c.flag(COMPLETED)
    try:
        os.rename(c.flag(OPENED), completed)
    except FileNotFoundError:
        return False
    end = time.time()
    _append_line(completed, {"end_time": _now_iso(end), "duration_s": round(end - c.info["start_epoch"], 3)})
    return True


def crash(c: Claim, exc: BaseException | None = None, message: str | None = None) -> bool:
    """OPENED -> CRASH.txt holding time, host, attempt, the exception and its full traceback."""
    if not owns(c):
        return False
    try:
        os.rename(c.flag(OPENED), c.flag(CRASH))
    except FileNotFoundError:
        return False
    if exc is not None:
        message = "".join(traceback.format_exception(exc))
        headline = f"{type(exc).__name__}: {exc}"
    else:
        headline = (message or "").strip().splitlines()[0] if message else "crash"
    header = [
        f"exception: {headline}",
        f"time: {_now_iso(time.time())}",
        f"host: {c.info['host']}  pid: {c.info['pid']}  worker: {c.info['worker_id']}",
        f"attempt: {c.info['attempt']}  started: {c.info['start_time']}",
        f"seed folder: {c.seed_dir}",
        "",
    ]
    atomic_write_text(c.flag(CRASH), "\n".join(header) + (message or "") + "\n")
    return True


def release(c: Claim, reason: str) -> bool:
    """OPENED -> UNHATCHED, keeping the run's files so the next attempt can resume.

    The attempt is recorded in ``attempts/<n>/RELEASED`` (its OPENED info and the reason).
    """
    if not owns(c):
        return False
    attempt_dir = _make_attempt_dir(c.tree)
    atomic_write_text(attempt_dir / RELEASED, json.dumps({**c.info, "released": reason}, indent=1) + "\n")
    try:
        os.rename(c.flag(OPENED), c.flag(UNHATCHED))
    except FileNotFoundError:
        return False
    return True


def _make_attempt_dir(tree: SeedDir) -> Path:
    tree.attempts_dir.mkdir(exist_ok=True)
    n = _next_attempt(tree)
    while True:
        attempt_dir = tree.attempts_dir / str(n)
        try:
            attempt_dir.mkdir()
            return attempt_dir
        except FileExistsError:
            n += 1


def reset(tree: SeedDir, status: SeedStatus) -> bool:
    """Send an INTERRUPTED or CRASHED seed back to UNHATCHED, keeping the attempt's files.

    The flag is renamed into ``attempts/<n>/`` first: that rename is the one decision point
    against a worker that would finish the same seed, so exactly one of them acts. Then the
    attempt's other files follow, and UNHATCHED is created last, so no worker can claim
    the seed while its files move. Returns False if the seed changed state meanwhile.
    """
    if status.state not in (SeedState.INTERRUPTED, SeedState.CRASHED):
        raise ValueError(f"reset takes an INTERRUPTED or CRASHED seed, not {status.state.value}")
    flag = CRASH if status.state is SeedState.CRASHED else OPENED
    attempt_dir = _make_attempt_dir(tree)
    names = set(os.listdir(tree.seed_dir))
    if flag in names:
        try:
            os.rename(tree.flag_path(flag), attempt_dir / flag)
        except FileNotFoundError:
            attempt_dir.rmdir()
            return False
    elif names & {UNHATCHED, OPENED, COMPLETED, CRASH}:
        attempt_dir.rmdir()  # state changed since it was read
        return False
    for name in names - _KEEP_ON_RESET - {flag}:
        try:
            os.rename(tree.seed_dir / name, attempt_dir / name)
        except FileNotFoundError:
            pass
    tree.create_directories()
    try:
        os.close(os.open(tree.flag_path(UNHATCHED), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        pass
    return True
