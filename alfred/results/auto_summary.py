"""Automatic summaries: the first process to find a search finished summarises it, once.

Launches (local and SLURM jobs) call :func:`summarize_finished` after their last run. For
each storage dir whose seeds are all done, exactly one process claims the lock
``SUMMARY_ONGOING`` (alfred.protocol.locks; a dead owner's lock is taken over), writes the
summary (alfred.results.summary) and the plot arrays (alfred.results.plot_arrays), then
leaves ``SUMMARY_COMPLETED`` (or ``SUMMARY_FAILED`` with the error) recording how many seeds
were completed. A summary is redone when more seeds completed since the last one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from alfred.protocol import locks
from alfred.protocol.layout import SUMMARY_COMPLETED, SUMMARY_FAILED, SUMMARY_ONGOING, StorageDir
from alfred.protocol.listing import iter_seed_dirs
from alfred.protocol.seed_state import SeedState, seed_state
from alfred.utils.misc import AlfredError

__all__ = ["FinishedReport", "summarize_finished", "failed_summaries_line", "seed_counts", "SUMMARY_STALE_S"]

SUMMARY_STALE_S = 6 * 3600.0  # a SUMMARY_ONGOING of another host this old counts as abandoned


@dataclass
class FinishedReport:
    storage_dir: Path
    action: str  # "summarized", "failed", "busy", "unfinished", "up to date", "skipped"
    message: str = ""


def seed_counts(storage_dir: Path) -> tuple[int, int, int]:
    """(seeds still to run or running, completed, total) of a storage dir. Completed: ended with results,
    COMPLETED or, in an adaptive search, stopped or paused at a rung (what a summary loads)."""
    pending = completed = total = 0
    waiting = (SeedState.UNHATCHED, SeedState.RUNNING, SeedState.INTERRUPTED)
    for _, _, seed_dir in iter_seed_dirs(storage_dir):
        total += 1
        state = seed_state(seed_dir).state
        if state in waiting:
            pending += 1
        elif state is not SeedState.CRASHED:
            completed += 1
    return pending, completed, total


def _done_for(storage: StorageDir, n_completed: int) -> FinishedReport | None:
    """The report of a summary (or of its failure) that exists for this number of completed seeds."""
    if locks.read_lock(storage.flag(SUMMARY_COMPLETED)).get("n_completed") == n_completed:
        return FinishedReport(storage.path, "up to date", "")
    failed = locks.read_lock(storage.flag(SUMMARY_FAILED))
    if failed.get("n_completed") == n_completed:  # still failed: a launch ending here must say so
        return FinishedReport(storage.path, "failed", f"failed earlier: {failed.get('error', '')}")
    return None


def summarize_finished(storage_dirs: list[Path], *, overrides: dict | None = None, n_resamples: int = 10_000,
                       seed: int = 0, stale_after_s: float | None = None, log=print) -> list[FinishedReport]:
    """Summarise each storage dir whose seeds are all done (none UNHATCHED, RUNNING or INTERRUPTED)."""
    from alfred.results.plot_arrays import make_plot_arrays
    from alfred.results.settings import plot_arrays_for, resolve_settings
    from alfred.results.summary import clear_dir, summarize_search, summary_headline, summary_notes

    stale = SUMMARY_STALE_S if stale_after_s is None else stale_after_s
    out = []
    for storage in map(StorageDir, storage_dirs):
        try:
            storage.require_kind()
        except AlfredError as e:
            out.append(FinishedReport(storage.path, "skipped", str(e)))
            continue
        pending, completed, total = seed_counts(storage.path)
        if pending:
            out.append(FinishedReport(storage.path, "unfinished", f"{pending} of {total} seed(s) not done"))
            continue
        if done := _done_for(storage, completed):
            out.append(done)
            continue
        claim = locks.claim_lock(storage.flag(SUMMARY_ONGOING), stale_after_s=stale, extra={"n_completed": completed})
        if claim is None:
            out.append(FinishedReport(storage.path, "busy", "another process is summarising it"))
            continue
        claim.start_refresh()
        if done := _done_for(storage, completed):  # finished by another process between check and claim
            locks.release_lock(claim)
            out.append(done)
            continue
        for flag in (SUMMARY_COMPLETED, SUMMARY_FAILED):
            try:
                os.unlink(storage.flag(flag))
            except FileNotFoundError:
                pass
        try:
            settings = resolve_settings(storage.path, overrides)
            # the summary first: it checks the data and fails with the clearest message
            summary = summarize_search(storage.path, settings=settings, n_resamples=n_resamples, seed=seed,
                                       record_flags=False)  # the flags are recorded below, under the lock
            locks.touch(claim)
            pairs = plot_arrays_for(storage.path, settings, overrides)
            make_plot_arrays(storage.path, x_metrics=[p[0] for p in pairs], y_metrics=[p[1] for p in pairs],
                             settings=settings, limits={(p[0], p[1]): p[2:] for p in pairs})
        except Exception as e:
            message = f"{type(e).__name__}: {e}" if not isinstance(e, AlfredError) else str(e)
            clear_dir(storage.summary_dir)
            locks.finish_lock(claim, storage.flag(SUMMARY_FAILED), {"n_completed": completed, "error": message})
            log(f"summary of {storage.name} failed: {message}")
            out.append(FinishedReport(storage.path, "failed", message))
            continue
        locks.finish_lock(claim, storage.flag(SUMMARY_COMPLETED),
                          {"n_completed": completed, "best_experiment": summary["best_experiment"]})
        log(f"summary of {storage.name}: {summary_headline(summary, short=True)} -> {storage.summary_dir}")
        for note in summary_notes(summary):
            log(f"  {note}")
        try:  # the HTML report only shows these files: a problem with it never fails the summary
            from alfred.results.report import write_storage_report

            log(f"report of {storage.name}: {write_storage_report(storage.path)}")
        except Exception as e:
            log(f"report of {storage.name} not written: {type(e).__name__}: {e}")
        out.append(FinishedReport(storage.path, "summarized", str(storage.summary_dir)))
    return out


def failed_summaries_line(reports: list[FinishedReport], *, from_file: Path | None = None) -> str | None:
    """The line that ends a launch whose automatic summary failed (None when none did): which
    storage dirs, where the reason is, and the command that redoes them."""
    failed = [r for r in reports if r.action == "failed"]
    if not failed:
        return None
    names = ", ".join(r.storage_dir.name for r in failed[:3])
    names += f" and {len(failed) - 3} more" if len(failed) > 3 else ""
    where = f"--from_file {from_file}" if from_file is not None else "--storage_names " + " ".join(
        r.storage_dir.name for r in failed)
    return (f"automatic summary FAILED for {len(failed)} storage dir(s) ({names}): the reason is in each one's "
            f"{SUMMARY_FAILED}; fix it, then: python -m alfred.benchmark {where} --re_run_if_exists "
            "(with the results flags it needs)")
