"""The seed FLAG-file protocol: at every instant a seed folder holds exactly one flag, and every
transition is decided by one rename that exactly one process wins.

    UNHATCHED        --claim: rename(UNHATCHED, OPENED.<t>)---------------------> OPENED.<t>
    OPENED.<t>       --complete: rename(OPENED.<t>, COMPLETING.<t>), publish its files,
                       rename(COMPLETING.<t>, COMPLETED)------------------------> COMPLETED
    OPENED.<t>       --complete with an outcome (adaptive searches): as complete, ending in PRUNED
                       or PAUSED.<step> instead of COMPLETED (the outcome is in COMPLETING.<t>'s facts)
    OPENED.<t>       --crash: report written into it, rename(OPENED.<t>, CRASH.txt)-> CRASH.txt
    OPENED.<t>       --release: attempts/<n>/ recorded, its files moved there,
                       rename(OPENED.<t>, UNHATCHED)-----------------------------> UNHATCHED
    OPENED.<t> (interrupted), CRASH.txt, RESETTING.<dead cleaner>
                     --reset (alfred.protocol.reset): rename(flag, RESETTING.<c>), the attempt
                       recorded, rename(RESETTING.<c>, UNHATCHED)---------------> UNHATCHED

rename(2) within one folder is atomic on local filesystems and on NFS: when two processes
rename the same source, one succeeds and the other gets ENOENT. A claim is an identity: its
token <t> is in the name of its flag and of its own files, ``recorders.<t>/``,
``incrementals.<t>/`` and ``logger.out.<t>``, where its run writes (the ``dir_tree`` main
receives points there). Every later transition renames the claim's own flag, so a worker whose
seed was reset while it was stopped finds its file gone and can change no flag of the next
claim; and the paths it knows name its own token, so it cannot reach the next claim's files
either (its files were moved into ``attempts/<n>/``).

A run's files are published to the seed folder (``recorders/``, ``incrementals/``,
``logger.out``, as analysis scripts read them) only after the rename to COMPLETING.<t> decided
that the run is complete; a holder that dies while publishing leaves COMPLETING.<t>, which
``clean_interrupted`` finishes (never resets). A new claim resumes from the previous attempt's
files (``alfred.protocol.attempts``), so checkpoints survive a preemption, a SIGKILL or a lost
node alike. Per run: two mkdir, as many as a run that writes into fixed names, and renames,
which cost a tenth of a mkdir on ext4.

Contents are written into the claim's own file before the rename that publishes them: the
claim's facts (host, boot id, PID namespace, pid, start, token, ...) as one JSON line right
after the claim, the end time appended before completing, the crash report written over it
before crashing. No file is opened through a symlink or blocks on a FIFO (alfred.protocol.fsio).
"""
from __future__ import annotations

import errno
import functools
import json
import os
import time
import traceback
from dataclasses import dataclass

from alfred.protocol import attempts
from alfred.protocol.fsio import DISK_FULL, stall_point, write_into, write_new
from alfred.protocol.layout import (
    COMPLETED,
    CRASH,
    INCREMENTALS,
    LOG,
    OPENED,
    PRUNED,
    RECORDERS,
    RELEASED,
    RUN_FILES,
    UNHATCHED,
    UNRECORDED,
    SeedDir,
    claim_flag_name,
    completing_flag_name,
    paused_step,
    run_file_name,
)
from alfred.protocol.liveness import identity, lease_clock
from alfred.protocol.publish import publish
from alfred.protocol.seed_state import default_stale_after

__all__ = ["Claim", "ClaimWriteError", "claim", "owns", "heartbeat", "complete", "crash", "release",
           "crash_report", "outcome_flag"]


class ClaimWriteError(OSError):
    """The claim's facts could not be written (e.g. no space left): the claim was rolled back."""


@dataclass
class Claim:
    """What a worker holds while it runs a seed: the seed's folder, its flag file and its token."""

    tree: SeedDir
    token: str
    info: dict
    seed_dir: str = ""  # the tree's seed folder as a string: flag paths are joined often
    clock: float = 0.0  # liveness.lease_clock() when the claim was made: its lease runs from then

    def __post_init__(self) -> None:
        if not self.seed_dir:
            self.seed_dir = os.fspath(self.tree.seed_dir)

    @property
    def path(self) -> str:
        """The claim's flag file, ``<seed>/OPENED.<token>``."""
        return os.path.join(self.seed_dir, claim_flag_name(self.token))

    def flag(self, name: str) -> str:
        return os.path.join(self.seed_dir, name)


