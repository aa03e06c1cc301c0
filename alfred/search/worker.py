"""The worker loop: claim the next UNHATCHED seed, run the user's main on it, repeat.

``run_worker`` is a plain function: a local launch runs it in worker processes (alfred.search
.launch), a SLURM job in its own process. Workers coordinate only through FLAG-files
(alfred.protocol.flags).

While main runs, a heartbeat thread touches the claim every ``heartbeat_s`` and checks every
second that the claim is still the worker's; SIGCONT (the process runs again after a stop)
checks it at once. A claim that is gone -- a cleaner reset the seed while this worker was
stopped or cut off -- raises ``ClaimLost`` inside main, and so does a claim whose heartbeats
have failed for its whole lease (a cleaner may be about to call it dead): the worker then
changes no flag of anyone else's claim, and sends the seed back itself if it still holds it.
The run writes only into its own files, ``recorders.<token>/``, ...: paths a worker that lost its
claim still holds lead nowhere the next claim writes.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from alfred.protocol import attempts, fencing, flags
from alfred.protocol.fencing import ClaimLost, Paused, Preempted, Pruned, stop_requested, user_code
from alfred.protocol.fsio import DISK_FULL, stall_point
from alfred.protocol.layout import COMPLETED, CRASH, OPENED, PRUNED, paused_flag_name
from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs
from alfred.protocol.seed_state import default_stale_after, lease_s, read_flag_info
from alfred.search.heartbeat import Heartbeat
from alfred.utils.config import load_config_from_json
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError, close_logger, create_logger
from alfred.utils.schedule import import_user_main

__all__ = ["WorkerReport", "run_worker", "seed_dirs_in_launch_order"]

RUN_LOGGER = "alfred.run"
log = logging.getLogger(__name__)


@dataclass
class WorkerReport:
    worker_id: str
    completed: int = 0
    stopped_at_rung: int = 0  # adaptive searches: runs that ended PRUNED or PAUSED.<step> (not completed)
    crashed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # runs a cleaner took away while they ran
    stopped_early: bool = False  # reached max_runs with seeds possibly left
    error: str | None = None  # the worker could not start (e.g. main.py failed to import)
    failed: str | None = None  # the worker had to stop (e.g. no space left on the storage's disk)
    preempted: str | None = None  # name of the signal that stopped the worker (its run was released)


def seed_dirs_in_launch_order(storage_dirs: list[Path], *, over_tasks: bool = False) -> list[str]:
    """Every seed folder, first seeds of all experiments before the second seed of any.

    Without ``over_tasks`` storage dirs run one after the other; with it, experiment k of
    every storage dir (e.g. every task) comes before experiment k+1 of any. Plain paths: a
    worker lists them at every pass, and a Path or a DirectoryTree per seed would cost more
    than the listing itself.
    """
    keyed = []
    append = keyed.append
    for s, storage_dir in enumerate(storage_dirs):
        for n, experiment_dir in list_experiment_dirs(storage_dir):
            try:
                seed_dirs = list_seed_dirs(experiment_dir)
            except FileNotFoundError:
                continue
            for rank, (_, seed_dir) in enumerate(seed_dirs):
                append(((rank, n, s) if over_tasks else (s, rank, n), seed_dir))
    keyed.sort()
    return [seed_dir for _, seed_dir in keyed]


def run_worker(
    storage_dirs: list[Path],
    *,
    worker_id: str,
    heartbeat_s: float = 30.0,
    stale_after_s: float | None = None,
    max_runs: int | None = None,
    use_pbar: bool = False,
    pbar_position: int = 0,
    log_level: int = logging.INFO,
    over_tasks: bool = False,
    project_dir: str | os.PathLike = ".",
    claim_info: dict | None = None,
    user_main: Callable | None = None,
    max_attempts: int | None = None,
    max_releases: int | None = None,
    on_run_done: Callable[[], None] | None = None,
    on_claim: Callable[[flags.Claim | None], None] | None = None,
    announce: Callable[[str, str], None] | None = None,
    parent_pid: int | None = None,
) -> WorkerReport:
    """Run seeds of ``storage_dirs`` until none is UNHATCHED (or ``max_runs`` are done).

    Args:
        worker_id: written in the claim, to tell workers apart.
        heartbeat_s: seconds between touches of the claim while a run goes on.
        stale_after_s: the heartbeat age after which others may call a run of this worker dead,
            recorded in each claim (default: 5 heartbeats, at least 120 s). The worker stops a
            run by itself a margin before that when its heartbeats fail (seed_state.lease_s).
        max_runs: stop after this many runs (the launcher then starts a fresh process).
        claim_info: extra facts recorded in the claim (e.g. a GPU).
        user_main: the function to run; default: ``main`` from ``<project_dir>/main.py``.
        max_attempts: a seed that already has this many failed attempts (attempts/<n>/ without
            RELEASED: crashed or interrupted, then reset) is marked CRASH at once instead of run.
        max_releases: a seed released this many times in a row without a new checkpoint in
            incrementals/ is marked CRASH at once (it would be preempted forever).
        on_run_done: called after each run (e.g. to advance the launcher's overall progress bar).
        on_claim: called with each claim before its run starts, and with None after it (the
            launcher records the crash of a worker process that dies holding a claim).
        announce: called with (seed folder, token) just before each claim's rename (the same,
            for a worker killed before ``on_claim``).
        parent_pid: the launcher's pid: the worker stops if it goes away.

    A stop signal (see alfred.utils.preemption) raises ``Preempted`` in the user's main: the
    seed is released (UNHATCHED, files kept) and the worker returns with ``report.preempted``.
    A run that fails for lack of disk space releases its seed too, and the worker stops
    (``report.failed``).
    """
    report = WorkerReport(worker_id)
    storage_dirs = [Path(d).absolute() for d in storage_dirs]  # main may change the working directory
    stale_after_s = stale_after_s or default_stale_after(heartbeat_s)
    if user_main is None:
        try:
            user_main = import_user_main(project_dir).main
        except AlfredError as e:
            report.error = str(e)
            return report
        except Exception as e:
            report.error = f"importing {Path(project_dir).resolve() / 'main.py'} raised {type(e).__name__}: {e}"
            return report
    beat = Heartbeat(heartbeat_s, lease_s(stale_after_s, heartbeat_s), parent_pid)
    beat.start()
    fence = fencing.install_fence() if threading.current_thread() is threading.main_thread() else {}
    runs = 0
    try:
        adaptive = _adaptive_specs(storage_dirs)
        plain = [d for d in storage_dirs if d not in adaptive]
        while True:
            claimed_any = False
            for seed_dir in _candidates(adaptive, plain, over_tasks=over_tasks, worker_id=worker_id):
                if max_runs is not None and runs >= max_runs:
                    report.stopped_early = True
                    return report
                if stop_requested():
                    report.preempted = stop_requested()
                    return report
                try:
                    claim = flags.claim(seed_dir, worker_id=worker_id, heartbeat_s=heartbeat_s,
                                        stale_after_s=stale_after_s, extra=claim_info, tree_type=DirectoryTree,
                                        resume_published=bool(adaptive), announce=announce)
                except flags.ClaimWriteError as e:
                    if e.errno in DISK_FULL:
                        report.failed = str(e)
                        log.error("%s: stopping this worker", e)
                        return report
                    report.crashed.append(str(seed_dir))
                    log.warning("CRASH %s", e)
                    continue
                if claim is None:
                    continue
                claimed_any = True
                runs += 1
                with fencing.watch_claim(beat.check, beat.expired):  # from here on, a loss is never forgotten
                    beat.set(claim)
                    if on_claim is not None:
                        on_claim(claim)
                    try:
                        if not _give_up(claim, report, max_attempts=max_attempts, max_releases=max_releases):
                            _run_one(claim, user_main, report, use_pbar=use_pbar, pbar_position=pbar_position,
                                     log_level=log_level)
                    except Preempted as e:
                        report.preempted = e.signal_name
                        return report
                    except _DiskFull as e:
                        report.failed = str(e)
                        return report
                    finally:
                        beat.set(None)
                if on_claim is not None:
                    on_claim(None)
                if on_run_done is not None:
                    on_run_done()
            if not claimed_any:  # a full pass found nothing: resets and additions are caught too
                return report
    finally:
        beat.stopping.set()
        for signum, handler in fence.items():
            signal.signal(signum, handler)


def _adaptive_specs(storage_dirs: list[Path]) -> dict:
    """The adaptive searches among ``storage_dirs`` (alfred.search.adaptive_worker); one lstat each otherwise."""
    from alfred.protocol.layout import ADAPTIVE_SPEC

    if not any(os.path.lexists(d / ADAPTIVE_SPEC) for d in storage_dirs):
        return {}
    from alfred.search.adaptive_worker import adaptive_specs

    return adaptive_specs(storage_dirs)


def _candidates(adaptive: dict, plain: list[Path], *, over_tasks: bool, worker_id: str):
    """Seeds to try to claim: the adaptive searches' next seeds, then a pass over the others."""
    if adaptive:
        from alfred.search.adaptive_worker import candidates

        yield from candidates(adaptive, worker_id=worker_id)
    if plain:
        yield from seed_dirs_in_launch_order(plain, over_tasks=over_tasks)


