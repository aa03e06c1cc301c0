"""Send interrupted seeds (and, on request, crashed ones) back to UNHATCHED.

A seed is interrupted when its worker is gone: OPENED names a dead pid on this host, or
its heartbeat is older than the stale threshold. Live runs and COMPLETED seeds are never
touched; the previous attempt's files move to <seed>/attempts/<n>/, nothing is deleted.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from alfred.utils import flags
from alfred.utils.config import parse_bool
from alfred.utils.directory_tree import CLEAN_LOCK, PLOT_ARRAYS_ONGOING, SUMMARY_ONGOING, DirectoryTree
from alfred.utils.flags import SeedState
from alfred.utils.misc import ask_yes_no, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs

LOCK_STALE_S = 3600.0


@dataclass
class CleanReport:
    storage_dir: Path
    counts: Counter = field(default_factory=Counter)
    to_reset: list[tuple[DirectoryTree, flags.SeedStatus]] = field(default_factory=list)
    reset: int = 0
    skipped_busy: bool = False
    stale_flags: list[Path] = field(default_factory=list)  # SUMMARY_ONGOING / PLOT_ARRAYS_ONGOING of dead owners
    removed_flags: int = 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.clean_interrupted", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    parser.add_argument("--over_tasks", action="store_true",
                        help="accepted for symmetry with launch_schedule: the list file's storage dirs "
                             "form one search over several tasks (cleaning treats each the same)")
    parser.add_argument("--clean_crashes", action="store_true",
                        help="also send crashed seeds (CRASH.txt) back to UNHATCHED")
    parser.add_argument("--stale_after_s", type=float, default=None,
                        help="heartbeat age in seconds after which a run on another host counts as "
                             f"interrupted (default: 5 heartbeats, at least {flags.MIN_STALE_S:.0f} s)")
    parser.add_argument("--ask_for_validation", type=parse_bool, default=True,
                        help="ask y/n before changing anything (default: true)")
    parser.add_argument("--yes", "-y", action="store_true", help="same as --ask_for_validation false")
    return parser


def survey(storage_dir: Path, *, clean_crashes: bool, stale_after_s: float | None) -> CleanReport:
    """Count seeds per state and list those a clean would reset; changes nothing."""
    report = CleanReport(storage_dir)
    now = time.time()
    for tree in DirectoryTree.iter_seed_trees(storage_dir):
        status = flags.read_status(tree, stale_after_s=stale_after_s, now=now)
        report.counts[status.state] += 1
        if status.state is SeedState.INTERRUPTED or (clean_crashes and status.state is SeedState.CRASHED):
            report.to_reset.append((tree, status))
    from alfred.utils.summary_flags import owner_is_dead

    for name in (SUMMARY_ONGOING, PLOT_ARRAYS_ONGOING):
        if owner_is_dead(storage_dir / name):
            report.stale_flags.append(storage_dir / name)
    return report


def apply(report: CleanReport, *, stale_after_s: float | None) -> CleanReport:
    """Reset the seeds ``survey`` found, holding the storage dir's clean lock.

    Each seed's state is read again just before its reset, so a seed that came back to
    life or finished since the survey is left alone.
    """
    if not _take_lock(report.storage_dir):
        report.skipped_busy = True
        return report
    try:
        for tree, old in report.to_reset:
            status = flags.read_status(tree, stale_after_s=stale_after_s)
            if status.state is old.state and flags.reset(tree, status):
                report.reset += 1
        from alfred.utils.summary_flags import remove_if_dead

        for path in report.stale_flags:  # checked again under a lock: a summariser may have taken it over
            report.removed_flags += remove_if_dead(path)
    finally:
        _release_lock(report.storage_dir)
    return report


def _take_lock(storage_dir: Path) -> bool:
    """One cleaner per storage dir at a time: O_CREAT|O_EXCL decides (atomic, NFSv3+ too).

    A lock left by a dead cleaner (dead pid on this host, or older than an hour) is broken.
    """
    path = storage_dir / CLEAN_LOCK
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not _lock_is_dead(path):
                return False
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            json.dump({"host": flags.HOSTNAME, "pid": os.getpid(), "pid_start": flags.pid_start_time(os.getpid()),
                       "time": time.time()}, f)
        return True
    return False


def _lock_is_dead(path: Path) -> bool:
    try:
        info = json.loads(path.read_text())
        age = time.time() - path.stat().st_mtime
    except (OSError, ValueError):
        return True
    if info.get("host") == flags.HOSTNAME:
        return not flags._pid_alive(info.get("pid", -1), info.get("pid_start"))
    return age > LOCK_STALE_S


def _release_lock(storage_dir: Path) -> None:
    try:
        os.unlink(storage_dir / CLEAN_LOCK)
    except FileNotFoundError:
        pass


def format_counts(report: CleanReport) -> str:
    order = [SeedState.UNHATCHED, SeedState.RUNNING, SeedState.INTERRUPTED, SeedState.CRASHED, SeedState.COMPLETED]
    counts = ", ".join(f"{report.counts.get(s, 0)} {s.value.lower()}" for s in order)
    return f"{report.storage_dir.name}: {counts}"


def clean(storage_dirs: list[Path], *, clean_crashes: bool = False, stale_after_s: float | None = None,
          confirm=None) -> list[CleanReport]:
    """Survey every storage dir, ask ``confirm(reports)`` once (if given), then reset."""
    reports = [survey(d, clean_crashes=clean_crashes, stale_after_s=stale_after_s) for d in storage_dirs]
    if not any(r.to_reset or r.stale_flags for r in reports):
        return reports
    if confirm is not None and not confirm(reports):
        return reports
    return [apply(r, stale_after_s=stale_after_s) if r.to_reset or r.stale_flags else r for r in reports]


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    asked = args.ask_for_validation and not args.yes

    def confirm(reports: list[CleanReport]) -> bool:
        for r in reports:
            print(format_counts(r))
            for tree, status in r.to_reset:
                print(f"  will reset {tree.get_run_name()} ({status.state.value.lower()}: {status.reason or 'crash'})")
            for path in r.stale_flags:
                print(f"  will remove {path.name}: the summary process that wrote it is gone")
        n = sum(len(r.to_reset) for r in reports)
        n_flags = sum(len(r.stale_flags) for r in reports)
        question = f"Reset these {n} seed(s) to UNHATCHED?" if n else ""
        if n_flags:
            question = (question[:-1] + f" and remove {n_flags} stale flag(s)?") if n else \
                f"Remove these {n_flags} stale flag(s)?"
        return ask_yes_no(question) if asked else True

    reports = clean(storage_dirs, clean_crashes=args.clean_crashes, stale_after_s=args.stale_after_s, confirm=confirm)
    busy = [r for r in reports if r.skipped_busy]
    total = sum(r.reset for r in reports)
    pending = sum(len(r.to_reset) for r in reports)
    for r in reports:
        print(f"{format_counts(r)} -> reset {r.reset}")
        if r.removed_flags:
            print(f"{r.storage_dir.name}: removed {r.removed_flags} stale summary flag(s)")
    for r in busy:
        print(f"skipped {r.storage_dir.name}: another clean_interrupted holds {r.storage_dir / CLEAN_LOCK}",
              file=sys.stderr)
    if pending and not total and not busy:
        print("nothing was reset")
        return 1 if asked else 0
    flags_removed = sum(r.removed_flags for r in reports)
    print(f"reset {total} seed(s) to UNHATCHED" if pending else ("no seed to reset" if flags_removed else "nothing to clean"))
    return 1 if busy else 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