_own: tuple[int, dict] = (0, {})


def _own_identity() -> dict:
    """identity() of this process, read once per process (a forked child reads its own)."""
    global _own
    pid = os.getpid()
    if _own[0] != pid:
        _own = (pid, identity(pid))
    return _own[1]


def _line(info: dict) -> bytes:
    return (json.dumps(info, default=str) + "\n").encode()


# Recorded in OPENED when the worker runs inside a SLURM job: which job, which incarnation of it
# (a requeued job keeps its id: its restart count and start time tell the incarnations apart).
_SLURM_ENV = {"slurm_job_id": "SLURM_JOB_ID", "slurm_array_job_id": "SLURM_ARRAY_JOB_ID",
              "slurm_array_task_id": "SLURM_ARRAY_TASK_ID", "slurm_restart_count": "SLURM_RESTART_COUNT",
              "slurm_cluster_name": "SLURM_CLUSTER_NAME", "slurm_job_start_time": "SLURM_JOB_START_TIME"}


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
          stale_after_s: float | None = None,
          extra: dict | None = None, tree_type: type[SeedDir] = SeedDir, run_folder: bool = True,
          resume_published: bool = False, announce=None) -> Claim | None:
    """Take the seed if it is UNHATCHED: one rename, which exactly one worker wins.

    Then the claim's facts are written into its flag and its own files are made
    (``recorders.<token>/``, ``incrementals.<token>/``), taken over from the previous attempt
    when there is one to resume from. ``run_folder`` False (a main.py run by hand) writes into
    the seed folder's plain names instead. ``resume_published`` (adaptive searches): a seed with
    no attempt to resume from resumes from its published files (``recorders/``, ...), as a
    promoted seed, paused and then sent back to UNHATCHED, does. ``announce(seed_dir, token)``,
    if given, is called before the deciding rename (a launcher learns the token of a worker that
    may die at any moment after it).

    Returns None when another worker (or state) got there first, or when the seed was reset
    before the claim's facts were written. Raises ClaimWriteError, the seed back to
    UNHATCHED, when they cannot be written (no space left).
    """
    seed_dir = os.fspath(tree.seed_dir if isinstance(tree, SeedDir) else tree)
    token = os.urandom(8).hex()
    path = os.path.join(seed_dir, claim_flag_name(token))
    if announce is not None:
        announce(seed_dir, token)
    try:
        os.rename(os.path.join(seed_dir, UNHATCHED), path)
    except FileNotFoundError:
        return None
    clock = lease_clock()
    stall_point("after_claim_rename")
    now = time.time()
    numbers = attempts.list_attempts(seed_dir)
    info = {**_own_identity(), "user": _user(), "worker_id": worker_id, "start_time": _now_iso(now),
            "start_epoch": now, "attempt": attempts.next_attempt(numbers), "heartbeat_s": heartbeat_s,
            "stale_after_s": stale_after_s or default_stale_after(heartbeat_s), "token": token, **_slurm_info(),
            **(extra or {})}
    try:
        write_into(path, _line(info), os.O_TRUNC)  # O_TRUNC: whatever the file held before is gone
        if run_folder:
            _make_run_files(seed_dir, token, numbers, resume_published)
    except OSError as e:
        if isinstance(e, FileNotFoundError) and not os.path.exists(path):
            return None  # reset while this process was stopped: the claim is someone else's business now
        _refuse(seed_dir, path, e)
    tree = tree_type(seed_dir, run_token=token if run_folder else None)
    return Claim(tree=tree, token=token, info=info, seed_dir=seed_dir, clock=clock)


