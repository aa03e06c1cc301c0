"""Cleaning: send interrupted seeds (and, on request, crashed ones) back to UNHATCHED.

A seed is interrupted when its worker is gone (alfred.protocol.seed_state decides). Live runs
and COMPLETED seeds are never touched; the previous attempt is recorded in
``<seed>/attempts/<n>/``, nothing is deleted. A seed left COMPLETING by a holder that died
while publishing its files is completed, never reset; an adaptive search's seed left PAUSED after
its promotion was decided is sent back to UNHATCHED (PRUNED and PAUSED seeds are never reset).
One cleaner per storage dir at a time: it holds the storage dir's ``CLEAN_ONGOING`` lock
(alfred.protocol.locks), refreshed while held, and checks before each seed that the lock is
still its own: a cleaner that was stopped and taken over stops before touching another seed
(and every step it had under way fails: see alfred.protocol.reset).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from alfred.protocol import locks
from alfred.protocol.fsio import DISK_FULL, real_dir_refusal, stall_point
from alfred.protocol.layout import (
    CLEAN_LOCK,
    COMPLETING,
    PLOT_ARRAYS_ONGOING,
    SUMMARY_ONGOING,
    SeedDir,
    StorageDir,
    paused_step,
)
from alfred.protocol.listing import iter_seed_dirs
from alfred.protocol.liveness import fs_now
from alfred.protocol.reset import reset, roll_forward
from alfred.protocol.seed_state import SeedState, SeedStatus, seed_state
from alfred.results.auto_summary import SUMMARY_STALE_S

__all__ = ["CleanReport", "survey", "apply", "clean", "format_counts"]

# A CLEAN_ONGOING of another host untouched this long counts as abandoned. Its holder touches it
# every 30 s (a tenth of it) while it cleans, and a cleaner stopped past it and taken over changes
# nothing when it resumes: 5 min, so that a cleaner killed on another node (the lock then judged by
# age) blocks cleaning for minutes, not an hour.
CLEAN_STALE_S = 300.0


@dataclass
class CleanReport:
    storage_dir: Path
    counts: Counter = field(default_factory=Counter)
    to_reset: list[tuple[SeedDir, SeedStatus]] = field(default_factory=list)
    reset: int = 0
    completed: int = 0  # seeds left COMPLETING, whose completion the clean finished
    to_unpause: list[tuple[str, int]] = field(default_factory=list)  # adaptive: promoted, left PAUSED.<step>
    unpaused: int = 0  # of those, sent back to UNHATCHED by this clean
    skipped_busy: bool = False
    taken_over: bool = False  # the clean lock was taken over while this cleaner was stopped: it stopped
    stale_flags: list[Path] = field(default_factory=list)  # SUMMARY_ONGOING / PLOT_ARRAYS_ONGOING of dead owners
    refused: list[str] = field(default_factory=list)  # links (or FIFOs, files) where folders belong: not followed
    removed_flags: int = 0


def survey(storage_dir: Path, *, clean_crashes: bool, stale_after_s: float | None) -> CleanReport:
    """Count seeds per state and list those a clean would reset (or complete); changes nothing."""
    report = CleanReport(storage_dir)
    now = fs_now(storage_dir)
    paused = []
    for _, _, seed_dir in iter_seed_dirs(storage_dir, report.refused):
        status = seed_state(seed_dir, stale_after_s=stale_after_s, now=now)
        report.counts[status.state] += 1
        if status.state is SeedState.PAUSED:
            paused.append((seed_dir, paused_step(status.flag)))
        if status.state is SeedState.INTERRUPTED or (clean_crashes and status.state is SeedState.CRASHED):
            tree = SeedDir(seed_dir)
            refusal = real_dir_refusal(tree.attempts_dir)  # a reset moves files there: never out of the seed
            if refusal is not None:
                report.refused.append(f"{refusal}: its seed is not reset (a reset moves files there)")
            else:
                report.to_reset.append((tree, status))
    if paused:  # a promotion decided (its marker made) whose promoter stopped before sending the seed back
        from alfred.search.adaptive_worker import promoted_but_paused

        report.to_unpause = promoted_but_paused(storage_dir, paused)
    storage = StorageDir(storage_dir)
    for name in (SUMMARY_ONGOING, PLOT_ARRAYS_ONGOING):
        if locks.owner_is_dead(storage.flag(name), SUMMARY_STALE_S):
            report.stale_flags.append(storage.flag(name))
    return report


def apply(report: CleanReport, *, stale_after_s: float | None) -> CleanReport:
    """Reset the seeds ``survey`` found, holding the storage dir's clean lock.

    Each seed's state is read again just before its reset, so a seed that came back to
    life or finished since the survey is left alone.
    """
    with locks.held(StorageDir(report.storage_dir).flag(CLEAN_LOCK), stale_after_s=CLEAN_STALE_S) as claim:
        if claim is None:
            report.skipped_busy = True
            return report
        cleaner = {**claim.info, "token": claim.token}
        for tree, old in report.to_reset:
            if not locks.owns(claim):
                report.taken_over = True
                return report
            status = seed_state(tree.seed_dir, stale_after_s=stale_after_s)
            if status.state is not old.state or status.flag != old.flag:
                continue
            stall_point("clean_before_seed")
            try:
                if status.flag and status.flag.startswith(COMPLETING + "."):
                    report.completed += roll_forward(tree.seed_dir, status)
                elif reset(tree.seed_dir, status, cleaner=cleaner):
                    report.reset += 1
            except OSError as e:
                if e.errno in DISK_FULL:
                    raise
                report.refused.append(f"{tree.seed_dir}: {e.filename or ''} {e.strerror or e}".replace("  ", " "))
        if report.to_unpause:
            from alfred.search.adaptive_worker import unpause

            report.unpaused = sum(unpause(seed_dir, step) for seed_dir, step in report.to_unpause)
        for path in report.stale_flags:  # checked again: a summariser may have taken it over meanwhile
            report.removed_flags += locks.remove_if_dead(path, SUMMARY_STALE_S)
    return report


def format_counts(report: CleanReport) -> str:
    order = [SeedState.UNHATCHED, SeedState.RUNNING, SeedState.INTERRUPTED, SeedState.CRASHED, SeedState.COMPLETED]
    order += [s for s in (SeedState.PRUNED, SeedState.PAUSED) if report.counts.get(s)]  # adaptive searches
    counts = ", ".join(f"{report.counts.get(s, 0)} {s.value.lower()}" for s in order)
    return f"{report.storage_dir.name}: {counts}"


def clean(storage_dirs: list[Path], *, clean_crashes: bool = False, stale_after_s: float | None = None,
          confirm=None) -> list[CleanReport]:
    """Survey every storage dir, ask ``confirm(reports)`` once (if given), then reset."""
    reports = [survey(d, clean_crashes=clean_crashes, stale_after_s=stale_after_s) for d in storage_dirs]
    if not any(r.to_reset or r.stale_flags or r.to_unpause for r in reports):
        return reports
    if confirm is not None and not confirm(reports):
        return reports
    return [apply(r, stale_after_s=stale_after_s) if r.to_reset or r.stale_flags or r.to_unpause else r
            for r in reports]
