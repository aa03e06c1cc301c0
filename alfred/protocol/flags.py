"""The seed FLAG-file protocol. A claim is an identity: its own flag file, ``OPENED.<token>``.

    UNHATCHED         --claim: rename(UNHATCHED, OPENED.<token>)---------> OPENED.<token> (running)
    OPENED.<token>    --complete: rename(OPENED.<token>, COMPLETED)-------> COMPLETED
    OPENED.<token>    --crash: rename(OPENED.<token>, CRASH.txt)----------> CRASH.txt
    OPENED.<token>    --release: rename(OPENED.<token>, attempts/<n>/OPENED), RELEASED, then
                        create UNHATCHED (O_EXCL): files kept for the next attempt to resume
    OPENED.<token> interrupted, CRASH.txt --reset (clean_interrupted): rename(flag,
                        attempts/<n>/...), move the attempt's files there, create UNHATCHED last

rename(2) within one folder is atomic on local filesystems and on NFS: when two processes
rename the same source, exactly one succeeds and the other gets ENOENT. Every transition
after a claim renames *the claim's own file*, named by its random token, so it acts on that
claim and no other: a worker whose seed was reset while it was stopped finds its file gone
(ENOENT) and can never complete, crash or release the next claim of the same seed. There is
no check-then-act anywhere: the rename is the check.

Contents are written into the claim's file before the rename that publishes them: the
claim's facts (host, pid, start, token, ...) as one JSON line right after the claim, the
end time appended before completing, the crash report written over it before crashing. The
file is private to its holder until then, so COMPLETED and CRASH.txt appear whole. A claim
whose facts could not be written (its seed was reset meanwhile, or the disk is full) is
given up before the run starts. While a seed runs, its worker touches its claim every
``heartbeat_s`` (os.utime): alfred.protocol.seed_state judges liveness from that.
"""
from __future__ import annotations

import functools
import json
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from alfred.protocol.fsio import stall_point
from alfred.protocol.layout import (
    ATTEMPTS,
    COMPLETED,
    CONFIG,
    CONFIG_UNIQUE,
    CRASH,
    OPENED,
    RELEASED,
    UNHATCHED,
    SeedDir,
    claim_flag_name,
)
from alfred.protocol.seed_state import HOSTNAME, SeedState, SeedStatus, pid_start_time

__all__ = ["Claim", "ClaimWriteError", "claim", "owns", "heartbeat", "complete", "crash", "release", "reset",
           "failed_attempts", "releases_without_progress"]

_KEEP_ON_RESET = frozenset({CONFIG, CONFIG_UNIQUE, ATTEMPTS})


class ClaimWriteError(OSError):
    """The claim's facts could not be written (e.g. no space left): the claim was rolled back."""


@dataclass
class Claim:
    """What a worker holds while it runs a seed: the seed's folder and its own flag file."""

    tree: SeedDir
    token: str
    info: dict
    seed_dir: str = ""  # the tree's seed folder as a string: flag paths are joined often

    def __post_init__(self) -> None:
        if not self.seed_dir:
            self.seed_dir = os.fspath(self.tree.seed_dir)

    @property
    def path(self) -> str:
        """The claim's flag file, ``<seed>/OPENED.<token>``."""
        return os.path.join(self.seed_dir, claim_flag_name(self.token))

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


def _write(path: str, data: bytes, flags: int) -> None:
    """One write(2) of ``data`` into the existing file ``path`` (FileNotFoundError if it is gone)."""
    fd = os.open(path, os.O_WRONLY | flags)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _line(info: dict) -> bytes:
    return (json.dumps(info) + "\n").encode()


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