class _DiskFull(Exception):
    """A run failed for lack of disk space: its seed was released and the worker stops."""


def _give_up(claim: flags.Claim, report: WorkerReport, *, max_attempts: int | None,
             max_releases: int | None) -> bool:
    """Mark the seed CRASH without running it if it failed ``max_attempts`` times already, or
    was released ``max_releases`` times in a row without saving a checkpoint."""
    tree = claim.tree
    if claim.info.get("attempt", 1) == 1:  # no attempt before this one: nothing to count
        return False
    failed = attempts.failed_attempts(claim.seed_dir) if max_attempts is not None else 0
    stuck = attempts.releases_without_progress(claim.seed_dir) if max_releases is not None else 0
    if max_attempts is not None and failed >= max_attempts:
        why = f"gave up after {failed} failed attempt(s) (--max_attempts {max_attempts})"
        fix = "Fix the cause, then run clean_interrupted --clean_crashes and launch with a higher --max_attempts."
    elif max_releases is not None and stuck >= max_releases:
        why = (f"gave up after {stuck} releases in a row (preemption, time limit) with no new checkpoint in "
               f"{tree.incrementals_dir} (--max_releases {max_releases}): it would be preempted forever")
        fix = ("Save checkpoints when Preempted is raised (see alfred.utils.preemption) or give jobs more time, "
               "then run clean_interrupted --clean_crashes.")
    else:
        return False
    message = (f"{why}: this attempt was not run. Every attempt's trace is kept in {tree.attempts_dir}/<n>/ "
               f"(CRASH.txt, OPENED, run/logger.out; nothing was deleted). {fix}")
    if flags.crash(claim, message=message):
        report.crashed.append(str(tree.seed_dir))
        log.warning("CRASH %s: %s", tree.get_run_name(), why)
    else:
        report.lost.append(str(tree.seed_dir))
    return True


