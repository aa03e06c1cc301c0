"""The worker loop: claim the next UNHATCHED seed, run the user's main on it, repeat.

``run_worker`` is a plain function: launch_schedule runs it in each worker process, and a
SLURM job can call it as well. Workers coordinate only through FLAG-files (alfred.utils.flags).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from alfred.utils import flags
from alfred.utils.config import load_config_from_json
from alfred.utils.layout import CRASH, list_experiment_dirs, list_seed_dirs
from alfred.utils.misc import AlfredError, close_logger, create_logger
from alfred.utils.preemption import Preempted, stop_requested, user_code
from alfred.utils.schedule import import_user_main

__all__ = ["WorkerReport", "run_worker", "seed_dirs_in_launch_order"]

RUN_LOGGER = "alfred.run"
log = logging.getLogger(__name__)


@dataclass
class WorkerReport:
    worker_id: str
    completed: int = 0
    crashed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # runs a cleaner took away while they ran
    stopped_early: bool = False  # reached max_runs with seeds possibly left
    error: str | None = None  # the worker could not start (e.g. main.py failed to import)
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


class _Heartbeat(threading.Thread):
    """Touches the OPENED of the current run every ``interval_s`` seconds.

    It never dies of an error (a failed touch is retried at the next beat) and it says when
    OPENED disappeared, i.e. a cleaner took the run away.
    """

    def __init__(self, interval_s: float):
        super().__init__(name="alfred-heartbeat", daemon=True)
        self.interval_s = interval_s
        self.lock = threading.Lock()
        self.current: flags.Claim | None = None
        self.lost = False
        self.stopping = threading.Event()

    def set(self, claim: flags.Claim | None) -> None:
        with self.lock:
            self.current, self.lost = claim, False

    def run(self) -> None:
        while not self.stopping.wait(self.interval_s):
            try:
                with self.lock:
                    if self.current is not None and not flags.heartbeat(self.current):
                        self.lost = True
            except Exception as e:  # e.g. NFS hiccup: keep beating
                log.warning("heartbeat failed (%s); retrying in %.0f s", e, self.interval_s)


def run_worker(
    storage_dirs: list[Path],
    *,
    worker_id: str,
    heartbeat_s: float = 30.0,
    max_runs: int | None = None,
    use_pbar: bool = False,
    pbar_position: int = 0,
    log_level: int = logging.INFO,
    over_tasks: bool = False,
    project_dir: str | os.PathLike = ".",
    claim_info: dict | None = None,
    user_main: Callable | None = None,
    max_attempts: int | None = None,
    on_run_done: Callable[[], None] | None = None,
) -> WorkerReport:
    """Run seeds of ``storage_dirs`` until none is UNHATCHED (or ``max_runs`` are done).

    Args:
        worker_id: written in OPENED, to tell workers apart.
        heartbeat_s: seconds between touches of OPENED while a run goes on.
        max_runs: stop after this many runs (the launcher then starts a fresh process).
        claim_info: extra facts recorded in OPENED (e.g. a SLURM job id).
        user_main: the function to run; default: ``main`` from ``<project_dir>/main.py``.
        on_run_done: called after each run (e.g. to advance the launcher's overall progress bar).
        max_attempts: a seed that already has this many failed attempts (attempts/<n>/ without
            RELEASED: crashed or interrupted, then reset) is marked CRASH at once instead of run.

    A stop signal (see alfred.utils.preemption; SLURM jobs install the handlers) raises
    ``Preempted`` in the user's main: the seed is released (UNHATCHED, files kept) and the
    worker returns with ``report.preempted`` set.
    """
    report = WorkerReport(worker_id)
    if user_main is None:
        try:
            user_main = import_user_main(project_dir).main
        except AlfredError as e:
            report.error = str(e)
            return report
        except Exception as e:
            report.error = f"importing {Path(project_dir).resolve() / 'main.py'} raised {type(e).__name__}: {e}"
            return report
    beat = _Heartbeat(heartbeat_s)
    beat.start()
    runs = 0
    try:
        while True:
            claimed_any = False
            for seed_dir in seed_dirs_in_launch_order(storage_dirs, over_tasks=over_tasks):
                if max_runs is not None and runs >= max_runs:
                    report.stopped_early = True
                    return report
                if stop_requested():
                    report.preempted = stop_requested()
                    return report
                claim = flags.claim(seed_dir, worker_id=worker_id, heartbeat_s=heartbeat_s, extra=claim_info)
                if claim is None:
                    continue
                claimed_any = True
                runs += 1
                if max_attempts is None or not _give_up(claim, max_attempts, report):
                    try:
                        _run_one(claim, user_main, beat, report, use_pbar=use_pbar, pbar_position=pbar_position,
                                 log_level=log_level)
                    except Preempted as e:
                        report.preempted = e.signal_name
                        return report
                if on_run_done is not None:
                    on_run_done()
            if not claimed_any:  # a full pass found nothing: resets and additions are caught too
                return report
    finally:
        beat.stopping.set()


def _give_up(claim: flags.Claim, max_attempts: int, report: WorkerReport) -> bool:
    """Mark the seed CRASH without running it if it failed ``max_attempts`` times already."""
    failed = flags.failed_attempts(claim.tree)
    if failed < max_attempts:
        return False
    tree = claim.tree
    message = (f"gave up after {failed} failed attempt(s) (--max_attempts {max_attempts}): this attempt was "
               f"not run. Every attempt's trace is kept in {tree.attempts_dir}/<n>/ (CRASH.txt, OPENED, "
               "logger.out; nothing was deleted). Fix the cause, then run clean_interrupted --clean_crashes "
               "and launch with a higher --max_attempts.")
    if flags.crash(claim, message=message):
        report.crashed.append(str(tree.seed_dir))
        log.warning("CRASH %s: gave up after %d failed attempts", tree.get_run_name(), failed)
    else:
        report.lost.append(str(tree.seed_dir))
    return True


def _run_one(claim: flags.Claim, user_main: Callable, beat: _Heartbeat, report: WorkerReport, *,
             use_pbar: bool, pbar_position: int, log_level: int) -> None:
    tree = claim.tree
    name = tree.get_run_name()
    tree.create_directories()
    logger = create_logger(RUN_LOGGER, log_level, logfile=tree.log_path, stream=False)
    pbar = None
    if use_pbar:
        from tqdm import tqdm
        pbar = tqdm(desc=f"{report.worker_id} {tree.experiment_dir.name}/{tree.seed_dir.name}",
                    position=pbar_position, leave=False)
    beat.set(claim)
    start = time.time()
    error: BaseException | None = None
    try:
        config = load_config_from_json(tree.config_path)
        with user_code():
            user_main(config, tree, logger, pbar)
    except KeyboardInterrupt:
        beat.set(None)
        flags.release(claim, "KeyboardInterrupt")
        log.warning("%s: interrupted, seed sent back to UNHATCHED with its files", name)
        raise
    except Preempted as e:
        beat.set(None)
        logger.warning("run stopped by %s: seed sent back to UNHATCHED with its files", e.signal_name)
        close_logger(logger)
        flags.release(claim, f"preempted ({e.signal_name})")
        log.warning("%s: stopped by %s, seed sent back to UNHATCHED with its files", name, e.signal_name)
        raise
    except SystemExit as e:
        if e.code not in (0, None):
            error = e
    except BaseException as e:
        error = e
    finally:
        lost = beat.lost
        beat.set(None)
        if pbar is not None:
            pbar.close()
    if error is not None:
        logger.error("run crashed", exc_info=error)
    close_logger(logger)
    done = flags.crash(claim, error) if error is not None else flags.complete(claim)
    if not done or lost:
        report.lost.append(str(tree.seed_dir))
        log.warning("%s: the seed was reset by clean_interrupted while it ran; its result was not recorded", name)
    elif error is not None:
        report.crashed.append(str(tree.seed_dir))
        log.warning("CRASH %s (%s: %s) see %s", name, type(error).__name__, error, tree.flag_path(CRASH))
    else:
        report.completed += 1
        # With progress bars, a line per run would scroll the other processes' bars away.
        log.log(logging.DEBUG if use_pbar else logging.INFO, "COMPLETED %s in %.1f s", name, time.time() - start)