def _make_run_files(seed_dir: str, token: str, numbers: list[int], resume_published: bool = False) -> None:
    """``recorders.<token>/``, ``incrementals.<token>/``: the previous attempt's files renamed (a
    resume: ``logger.out.<token>`` too), else new folders."""
    found = attempts.resumable_files(seed_dir, numbers) if numbers else {}
    if not found:  # a release that found no room to record its attempt left its files here
        unrecorded = os.path.join(seed_dir, run_file_name(RECORDERS, UNRECORDED))
        if os.path.lexists(unrecorded):
            found = {name: os.path.join(seed_dir, run_file_name(name, UNRECORDED)) for name in RUN_FILES}
        elif numbers or resume_published:  # released by an older alfred, which kept the run's files at the
            # seed's root, or a promoted seed (paused, its files published): never a link carried forward
            found = {name: path for name in RUN_FILES if not os.path.islink(path := os.path.join(seed_dir, name))}
    for name in RUN_FILES:
        path = os.path.join(seed_dir, run_file_name(name, token))
        if name in found:
            try:
                os.rename(found[name], path)  # carries the run forward
                continue
            except FileNotFoundError:
                pass
        if name != LOG:
            os.mkdir(path)


def _refuse(seed_dir: str, path: str, e: OSError) -> None:
    """A claim whose facts or folder cannot be written: back to UNHATCHED on a full disk (the
    worker stops), CRASH.txt with the reason for a hostile seed folder (a symlink, a FIFO)."""
    if e.errno in DISK_FULL:
        try:
            os.truncate(path, 0)
            os.rename(path, os.path.join(seed_dir, UNHATCHED))  # roll back: the seed waits again
        except OSError:
            pass
        raise ClaimWriteError(e.errno, f"could not write the claim of {seed_dir} ({e.strerror}); "
                                       "the seed was sent back to UNHATCHED") from e
    what = f"{e.filename or path}: {e.strerror or e}"
    message = (f"not run: alfred will not write through {what} (a symlink, a FIFO or another file alfred "
               f"did not make in the seed folder). Remove it, then run clean_interrupted --clean_crashes.\n")
    tmp = os.path.join(seed_dir, f".{CRASH}.{os.getpid()}.tmp")
    try:
        write_new(tmp, message.encode())
        os.rename(tmp, path)  # replaces the planted file itself (rename never follows a symlink)
        os.rename(path, os.path.join(seed_dir, CRASH))
    except OSError:
        pass
    raise ClaimWriteError(e.errno or errno.EINVAL, f"{seed_dir}: {message.strip()}") from e


def owns(c: Claim) -> bool:
    """Whether the claim's own flag file is still there (no cleaner has reset the seed)."""
    return os.path.exists(c.path)


