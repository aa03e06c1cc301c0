"""What a cleaner does to a seed: reset an interrupted or crashed one, finish what a dead process left.

    reset       rename(<flag>, RESETTING.<cleaner token>)   decides: exactly one of the cleaner
                                                            and the claim's holder acts on the seed
                record attempts/<n>/ (OPENED or CRASH.txt, RESET); move the run's files there
                rename(RESETTING.<cleaner token>, UNHATCHED) the seed waits again
    finish      a RESETTING.<x> whose cleaner x no longer holds the storage dir's clean lock is
                reset the same way, starting with rename(RESETTING.<x>, RESETTING.<mine>)
    roll forward  a COMPLETING.<t> whose holder died: its files are published (idempotent), then
                rename(COMPLETING.<t>, COMPLETED), or to the outcome its holder recorded in it
                (PRUNED, PAUSED.<step>: adaptive searches). A completed run is never reset.

<flag> is the one ``seed_state`` read: OPENED.<t> (INTERRUPTED), CRASH.txt (CRASHED), a
RESETTING of a dead cleaner, or none at all (a folder an older alfred left flagless, given
UNHATCHED by O_EXCL). A cleaner that was stopped and resumes after another took its lock
over finds its RESETTING.<c> renamed: every later step of its own fails, it changes nothing.
An interrupted run's files are moved into its attempt record, where the next claim takes them
over to resume from; a crashed run's stay there (the next run starts afresh).
"""
from __future__ import annotations

import os
from pathlib import Path

from alfred.protocol import attempts
from alfred.protocol.flags import outcome_flag
from alfred.protocol.fsio import read_json_or_empty, read_small, stall_point, write_new
from alfred.protocol.layout import (
    ATTEMPTS,
    COMPLETED,
    COMPLETING,
    CRASH,
    OPENED,
    RESET,
    RESETTING,
    RUN_FILES,
    UNHATCHED,
    flag_token,
    resetting_flag_name,
    run_file_name,
    run_file_of,
)
from alfred.protocol.publish import publish
from alfred.protocol.seed_state import SeedState, SeedStatus, parse_facts

__all__ = ["reset", "roll_forward"]


def reset(seed_dir: str | os.PathLike, status: SeedStatus, *, cleaner: dict) -> bool:
    """Send an INTERRUPTED or CRASHED seed back to UNHATCHED, its attempt recorded; False if the
    seed changed state since ``status`` was read (nothing is changed then).

    ``cleaner``: the facts of the cleaner (its ``token`` names its RESETTING flag).
    """
    if status.state not in (SeedState.INTERRUPTED, SeedState.CRASHED):
        raise ValueError(f"reset takes an INTERRUPTED or CRASHED seed, not {status.state.value}")
    seed_dir = os.fspath(seed_dir)
    mine = os.path.join(seed_dir, resetting_flag_name(cleaner["token"]))
    flag = CRASH if status.state is SeedState.CRASHED else status.flag
    if flag is None:  # flagless: an older alfred's reset stopped midway (this alfred leaves none)
        return _create_unhatched(seed_dir)
    attempts.check_own_folders(seed_dir)  # a planted symlink refuses the reset before anything is decided
    try:
        os.rename(os.path.join(seed_dir, flag), mine)  # the decision
    except FileNotFoundError:
        return False
    stall_point("after_reset_decision")
    try:
        text = read_small(mine)
    except FileNotFoundError:
        return False  # another cleaner took this reset over while this one was stopped
    except OSError:  # a FIFO, a symlink, ... planted under a flag's name: replaced by a regular file
        text = b""
        tmp = os.path.join(seed_dir, f".{UNHATCHED}.{cleaner['token']}.tmp")
        write_new(tmp, b"")
        os.rename(tmp, mine)
    # A reset taken over from a dead cleaner may have been recorded already: its record names that cleaner.
    attempt_dir = _recorded_by(seed_dir, flag_token(flag)) if flag.startswith(RESETTING + ".") else None
    if attempt_dir is None:
        attempt_dir = attempts.make_attempt_dir(seed_dir)
        crashed = flag == CRASH or text.startswith(b"exception:")
        attempts.record(attempt_dir, CRASH if crashed else OPENED, text.decode(errors="replace"))
        attempts.record(attempt_dir, RESET, {"cleaner": cleaner, "state": status.state.value,
                                             "reason": status.reason, "flag": flag})
    token = parse_facts(text).get("token") or flag_token(flag)
    _move_run_files(seed_dir, token, attempt_dir, legacy=flag == OPENED)
    stall_point("before_reset_rename")
    try:
        os.truncate(mine, 0)  # UNHATCHED is empty, as prepare made it
        os.rename(mine, os.path.join(seed_dir, UNHATCHED))
    except FileNotFoundError:
        return False
    return True


def _move_run_files(seed_dir: str, token: str | None, attempt_dir, *, legacy: bool) -> None:
    """The reset attempt's files go into its record: ``recorders.<token>`` -> ``attempts/<n>/``.

    Run files of other tokens in the seed folder (recreated by a worker that lost its claim) go
    there too, as ``<name>.stray-<their token>``. For a claim of an older alfred (no token), its
    files at the seed's root are its files (``<name>.legacy``).
    """
    for entry, path in attempts.run_files_in(seed_dir).items():
        name, owner = run_file_of(entry)
        target = entry if owner == token else run_file_name(name, f"stray-{owner}")
        try:
            os.rename(path, os.path.join(attempt_dir, target))
        except FileNotFoundError:
            pass
    if legacy and not os.path.exists(os.path.join(seed_dir, COMPLETED)):
        for name in RUN_FILES:
            try:
                os.rename(os.path.join(seed_dir, name), os.path.join(attempt_dir, run_file_name(name, "legacy")))
            except FileNotFoundError:
                pass


def _recorded_by(seed_dir: str, cleaner_token: str | None) -> Path | None:
    """The attempt record the cleaner ``cleaner_token`` made, if it made one before it stopped."""
    for n in reversed(attempts.list_attempts(seed_dir)):
        attempt_dir = Path(seed_dir) / ATTEMPTS / str(n)
        if read_json_or_empty(attempt_dir / RESET).get("cleaner", {}).get("token") == cleaner_token:
            return attempt_dir
    return None


def _create_unhatched(seed_dir: str) -> bool:
    try:
        os.close(os.open(os.path.join(seed_dir, UNHATCHED), os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW,
                         0o644))
    except FileExistsError:
        return False
    return True


def roll_forward(seed_dir: str | os.PathLike, status: SeedStatus) -> bool:
    """Finish the completion of a run whose holder died while publishing its files (COMPLETING.<t>)."""
    seed_dir = os.fspath(seed_dir)
    token = flag_token(status.flag or "")
    if token is None or not status.flag.startswith(COMPLETING + "."):
        raise ValueError(f"roll_forward takes a seed left COMPLETING, not {status.flag}")
    publish(seed_dir, token)
    try:
        final = outcome_flag(parse_facts(read_small(os.path.join(seed_dir, status.flag))).get("outcome"))
    except OSError:  # gone (finished meanwhile), or not a regular file: the rename below decides
        final = COMPLETED
    try:
        os.rename(os.path.join(seed_dir, status.flag), os.path.join(seed_dir, final))
    except FileNotFoundError:
        return os.path.exists(os.path.join(seed_dir, final))
    return True

