"""Send interrupted seeds (and, on request, crashed ones) back to UNHATCHED.

A seed is interrupted when its worker is gone: OPENED names a dead pid on this host, or
its heartbeat is older than the stale threshold. Live runs and COMPLETED seeds are never
touched; the previous attempt's files move to <seed>/attempts/<n>/, nothing is deleted.
"""
from __future__ import annotations

import argparse
import sys

from alfred.protocol.layout import CLEAN_LOCK, StorageDir
from alfred.search.clean import clean, format_counts
from alfred.utils.config import add_bool_flag, add_stale_after_arg
from alfred.utils.misc import ask_yes_no, call_with_flags, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.clean_interrupted", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    add_bool_flag(parser, "--over_tasks",
                  help="accepted for symmetry with launch_schedule: the list file's storage dirs form one search "
                       "over several tasks (cleaning treats each the same)")
    add_bool_flag(parser, "--clean_crashes", help="also send crashed seeds (CRASH.txt) back to UNHATCHED")
    add_stale_after_arg(parser)
    add_bool_flag(parser, "--ask_for_validation", default=True, help="ask y/n before changing anything (default: true)")
    add_bool_flag(parser, "--yes", "-y", help="same as --ask_for_validation false")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    asked = args.ask_for_validation and not args.yes

    def confirm(reports: list) -> bool:
        for r in reports:
            print(format_counts(r))
            for tree, status in r.to_reset:
                print(f"  will reset {tree.get_run_name()} ({status.state.value.lower()}: {status.reason or 'crash'})")
            for path in r.stale_flags:
                print(f"  will remove {path.name}: the summary process that wrote it is gone")
            for seed_dir, step in r.to_unpause:
                print(f"  will send back {seed_dir}: promoted out of step {step}, left PAUSED by its promoter")
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
        print(f"{format_counts(r)} -> reset {r.reset}" + (f", completed {r.completed}" if r.completed else "")
              + (f", sent back {r.unpaused} promoted seed(s) left PAUSED" if r.unpaused else ""))
        if r.taken_over:
            print(f"{r.storage_dir.name}: stopped: this clean was stopped long enough for another to take its lock "
                  "over; that one goes on", file=sys.stderr)
        for line in r.refused:
            print(f"  {line}")
        if r.removed_flags:
            print(f"{r.storage_dir.name}: removed {r.removed_flags} stale summary flag(s)")
    refused = [line for r in reports for line in r.refused]
    for r in busy:
        lock = StorageDir(r.storage_dir).flag(CLEAN_LOCK)
        print(f"skipped {r.storage_dir.name}: another clean_interrupted holds {lock}",
              file=sys.stderr)
    if pending and not total and not busy and not any(r.completed for r in reports):
        print("nothing was reset")
        return 1 if asked or refused else 0
    flags_removed = sum(r.removed_flags for r in reports)
    print(f"reset {total} seed(s) to UNHATCHED" if pending
          else ("no seed to reset" if flags_removed else "nothing to clean"))
    return 1 if busy or refused or any(r.taken_over for r in reports) else 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def clean_interrupted(from_file=None, storage_name=None, clean_crashes=False, ask_for_validation=True, logger=None,
                      root_dir=None, **flags) -> int:
    """Python entry point, 0.2's call form ``clean_interrupted(from_file, storage_name, clean_crashes,
    ask_for_validation, logger, root_dir)``; other flags as keywords. Returns the exit code, raises
    AlfredError on bad input."""
    return call_with_flags(run, build_parser(), {
        "from_file": from_file, "storage_name": storage_name, "clean_crashes": clean_crashes,
        "ask_for_validation": ask_for_validation, "logger": logger, "root_dir": root_dir, **flags})


# 0.2 names ----------------------------------------------------------------------------------

def get_clean_interrupted_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


if __name__ == "__main__":
    sys.exit(main())