def heartbeat(c: Claim) -> bool:
    """Touch the claim's file; False once it is gone (the seed was reset by a cleaner)."""
    try:
        os.utime(c.path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def outcome_flag(outcome: object) -> str:
    """The flag a completion ends on: ``PRUNED`` or ``PAUSED.<step>`` as recorded, else COMPLETED."""
    if outcome == PRUNED or (isinstance(outcome, str) and paused_step(outcome) is not None):
        return outcome
    return COMPLETED


def complete(c: Claim, *, logged: bool = True, outcome: str | None = None) -> bool:
    """The end time appended to the claim's file; OPENED.<t> -> COMPLETING.<t> decides that the run
    is complete; its files are published to the seed folder; COMPLETING.<t> -> COMPLETED.

    False, and nothing changed, if the seed was taken away (reset) while it ran. ``logged``
    False: the run wrote no logger.out (one rename fewer). ``outcome`` (adaptive searches):
    ``PRUNED`` or ``PAUSED.<step>``, the flag to end on instead of COMPLETED; recorded in the
    claim's line before the deciding rename, so a cleaner finishing for a dead holder ends on it too.
    """
    end = time.time()
    facts = {"end_time": _now_iso(end), "duration_s": round(end - c.info["start_epoch"], 3)}
    if outcome is not None:
        if outcome_flag(outcome) != outcome:
            raise ValueError(f"a completion's outcome is {PRUNED} or PAUSED.<step>, not {outcome!r}")
        facts["outcome"] = outcome
    try:
        write_into(c.path, _line(facts), os.O_APPEND)
    except FileNotFoundError:
        return False
    except OSError:  # no space for the line: the run is done all the same
        pass
    stall_point("before_complete_rename")
    completing = c.flag(completing_flag_name(c.token))
    try:
        os.rename(c.path, completing)
    except FileNotFoundError:
        return False
    if c.tree.run_token:
        stall_point("while_publishing")
        publish(c.seed_dir, c.token, names=RUN_FILES if logged else (RECORDERS, INCREMENTALS))
    try:
        os.rename(completing, c.flag(outcome or COMPLETED))
    except FileNotFoundError:
        pass  # a cleaner finished the publication for us (it took this holder for dead): completed all the same
    return True


def crash_report(info: dict, seed_dir: str, exc: BaseException | None = None, message: str | None = None) -> str:
    """The text of CRASH.txt: a headline, where and when, the traceback, and the claim's facts."""
    if exc is not None:
        message = "".join(traceback.format_exception(exc))
        headline = f"{type(exc).__name__}: {exc}"
    else:
        headline = (message or "").strip().splitlines()[0] if (message or "").strip() else "crash"
    token = info.get("token")
    files = ", ".join(run_file_name(name, token) for name in RUN_FILES) if token else ", ".join(RUN_FILES)
    header = [f"exception: {' '.join(headline.split())}", f"time: {_now_iso(time.time())}",
              f"host: {info.get('host')}  pid: {info.get('pid')}  worker: {info.get('worker_id')}",
              f"attempt: {info.get('attempt')}  started: {info.get('start_time')}", f"seed folder: {seed_dir}",
              f"this run's files, in the seed folder: {files}", ""]
    return "\n".join(header) + (message or "").rstrip("\n") + "\n" + json.dumps(info, default=str) + "\n"


def crash(c: Claim, exc: BaseException | None = None, message: str | None = None) -> bool:
    """The crash report written over the claim's file, then OPENED.<token> -> CRASH.txt.

    The run's own files stay where they are (``recorders.<token>``, ..., named in the report)
    until a clean with --clean_crashes moves them into the attempt's record. Also used by a launcher for a
    worker process that died holding the claim (then ``message`` says how it died). False,
    and nothing changed, if the seed was taken away meanwhile.
    """
    try:
        write_into(c.path, crash_report(c.info, c.seed_dir, exc, message).encode(), os.O_TRUNC)
    except FileNotFoundError:
        return False
    except OSError:  # no space for the report: the crash is recorded by the flag alone
        pass
    try:
        os.rename(c.path, c.flag(CRASH))
    except FileNotFoundError:
        return False
    return True


def release(c: Claim, reason: str) -> bool:
    """Give the seed back (preemption, Ctrl-C, a lease that ran out): the attempt is recorded in
    ``attempts/<n>/`` (OPENED, RELEASED), the run's files move there for the next claim to
    resume from, and the deciding rename, OPENED.<t> -> UNHATCHED, comes last.

    RELEASED records how many releases in a row saved no new checkpoint (see
    ``attempts.releases_without_progress``). False if the seed was taken away meanwhile (a
    cleaner reset it): the files moved here are still the ones the next claim resumes from.
    """
    numbers = attempts.list_attempts(c.seed_dir)
    incrementals = c.tree.incrementals_dir
    mark = attempts.checkpoint_mark(incrementals)
    previous = attempts.previous_release(c.seed_dir, numbers)
    stuck = previous.get("releases_without_progress", 0) + 1 if mark <= previous.get("checkpoint_mtime", 0.0) else 0
    target: str | os.PathLike | None = None
    try:
        target = attempts.make_attempt_dir(c.seed_dir)
        attempts.record(target, OPENED, c.info)
        attempts.record(target, RELEASED, {**c.info, "released": reason, "checkpoint_mtime": mark,
                                           "releases_without_progress": stuck})
    except OSError as e:  # no room for the record (or attempts/ planted as a symlink): its files wait in the
        if e.errno not in DISK_FULL and not isinstance(e, NotADirectoryError):  # seed folder, where the next
            raise                                                                # claim looks
        target = None
    if c.tree.run_token:
        for name in RUN_FILES:
            mine = c.flag(run_file_name(name, c.token))
            dest = os.path.join(target, run_file_name(name, c.token)) if target else \
                c.flag(run_file_name(name, UNRECORDED))
            try:
                os.rename(mine, dest)
            except FileNotFoundError:
                pass  # never written (logger.out), or moved by a cleaner that reset the seed
    stall_point("before_release_rename")
    try:
        os.truncate(c.path, 0)  # UNHATCHED is empty, as prepare made it
        os.rename(c.path, c.flag(UNHATCHED))
    except FileNotFoundError:  # a cleaner reset it meanwhile (its record follows this one): write nothing more
        return False
    return True