def releases_without_progress(tree: SeedDir) -> int:
    """How many releases in a row, up to the last attempt, saved no new checkpoint in ``incrementals/``."""
    try:
        numbers = sorted(int(n) for n in os.listdir(tree.attempts_dir) if n.isdigit())
    except FileNotFoundError:
        return 0
    if not numbers:
        return 0
    try:
        last = json.loads((tree.attempts_dir / str(numbers[-1]) / RELEASED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0  # the last attempt failed or was not a release
    return int(last.get("releases_without_progress", 0)) if isinstance(last, dict) else 0


def _checkpoint_mark(tree: SeedDir) -> float:
    """The newest mtime in ``incrementals/`` (0 when empty): a release records it to tell progress."""
    try:
        with os.scandir(tree.incrementals_dir) as it:
            return max((e.stat().st_mtime for e in it if not e.name.startswith(".")), default=0.0)
    except FileNotFoundError:
        return 0.0


# Recorded in OPENED when the worker runs inside a SLURM job: which job (seed_state asks SLURM
# about it first) and its log.
_SLURM_ENV = {"slurm_job_id": "SLURM_JOB_ID", "slurm_array_job_id": "SLURM_ARRAY_JOB_ID",
              "slurm_array_task_id": "SLURM_ARRAY_TASK_ID", "slurm_restart_count": "SLURM_RESTART_COUNT",
              "slurm_cluster_name": "SLURM_CLUSTER_NAME"}


def _slurm_info() -> dict:
    environ = os.environ
    return {key: environ[var] for key, var in _SLURM_ENV.items() if var in environ}


@functools.cache
def _user() -> str:
    """Who runs the worker (asked once per process: a getpwuid per claim costs ~25 us)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return str(os.getuid())


def _now_iso(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def claim(tree: SeedDir | str | os.PathLike, *, worker_id: str, heartbeat_s: float,
          extra: dict | None = None, tree_type: type[SeedDir] = SeedDir) -> Claim | None:
    """Take the seed if it is UNHATCHED: one rename, which exactly one worker wins.

    ``tree`` is the seed's SeedDir or its seed folder: a worker's pass tries every seed, and
    the tree is then built only for the seed it wins. Returns None when another worker (or
    state) got there first, or when the seed was reset before the claim's facts were written.
    Raises ClaimWriteError, the seed back to UNHATCHED, when they cannot be written.
    """
    seed_dir = os.fspath(tree.seed_dir if isinstance(tree, SeedDir) else tree)
    token = os.urandom(8).hex()
    path = os.path.join(seed_dir, claim_flag_name(token))
    try:
        os.rename(os.path.join(seed_dir, UNHATCHED), path)
    except FileNotFoundError:
        return None
    stall_point("after_claim_rename")
    now = time.time()
    pid, pid_start = _own_pid_start()
    info = {"host": HOSTNAME, "pid": pid, "pid_start": pid_start, "user": _user(), "worker_id": worker_id,
            "start_time": _now_iso(now), "start_epoch": now, "attempt": _next_attempt(seed_dir),
            "heartbeat_s": heartbeat_s, "token": token, **_slurm_info(), **(extra or {})}
    try:
        _write(path, _line(info), os.O_TRUNC)  # O_TRUNC: whatever a stray UNHATCHED held is gone
    except FileNotFoundError:
        return None  # reset while this process was stopped: the claim is someone else's business now
    except OSError as e:
        try:
            os.rename(path, os.path.join(seed_dir, UNHATCHED))  # roll back: the seed waits again
        except OSError:
            pass
        raise ClaimWriteError(e.errno, f"could not write the claim of {seed_dir} ({e.strerror}); "
                                       "the seed was sent back to UNHATCHED") from e
    if not isinstance(tree, SeedDir):
        tree = tree_type(seed_dir)  # the worker asks for a DirectoryTree: what the user's main receives
    return Claim(tree=tree, token=token, info=info, seed_dir=seed_dir)


def owns(c: Claim) -> bool:
    """Whether the claim's own flag file is still there (no cleaner has reset the seed)."""
    return os.path.exists(c.path)


def heartbeat(c: Claim) -> bool:
    """Touch the claim's file; False once it is gone (the seed was reset by a cleaner)."""
    try:
        os.utime(c.path)
    except FileNotFoundError:
        return False
    return True


def complete(c: Claim) -> bool:
    """The end time appended to the claim's file, then OPENED.<token> -> COMPLETED.

    False, and nothing changed, if the seed was taken away (reset) while it ran.
    """
    end = time.time()
    try:
        _write(c.path, _line({"end_time": _now_iso(end), "duration_s": round(end - c.info["start_epoch"], 3)}),
               os.O_APPEND)
    except FileNotFoundError:
        return False
    except OSError:  # no space for the line: the run is done all the same
        pass
    stall_point("before_complete_rename")
    try:
        os.rename(c.path, c.flag(COMPLETED))
    except FileNotFoundError:
        return False
    return True


def crash_report(info: dict, seed_dir: str, exc: BaseException | None = None, message: str | None = None) -> str:
    """The text of CRASH.txt: a headline, where and when, the traceback, and the claim's facts."""
    if exc is not None:
        message = "".join(traceback.format_exception(exc))
        headline = f"{type(exc).__name__}: {exc}"
    else:
        headline = (message or "").strip().splitlines()[0] if (message or "").strip() else "crash"
    header = [f"exception: {' '.join(headline.split())}", f"time: {_now_iso(time.time())}",
              f"host: {info.get('host')}  pid: {info.get('pid')}  worker: {info.get('worker_id')}",
              f"attempt: {info.get('attempt')}  started: {info.get('start_time')}", f"seed folder: {seed_dir}", ""]
    return "\n".join(header) + (message or "").rstrip("\n") + "\n" + json.dumps(info) + "\n"


def crash(c: Claim, exc: BaseException | None = None, message: str | None = None) -> bool:
    """The crash report written over the claim's file, then OPENED.<token> -> CRASH.txt.

    Also used by a launcher for a worker process that died holding the claim (then ``message``
    says how it died). False, and nothing changed, if the seed was taken away meanwhile.
    """
    try:
        _write(c.path, crash_report(c.info, c.seed_dir, exc, message).encode(), os.O_TRUNC)
    except FileNotFoundError:
        return False
    except OSError:  # no space for the report: the crash is recorded by the flag alone
        pass
    try:
        os.rename(c.path, c.flag(CRASH))
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


def _create_unhatched(seed_dir: str | os.PathLike) -> None:
    try:
        os.close(os.open(os.path.join(seed_dir, UNHATCHED), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        pass


def release(c: Claim, reason: str) -> bool:
    """Give the seed back (Ctrl-C, preemption): the claim's file moves to ``attempts/<n>/OPENED``
    with ``RELEASED`` beside it, then a fresh, empty UNHATCHED is created (O_EXCL) -- as a reset
    does, except that the run's files stay in place for the next attempt to resume from.

    RELEASED records how many releases in a row saved no new checkpoint (see
    ``releases_without_progress``). False, and nothing changed, if the seed was taken away.
    """
    tree = c.tree
    attempt_dir = _make_attempt_dir(tree)
    try:
        os.rename(c.path, attempt_dir / OPENED)
    except FileNotFoundError:
        attempt_dir.rmdir()
        return False
    mark = _checkpoint_mark(tree)
    previous = _previous_release(tree, attempt_dir)
    stuck = previous.get("releases_without_progress", 0) + 1 if mark <= previous.get("checkpoint_mtime", 0.0) else 0
    (attempt_dir / RELEASED).write_text(json.dumps({**c.info, "released": reason, "checkpoint_mtime": mark,
                                                    "releases_without_progress": stuck}, indent=1) + "\n")
    _create_unhatched(c.seed_dir)
    return True


def _previous_release(tree: SeedDir, current: Path) -> dict:
    numbers = sorted(int(n) for n in os.listdir(tree.attempts_dir) if n.isdigit() and int(n) < int(current.name))
    if not numbers:
        return {}
    try:
        info = json.loads((tree.attempts_dir / str(numbers[-1]) / RELEASED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def reset(tree: SeedDir, status: SeedStatus) -> bool:
    """Send an INTERRUPTED or CRASHED seed back to UNHATCHED, keeping the attempt's files.

    The flag -- the claim file seed_state read, or CRASH.txt -- is renamed into
    ``attempts/<n>/`` first: that rename is the one decision point against the worker that
    holds the claim, so exactly one of them acts. Then the attempt's other files follow, and
    UNHATCHED is created last, so no worker can claim the seed while its files move. Returns
    False if the seed changed state meanwhile.
    """
    if status.state not in (SeedState.INTERRUPTED, SeedState.CRASHED):
        raise ValueError(f"reset takes an INTERRUPTED or CRASHED seed, not {status.state.value}")
    flag = CRASH if status.state is SeedState.CRASHED else status.flag
    attempt_dir = _make_attempt_dir(tree)
    names = set(os.listdir(tree.seed_dir))
    if flag:
        try:
            os.rename(tree.flag_path(flag), attempt_dir / (CRASH if flag == CRASH else OPENED))
        except FileNotFoundError:
            attempt_dir.rmdir()
            return False
    elif names & {UNHATCHED, COMPLETED, CRASH} or any(n.startswith(OPENED) for n in names):
        attempt_dir.rmdir()  # state changed since it was read
        return False
    for name in names - _KEEP_ON_RESET - {flag}:
        try:
            os.rename(tree.seed_dir / name, attempt_dir / name)
        except FileNotFoundError:
            pass
    tree.create_directories()
    _create_unhatched(tree.seed_dir)
    return True
