"""A seed's ended attempts, ``attempts/<n>/``: how many failed, which one a new run resumes from.

Every attempt that ended without completing leaves a folder ``attempts/<n>/`` (n counts up,
each taken by one ``mkdir``) holding:

    OPENED         the claim's facts (host, pid, token, start, ...)
    RELEASED       the holder gave the seed back (preemption, Ctrl-C, its lease ran out): not a failure
    RESET          a cleaner reset it (its holder was judged dead, or it crashed): a failure
    CRASH.txt      the crash report, for a crashed attempt that was reset
    recorders.<token>/, incrementals.<token>/, logger.out.<token>
                   the attempt's own files, until the next claim takes them over to resume from
                   them (a crashed attempt's stay here)

Only the latest attempt that kept its files and did not crash is resumed from: the next claim
renames them to its own names (``recorders.<its token>``, ...), so its checkpoints
are where ``latest_checkpoint`` looks, whether the previous run was preempted, killed or lost
with its node.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from alfred.protocol.fsio import read_json_or_empty, write_new
from alfred.protocol.layout import ATTEMPTS, CRASH, RELEASED, run_file_of

__all__ = ["list_attempts", "next_attempt", "make_attempt_dir", "failed_attempts", "releases_without_progress",
           "resumable_files", "run_files_in", "checkpoint_mark", "record", "check_own_folders"]


def list_attempts(seed_dir: str | os.PathLike) -> list[int]:
    """The numbers n of ``attempts/<n>/``, ascending ([] when there is none, or when ``attempts`` is
    a symlink: it is never followed out of the seed folder)."""
    try:
        fd = os.open(os.path.join(seed_dir, ATTEMPTS), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:  # missing, a symlink (ELOOP), a file (ENOTDIR)
        return []
    try:
        return sorted(int(n) for n in os.listdir(fd) if n.isdigit())
    finally:
        os.close(fd)


def next_attempt(numbers: list[int]) -> int:
    return (numbers[-1] if numbers else 0) + 1


def check_own_folders(seed_dir: str | os.PathLike) -> None:
    """NotADirectoryError, saying which, if ``attempts`` is something alfred did not make there
    (a symlink, a file): nothing is ever moved through it."""
    for name in (ATTEMPTS,):
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


def run_files_in(folder: str | os.PathLike, token: str | None = None) -> dict[str, str]:
    """{name: path} of the run files ``<name>.<token>`` in ``folder`` (of any token when None)."""
    try:
        entries = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    found = {}
    for entry in entries:
        parsed = run_file_of(entry)
        if parsed is not None and (token is None or parsed[1] == token):
            found[entry] = os.path.join(folder, entry)
    return found


def resumable_files(seed_dir: str | os.PathLike, numbers: list[int]) -> dict[str, str]:
    """{name: path} of the files a new claim resumes from (``recorders``, ...): the latest
    attempt's that kept them and did not crash; {} when there is none."""
    base = os.path.join(seed_dir, ATTEMPTS)
    for n in reversed(numbers):
        attempt = os.path.join(base, str(n))
        if os.path.exists(os.path.join(attempt, CRASH)):
            return {}  # a crash is not resumed from, nor anything before it
        found = {}
        for entry, path in run_files_in(attempt).items():
            name, token = run_file_of(entry)
            if not token.startswith("stray-") and not os.path.islink(path):
                found[name] = path
        if found:
            return found
    return {}


def checkpoint_mark(incrementals_dir: str | os.PathLike) -> float:
    """The newest mtime in ``incrementals/`` (0 when empty): a release records it to tell progress."""
    try:
        with os.scandir(incrementals_dir) as it:
            return max((e.stat(follow_symlinks=False).st_mtime for e in it if not e.name.startswith(".")),
                       default=0.0)
    except (FileNotFoundError, NotADirectoryError):
        return 0.0