def _attempt_of(claim: flags.Claim) -> Path | None:
    """The attempt folder a cleaner recorded this claim in (its files are there, in run/)."""
    for path in sorted(claim.tree.attempts_dir.glob(f"*/{OPENED}")):
        if read_flag_info(path).get("token") == claim.token:
            return path.parent
    return None


def _report_lost(claim: flags.Claim, report: WorkerReport, logger: logging.Logger) -> None:
    close_logger(logger)  # its file, if open, moved with the run's files; nothing new is opened
    report.lost.append(str(claim.tree.seed_dir))
    record = _attempt_of(claim)
    if record is None:
        where = f"its attempt is recorded in {claim.tree.attempts_dir} (the one whose OPENED holds {claim.token})"
    elif attempts.run_files_in(record, claim.token):
        where = f"this run's partial output is in {record} (its files end in .{claim.token})"
    else:
        where = f"its attempt is recorded in {record}; the next claim of the seed resumes from its files"
    log.warning("LOST %s: %s; another worker may run it now. Nothing more was written into the seed folder and no "
                "flag was changed; %s", claim.tree.get_run_name(),
                fencing.lost_reason() or "its seed was reset while this worker was stopped or cut off", where)


def _run_one(claim: flags.Claim, user_main: Callable, report: WorkerReport, *, use_pbar: bool, pbar_position: int,
             log_level: int) -> None:
    tree = claim.tree
    name = tree.get_run_name()
    logger = create_logger(RUN_LOGGER, log_level, logfile=tree.log_path, stream=False, gate=fencing.lost)
    pbar = None
    if use_pbar:
        from tqdm import tqdm
        pbar = tqdm(desc=f"{report.worker_id} {tree.experiment_dir.name}/{tree.seed_dir.name}",
                    position=pbar_position, leave=False)
    start = time.time()
    cwd = os.getcwd()
    error: BaseException | None = None
    outcome: str | None = None  # adaptive searches: PRUNED or PAUSED.<step>
    try:
        stall_point("before_main")
        config = load_config_from_json(tree.config_path)
        with user_code():
            user_main(config=config, dir_tree=tree, logger=logger, pbar=pbar)
    except ClaimLost:
        pass  # decided below: lost for good, or still ours (its lease ran out): released
    except (Pruned, Paused) as e:  # dir_tree.report decided at a rung: the run ends there, its files published
        outcome = _outcome(e)
    except Preempted as e:
        logger.warning("run stopped by %s: seed sent back to UNHATCHED with its files", e.signal_name)
        close_logger(logger)
        if _release(claim, report, f"preempted ({e.signal_name})", logger):
            log.warning("%s: stopped by %s, seed sent back to UNHATCHED with its files", name, e.signal_name)
        raise
    except KeyboardInterrupt as e:
        if not fencing.sigint_received():  # raised by main itself: a bug like any other
            error = e
        else:
            close_logger(logger)
            if _release(claim, report, "KeyboardInterrupt", logger):
                log.warning("%s: interrupted, seed sent back to UNHATCHED with its files", name)
            raise
    except SystemExit as e:
        if e.code not in (0, None):
            error = e
    except BaseException as e:
        error = e
    finally:
        os.chdir(cwd)  # main may have moved: alfred's paths are absolute, the next run starts here again
        if pbar is not None:
            pbar.close()
    if fencing.lost():
        if not flags.owns(claim):
            _report_lost(claim, report, logger)
        elif _release(claim, report, f"stopped by its own worker: {fencing.lost_reason()}", logger):
            log.warning("RELEASED %s: %s; seed sent back to UNHATCHED with its files", name, fencing.lost_reason())
        return
    if isinstance(error, OSError) and error.errno in DISK_FULL:
        close_logger(logger)
        if _release(claim, report, f"no space left ({error})", logger):
            raise _DiskFull(f"{name}: {error.strerror or error} ({error.filename or tree.seed_dir}): the seed was sent "
                            "back to UNHATCHED with its files; free some space, then launch again") from error
        return
    if error is not None:
        logger.error("run crashed", exc_info=error)
    elif outcome is None and tree.adaptive_outcome is not None:  # main swallowed Pruned/Paused: ends the same way
        outcome = _outcome(tree.adaptive_outcome)
    logged = _logged(logger)
    close_logger(logger)
    done = flags.crash(claim, error) if error is not None else flags.complete(claim, logged=logged, outcome=outcome)
    if not done:  # reset meanwhile: the rename found the claim gone
        _report_lost(claim, report, logger)
    elif error is not None:
        report.crashed.append(str(tree.seed_dir))
        log.warning("CRASH %s (%s: %s) see %s", name, type(error).__name__, error, tree.flag_path(CRASH))
    else:
        if outcome is None:
            report.completed += 1
        else:
            report.stopped_at_rung += 1
        # With progress bars, a line per run would scroll the other processes' bars away.
        log.log(logging.DEBUG if use_pbar else logging.INFO, "%s %s in %.1f s", outcome or COMPLETED, name,
                time.time() - start)


def _outcome(e: Pruned | Paused) -> str:
    return PRUNED if isinstance(e, Pruned) else paused_flag_name(e.step)


def _release(claim: flags.Claim, report: WorkerReport, reason: str, logger: logging.Logger) -> bool:
    """Release the seed; a seed reset meanwhile is reported LOST instead. True if released."""
    if flags.release(claim, reason):
        return True
    _report_lost(claim, report, logger)
    return False


def _logged(logger: logging.Logger) -> bool:
    """Whether the run's logger opened its file (it does at the first record)."""
    return any(getattr(h, "stream", None) is not None for h in logger.handlers if isinstance(h, logging.FileHandler))
