"""Retrain the best configuration of each search with more seeds (and, optionally, more budget).

For each search storage dir, a new storage dir with one experiment: the best experiment's
config, --n_retrain_seeds new seeds (distinct from the search's), desc retrainBest_<desc>,
and each --budget_params hyperparameter (default, as in 0.2: max_episodes, else max_steps,
when the config sets it) multiplied by --train_time_factor. The best experiment is the one
--best_experiments_mapping names, else comes from summary/bestConfig_exp<N>.json when the
summary exists (and no performance flag is given), else the summary's selection is run
(nothing is written).

An adaptive search (prepared from an adaptive schedule) is ranked among the runs that reached
its highest rung, and its best is retrained at full budget: the config's resource_key set to
max_resource (no --train_time_factor unless --budget_params names a parameter), as a plain
search: its runs are never stopped at a rung.

--over_tasks: the list's storage dirs are one search over several tasks (same experiments
in each). Per algorithm, the best experiment is the one with the best aggregate over
tasks: each task's experiment scores are min-max normalised (1 = that task's best
experiment, 0 = its worst), then averaged over tasks (--over_tasks_aggregation mean) or
reduced by their interquartile mean (iqm).

The new storage names are appended to list_retrains_<name>.txt beside the list file read
(or beside the storage dir with --storage_name); launch them with launch_schedule
--from_file. The source storage dir records its retrain dirs in retrains.json, so running
this again creates nothing new. A retrain keeps the search's results settings (its RESULTS,
those its summary used, and the results flags given here) and the commits of every repo the
search tracked.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alfred.protocol.layout import StorageDir, list_retrains_path
from alfred.results.settings import add_results_args, check_aggregation, overrides_from
from alfred.utils.config import add_bool_flag
from alfred.utils.misc import AlfredError, ask_yes_no, call_with_flags, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.create_retrainbest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser, storage_help="search storage dir")
    add_bool_flag(parser, "--over_tasks",
                  help="pick, per algorithm, the experiment best on the aggregate over the tasks of the list")
    parser.add_argument("--over_tasks_aggregation", choices=("mean", "iqm"), default="mean",
                        help="how normalised per-task scores are combined with --over_tasks (default: mean)")
    parser.add_argument("--n_retrain_seeds", type=int, default=10, help="seeds of the retrain (default: 10)")
    parser.add_argument("--train_time_factor", type=float, default=2.0,
                        help="factor applied to each --budget_params hyperparameter (default: 2.0)")
    parser.add_argument("--budget_params", nargs="*", default=None,
                        help="numeric hyperparameter(s) of the config that set the training budget, e.g. n_steps; "
                             "none given: the budget is kept (default: max_episodes, else max_steps, when the "
                             "config sets it, as in 0.2)")
    parser.add_argument("--best_experiments_mapping", type=Path, default=None,
                        help="a JSON file {storage_name: experiment number}: retrain these experiments instead of "
                             "the best ones")
    add_results_args(parser)
    add_bool_flag(parser, "--yes", "-y", help="create without asking for confirmation")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from alfred.results.retrain import (
        append_new,
        best_of_search,
        best_over_tasks,
        create_retrain,
        plan_retrain,
        retrain_commits,
    )

    if args.n_retrain_seeds < 1:
        raise AlfredError(f"--n_retrain_seeds must be >= 1, got {args.n_retrain_seeds}")
    if not args.train_time_factor > 0:
        raise AlfredError(f"--train_time_factor must be > 0, got {args.train_time_factor}")
    if args.performance_aggregation is not None:
        check_aggregation(args.performance_aggregation)
    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    for d in storage_dirs:
        if StorageDir(d).require_kind() == "retrain":
            raise AlfredError(f"{d.name} is already a retrain storage dir: pass the search it came from")
    overrides = overrides_from(args)
    use_summary = all(v is None for v in overrides.values())  # else the flags may choose another best
    if args.best_experiments_mapping is not None:
        best = _mapped_best(args.best_experiments_mapping, storage_dirs)
    elif args.over_tasks:
        best = best_over_tasks(storage_dirs, overrides, args.over_tasks_aggregation)
    else:
        best = {d: best_of_search(d, overrides, use_summary) for d in storage_dirs}
    plans = [plan_retrain(d, best[d], n_seeds=args.n_retrain_seeds, factor=args.train_time_factor,
                          budget_params=args.budget_params, overrides=overrides) for d in storage_dirs]
    for p in plans:
        state = f"exists: {p.existing.name}" if p.existing else f"new: {len(p.seeds)} seeds {p.seeds[0]}..{p.seeds[-1]}"
        budget = ", ".join(f"{k}={p.config[k]}" for k in p.budget_params)
        print(f"{p.source.name}: best experiment{p.best_experiment} -> {p.desc} ({state}"
              + (f"; {budget}" if budget else "") + ")")
    todo = [p for p in plans if p.existing is None]
    if todo:
        if not args.yes and not ask_yes_no(f"Create {len(todo)} retrain storage dir(s)?"):
            print("aborted: nothing was created")
            return 1
        for p in todo:
            p.existing = create_retrain(p, p.source.parent, retrain_commits(p.source))
            print(f"created {p.existing}")
    else:
        print("nothing to create: every retrain exists already")
    list_path = list_retrains_path(args.from_file, storage_dirs[0])
    for root in dict.fromkeys(p.existing.parent for p in plans):
        names = [p.existing.name for p in plans if p.existing.parent == root]
        added = append_new(list_path, root, names)
        if added:
            print(f"storage names appended to {list_path}")
    return 0


def _mapped_best(path: Path, storage_dirs: list[Path]) -> dict[Path, int]:
    from alfred.utils.config import load_dict_from_json

    mapping = load_dict_from_json(path)
    best = {}
    for d in storage_dirs:
        value = mapping.get(d.name)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise AlfredError(f"{path} gives no experiment number for {d.name} (got {value!r}); it maps each "
                              "storage name to one, e.g. {\"" + d.name + "\": 3}")
        best[d] = value
    return best


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def create_retrain_best(from_file=None, storage_name=None, best_experiments_mapping=None, n_retrain_seeds=None,
                        train_time_factor=None, root_dir=None, **flags) -> int:
    """Python entry point, 0.2's call form ``create_retrain_best(from_file, storage_name,
    best_experiments_mapping, n_retrain_seeds, train_time_factor, root_dir)``; other flags as keywords
    (``ask_for_validation=False`` for --yes). Returns the exit code, raises AlfredError on bad input."""
    return call_with_flags(run, build_parser(), {
        "from_file": from_file, "storage_name": storage_name, "best_experiments_mapping": best_experiments_mapping,
        "n_retrain_seeds": n_retrain_seeds, "train_time_factor": train_time_factor, "root_dir": root_dir, **flags})


# 0.2 names ----------------------------------------------------------------------------------

def get_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


if __name__ == "__main__":
    sys.exit(main())
