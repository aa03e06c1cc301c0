"""A seed's ended attempts, ``attempts/<n>/``: how many failed, which one a new run resumes from.

Every attempt that ended without completing leaves a folder ``attempts/<n>/`` (n counts up,
each taken by one ``mkdir``) holding:

    OPENED         the claim's facts (host, pid, token, start, ...)
    RELEASED       the holder gave the seed back (preemption, Ctrl-C, its lease ran out): not a failure
    RESET          a cleaner reset it (its holder was judged dead, or it crashed): a failure
    CRASH.txt      the crash report, for a crashed attempt that was reset
    runs/<token>/  the attempt's own folder (logger.out, recorders/, incrementals/), until the next
                   claim takes it over to resume from (a crashed attempt's stays here)

Only the latest attempt that has a run folder and did not crash is resumed from: the next
claim renames that folder to its own ``runs/<token>/``, so its checkpoints in ``incrementals/``
are where ``latest_checkpoint`` looks, whether the previous run was preempted, killed or lost
with its node.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from alfred.protocol.fsio import read_json_or_empty, write_new
from alfred.protocol.layout import ATTEMPTS, CRASH, RELEASED, RUNS

__all__ = ["list_attempts", "next_attempt", "make_attempt_dir", "failed_attempts", "releases_without_progress",
           "resumable_run", "run_folder", "checkpoint_mark", "record", "check_own_folders"]


def list_attempts(seed_dir: str | os.PathLike) -> list[int]:
    """The numbers n of ``attempts/<n>/``, ascending ([] when there is none)."""
    try:
        return sorted(int(n) for n in os.listdir(os.path.join(seed_dir, ATTEMPTS)) if n.isdigit())
    except (FileNotFoundError, NotADirectoryError):
        return []


def next_attempt(numbers: list[int]) -> int:
    return (numbers[-1] if numbers else 0) + 1


def check_own_folders(seed_dir: str | os.PathLike) -> None:
    """NotADirectoryError, saying which, if ``attempts`` or ``runs`` is something alfred did not
    make there (a symlink, a file): nothing is ever moved through them."""
    for name in (ATTEMPTS, RUNS):
        path = os.path.join(seed_dir, name)
        if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder alfred made (a symlink or a file): move it "
                                                    "away, then clean again", path)


def make_attempt_dir(seed_dir: str | os.PathLike) -> Path:
    """A new ``attempts/<n>/`` folder, n one past the last: one mkdir decides each n."""
    attempts = Path(seed_dir) / ATTEMPTS
    try:
        attempts.mkdir()
    except FileExistsError:
        if attempts.is_symlink() or not attempts.is_dir():
            raise NotADirectoryError(f"{attempts} is not a folder alfred made (a symlink or a file): "
                                     "move it away, then clean again") from None
    n = next_attempt(list_attempts(seed_dir))
    while True:
        try:
            (attempts / str(n)).mkdir()
            return attempts / str(n)
        except FileExistsError:
            n += 1


def record(attempt_dir: Path, name: str, data: dict | str) -> None:
    """Write one file of an attempt record (a dict as indented JSON)."""
    text = data if isinstance(data, str) else json.dumps(data, indent=1, default=str) + "\n"
    write_new(attempt_dir / name, text.encode())


def failed_attempts(seed_dir: str | os.PathLike) -> int:
    """Attempts that failed: ``attempts/<n>/`` without RELEASED (crashed or interrupted, then reset).

    Released attempts (Ctrl-C, preemption) are not failures: a long run may be preempted many times.
    """
    base = os.path.join(seed_dir, ATTEMPTS)
    return sum(not os.path.exists(os.path.join(base, str(n), RELEASED)) for n in list_attempts(seed_dir))


def releases_without_progress(seed_dir: str | os.PathLike, numbers: list[int] | None = None) -> int:
    """How many releases in a row, up to the last attempt, saved no new checkpoint in ``incrementals/``."""
    numbers = list_attempts(seed_dir) if numbers is None else numbers
    if not numbers:
        return 0
    last = read_json_or_empty(os.path.join(seed_dir, ATTEMPTS, str(numbers[-1]), RELEASED))
    return int(last.get("releases_without_progress", 0) or 0)


def previous_release(seed_dir: str | os.PathLike, numbers: list[int]) -> dict:
    """The RELEASED facts of the latest attempt in ``numbers``, {} if it was not a release."""
    return read_json_or_empty(os.path.join(seed_dir, ATTEMPTS, str(numbers[-1]), RELEASED)) if numbers else {}


def run_folder(attempt_dir: str | os.PathLike, token: str) -> Path:
    """Where an ended attempt keeps its run's folder: ``attempts/<n>/runs/<token>``."""
    return Path(attempt_dir) / RUNS / token


def resumable_run(seed_dir: str | os.PathLike, numbers: list[int]) -> str | None:
    """The run folder a new claim resumes from: the latest attempt's that has one and did not crash."""
    base = os.path.join(seed_dir, ATTEMPTS)
    for n in reversed(numbers):
        attempt = os.path.join(base, str(n))
        if os.path.exists(os.path.join(attempt, CRASH)):
            return None  # a crash is not resumed from, nor anything before it
        runs = os.path.join(attempt, RUNS)
        try:
            names = [] if os.path.islink(runs) else os.listdir(runs)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in sorted(names):
            run = os.path.join(runs, name)
            if not name.startswith("stray-") and os.path.isdir(run) and not os.path.islink(run):
                return run
    return None


def unrecorded_run(seed_dir: str | os.PathLike) -> str | None:
    """The newest folder left in ``runs/`` by a release that found no room to record its attempt."""
    runs = os.path.join(seed_dir, RUNS)
    try:
        found = [e for e in os.scandir(runs) if e.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return None
    return max(found, key=lambda e: e.stat(follow_symlinks=False).st_mtime).path if found else None


def checkpoint_mark(incrementals_dir: str | os.PathLike) -> float:
    """The newest mtime in ``incrementals/`` (0 when empty): a release records it to tell progress."""
    try:
        with os.scandir(incrementals_dir) as it:
            return max((e.stat(follow_symlinks=False).st_mtime for e in it if not e.name.startswith(".")),
                       default=0.0)
    except (FileNotFoundError, NotADirectoryError):
        return 0.0
