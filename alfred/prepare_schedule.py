"""Create the storage dirs of a search: one per (alg_name, task_name), every seed UNHATCHED.

    python -m alfred.prepare_schedule --schedule_file schedules/grid_schedule_demo.py --desc lr
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from alfred.protocol.storage_names import (
    check_name,
    check_storage_names_fit,
    folder_name_part,
    get_git_commits,
    git_hashes_field,
)
from alfred.search.build import discard_storage_dirs
from alfred.search.prepare import create_searches, describe_plan, other_kinds_listed, plan_searches, same_searches
from alfred.utils.config import add_bool_flag, positive_int
from alfred.utils.directory_tree import DirectoryTree, repos_to_track
from alfred.utils.misc import ask_yes_no, call_with_flags, cli_main, progress_bar
from alfred.utils.schedule import load_schedule
from alfred.utils.selection import append_to_list_file


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.prepare_schedule", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedule_file", type=Path, required=True,
                        help="path of a grid_schedule_<name>.py, random_schedule_<name>.py or "
                             "adaptive_schedule_<name>.py file")
    parser.add_argument("--desc", default=None,
                        help="a short description ending the storage names (default: the schedule's name)")
    parser.add_argument("--add_to_folder", default=None,
                        help="add this schedule's new experiments and seeds to an existing storage dir "
                             "instead of creating new ones")
    add_bool_flag(parser, "--resample",
                  help="random search: draw new experiments for every (alg, task) pair instead of sharing one "
                       "sample across them (default: false)")
    parser.add_argument("--root_dir", type=Path, default=None,
                        help="folder of the storage dirs (default: DirectoryTree.default_root, which the "
                             "schedule may set; else ./storage)")
    parser.add_argument("--max_experiments", type=positive_int, default=100_000,
                        help="refuse a search of more runs (experiments x seeds) per storage dir than this, "
                             "before anything else is checked (a grid makes the product of its VARIATIONS lists' "
                             "lengths in experiments; default: 100000)")
    add_bool_flag(parser, "--yes", "-y", help="create without asking for confirmation")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # may set DirectoryTree.default_root; the size is checked first, from the lists' lengths
    schedule = load_schedule(args.schedule_file, max_runs=args.max_experiments)
    root = Path(args.root_dir or DirectoryTree.default_root)
    desc = check_name("desc", args.desc if args.desc is not None else schedule.name)
    add_to = None
    if args.add_to_folder is not None:
        add_to = Path(args.add_to_folder) if os.sep in args.add_to_folder else root / args.add_to_folder
    commits = get_git_commits(repos_to_track())
    if add_to is None:
        check_storage_names_fit(root, git_hashes=git_hashes_field(commits), alg_names=schedule.alg_names,
                                task_names=schedule.task_names, kind=schedule.kind, desc=desc)
    plans = plan_searches(schedule, add_to_folder=add_to, resample=args.resample)
    for field_name, values in (("alg_name", schedule.alg_names), ("task_name", schedule.task_names)):
        for v in values:
            if "_" in v and add_to is None:
                print(f"note: {field_name} {v!r} appears as {folder_name_part(v)!r} in folder names "
                      "('_' separates their fields); config.json keeps it as is")
    print(describe_plan(schedule, plans, desc, root))
    total = sum(p.n_seed_folders(schedule.seeds) for p in plans)
    if total == 0 and schedule.kind != "adaptive":  # an adaptive search's workers may make all its experiments
        print("nothing to create: every experiment and seed already exists")
        return 0
    question = "Create them?"
    if add_to is None and (repeated := same_searches(root, plans, f"{schedule.kind}_{desc}")):
        names = ", ".join(p.name for p in repeated[:3]) + (f" and {len(repeated) - 3} more" if len(repeated) > 3
                                                           else "")
        print(f"note: {root} already holds this {schedule.kind} search with desc {desc!r} ({names}): preparing it "
              f"again makes a second copy of every seed, and {schedule.list_searches_path.name} would launch both. "
              f"To add to it: --add_to_folder {repeated[0].name}; for a new search: --desc <another name>")
        question = "Create a second copy anyway?"
    if add_to is None and (others := other_kinds_listed(schedule.list_searches_path, schedule.kind)):
        listed = ", ".join(f"{n} {kind} search{'es' if n > 1 else ''}" for kind, n in others.items())
        print(f"note: {schedule.list_searches_path} also lists {listed}: grid and random schedules of the same name "
              "share one list file, so launching it runs them all (name the schedules apart to keep them apart)")
    if not args.yes and not ask_yes_no(question):
        print("aborted: nothing was created")
        return 1
    root.mkdir(parents=True, exist_ok=True)
    with progress_bar(total, unit="seed", desc="creating") as progress:
        created = create_searches(schedule, plans, desc=desc, root=root, commits=commits, progress=progress)
    if add_to is None:
        try:
            append_to_list_file(schedule.list_searches_path, root, [p.name for p in created])
        except BaseException:  # e.g. a full disk: searches no list names are taken back, nothing is half-made
            discard_storage_dirs(created)
            raise
    for path in created:
        print(f"{'extended' if add_to else 'created'} {path}")
    if add_to is None:
        print(f"storage names appended to {schedule.list_searches_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def prepare_schedule(desc=None, schedule_file=None, root_dir=None, add_to_folder=None, resample=None, logger=None,
                     ask_for_validation=True, **flags) -> int:
    """Python entry point, 0.2's call form ``prepare_schedule(desc, schedule_file, root_dir, add_to_folder,
    resample, logger, ask_for_validation)``; other flags as keywords. Returns the exit code, raises
    AlfredError on bad input."""
    return call_with_flags(run, build_parser(), {
        "desc": desc, "schedule_file": schedule_file, "root_dir": root_dir, "add_to_folder": add_to_folder,
        "resample": resample, "logger": logger, "ask_for_validation": ask_for_validation, **flags})


# 0.2 names ----------------------------------------------------------------------------------
# The building blocks 0.2's prepare_schedule exposed: alfred.search.prepare_legacy, loaded on use.

def get_prepare_schedule_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


def extract_schedule_grid(schedule_module: str) -> tuple:
    """See alfred.search.prepare_legacy.extract_schedule_grid."""
    from alfred.search import prepare_legacy

    return prepare_legacy.extract_schedule_grid(schedule_module)


def extract_schedule_random(schedule_module: str) -> tuple:
    """See alfred.search.prepare_legacy.extract_schedule_random."""
    from alfred.search import prepare_legacy

    return prepare_legacy.extract_schedule_random(schedule_module)


def create_experiment_dir(storage_name_id, config, config_unique_dict, SEEDS, root_dir, git_hashes=None):
    """See alfred.search.prepare_legacy.create_experiment_dir."""
    from alfred.search import prepare_legacy

    return prepare_legacy.create_experiment_dir(storage_name_id, config, config_unique_dict, SEEDS, root_dir,
                                                git_hashes)


if __name__ == "__main__":
    sys.exit(main())
