"""Retrain the best configuration of each search with more seeds (and, optionally, more budget).

For each search storage dir, a new storage dir with one experiment: the best experiment's
config, --n_retrain_seeds new seeds (distinct from the search's), desc retrainBest_<desc>,
and each --budget_params hyperparameter (e.g. n_steps) multiplied by --train_time_factor.
The best experiment comes from summary/bestConfig_exp<N>.json when the summary exists (and
no performance flag is given), else the summary's selection is run (nothing is written).

--over_tasks: the list's storage dirs are one search over several tasks (same experiments
in each). Per algorithm, the best experiment is the one with the best aggregate over
tasks: each task's experiment scores are min-max normalised (1 = that task's best
experiment, 0 = its worst), then averaged over tasks (--over_tasks_aggregation mean) or
reduced by their interquartile mean (iqm).

The new storage names are appended to list_retrains_<name>.txt beside the list file read
(or beside the storage dir with --storage_name); launch them with launch_schedule
--from_file. The source storage dir records its retrain dirs in retrains.json, so running
this again creates nothing new.
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alfred.utils.config import load_dict_from_json, save_dict_to_json
from alfred.utils.directory_tree import (RETRAIN_BEST, RETRAIN_DESC_PREFIX, RETRAINS_RECORD, SUMMARY_DIR, DirectoryTree,
                                         StorageName, get_git_commits, git_hashes_field, repos_to_track)
from alfred.utils.misc import AlfredError, ask_yes_no, cli_main
from alfred.utils.selection import add_selection_args, append_to_list_file, read_list_file, select_storage_dirs

PREPARE_INFO = "prepare_info.json"


@dataclass
class RetrainPlan:
    source: Path
    best_experiment: int
    config: dict  # full config.json of the new runs, seed and desc set per seed
    unique: dict  # config_unique.json without seed
    seeds: list[int]
    desc: str
    existing: Path | None = None  # a retrain dir made earlier with the same settings

    @property
    def key(self) -> dict:
        return {"best_experiment": self.best_experiment, "n_seeds": len(self.seeds), "unique": self.unique}


def build_parser() -> argparse.ArgumentParser:
    from alfred.benchmark import add_results_args

    parser = argparse.ArgumentParser(prog="python -m alfred.create_retrainbest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser, storage_help="search storage dir")
    parser.add_argument("--over_tasks", action="store_true",
                        help="pick, per algorithm, the experiment best on the aggregate over the tasks of the list")
    parser.add_argument("--over_tasks_aggregation", choices=("mean", "iqm"), default="mean",
                        help="how normalised per-task scores are combined with --over_tasks (default: mean)")
    parser.add_argument("--n_retrain_seeds", type=int, default=10, help="seeds of the retrain (default: 10)")
    parser.add_argument("--train_time_factor", type=float, default=2.0,
                        help="factor applied to each --budget_params hyperparameter (default: 2.0)")
    parser.add_argument("--budget_params", nargs="*", default=[],
                        help="numeric hyperparameter(s) of the config that set the training budget, e.g. n_steps "
                             "(default: none, the budget is kept)")
    add_results_args(parser)
    parser.add_argument("--yes", "-y", action="store_true", help="create without asking for confirmation")
    return parser


# ----------------------------------------------------------------------------- choosing the best
def _strip(config: dict, *keys: str) -> dict:
    return {k: v for k, v in config.items() if k not in keys}


def _existing_best(storage_dir: Path) -> int | None:
    found = sorted((storage_dir / SUMMARY_DIR).glob("bestConfig_exp*.json"))
    if len(found) != 1:
        return None
    try:
        return int(found[0].stem[len("bestConfig_exp"):])
    except ValueError:
        return None


def best_of_search(storage_dir: Path, overrides: dict, use_summary: bool) -> int:
    from alfred.benchmark import select_best

    if use_summary:
        best = _existing_best(storage_dir)
        if best is not None:
            return best
    return select_best(storage_dir, overrides, n_resamples=1)[0]


def best_over_tasks(storage_dirs: list[Path], overrides: dict, aggregation: str) -> dict[Path, int]:
    """Per algorithm, the experiment with the best aggregate of min-max normalised task scores."""
    from alfred.benchmark import resolve_settings, compute_search_scores
    from alfred.utils.stats import iqm

    groups: dict[str, list] = {}
    for d in storage_dirs:
        settings = resolve_settings(d, {**overrides, "y_error_bars": "none"})
        s = compute_search_scores(d, settings, n_resamples=1)
        alg = next((c.get("alg_name") for c in s.configs.values() if c.get("alg_name")), d.name)
        groups.setdefault(str(alg), []).append((d, s))
    chosen = {}
    for alg, members in groups.items():
        keyed = []  # per task: config key -> (experiment number, normalised score)
        for d, s in members:
            p = s.point.copy()
            if s.settings.lower_is_better:
                p = -p
            lo, hi = np.nanmin(p), np.nanmax(p)
            norm = (p - lo) / (hi - lo) if hi > lo else np.where(np.isfinite(p), 1.0, np.nan)
            keyed.append({json.dumps(_strip(s.configs[e], "task_name", "seed"), sort_keys=True): (e, norm[i])
                          for i, e in enumerate(s.experiments)})
        common = set(keyed[0]).intersection(*keyed[1:])
        if not common:
            raise AlfredError(f"--over_tasks: the storage dirs of {alg} share no experiment config across tasks "
                              f"({', '.join(d.name for d, _ in members)}): were they prepared from one schedule?")
        best_key, best_val = None, -np.inf
        for key in sorted(common):
            vals = np.array([k[key][1] for k in keyed], dtype=float)
            agg = float(np.nanmean(vals)) if aggregation == "mean" else float(iqm(vals, axis=None))
            if np.isfinite(agg) and agg > best_val:
                best_key, best_val = key, agg
        if best_key is None:
            raise AlfredError(f"--over_tasks: no experiment of {alg} has a finite score on every task")
        for (d, _), k in zip(members, keyed):
            chosen[d] = k[best_key][0]
    return chosen


# ----------------------------------------------------------------------------- planning
def _search_seeds(storage_dir: Path) -> set[int]:
    seeds = set()
    for experiment_dir in DirectoryTree.get_experiment_dirs(storage_dir):
        seeds.update(DirectoryTree(s).seed for s in DirectoryTree.get_seed_dirs(experiment_dir))
    return seeds


def _apply_budget(config: dict, budget_params: list[str], factor: float, where: Path) -> dict:
    out = dict(config)
    for name in budget_params:
        if name not in config:
            valid = sorted(k for k, v in config.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                           and k != "seed")
            raise AlfredError(f"--budget_params {name!r} is not a hyperparameter of {where}; numeric ones: "
                              f"{', '.join(valid) or 'none'}")
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AlfredError(f"--budget_params {name!r} is {value!r} in {where}: it must be a number to be "
                              "multiplied by --train_time_factor")
        out[name] = int(round(value * factor)) if isinstance(value, int) else value * factor
    return out


def _record(storage_dir: Path) -> dict:
    path = storage_dir / RETRAINS_RECORD
    return load_dict_from_json(path) if path.is_file() else {"retrains": []}


def plan_retrain(storage_dir: Path, best: int, *, n_seeds: int, factor: float, budget_params: list[str]) -> RetrainPlan:
    from alfred.benchmark import storage_kind

    experiment_dir = storage_dir / DirectoryTree.experiment_dir_name(best)
    seed_dirs = DirectoryTree.get_seed_dirs(experiment_dir) if experiment_dir.is_dir() else []
    if not seed_dirs:
        raise AlfredError(f"best experiment{best} of {storage_dir.name} has no seed folder")
    tree = DirectoryTree(seed_dirs[0])
    config = load_dict_from_json(tree.config_path)
    unique = _strip(load_dict_from_json(tree.config_unique_path), "seed")
    config = _apply_budget(config, budget_params, factor, tree.config_path)
    for name in budget_params:
        unique[name] = config[name]
    parsed = StorageName.parse(storage_dir.name)
    orig_desc = parsed.desc if parsed else str(config.get("desc") or storage_kind(storage_dir))
    desc = f"{RETRAIN_DESC_PREFIX}{orig_desc}"
    start = max(_search_seeds(storage_dir), default=0) + 1
    plan = RetrainPlan(storage_dir, best, config, unique, list(range(start, start + n_seeds)), desc)
    for entry in _record(storage_dir).get("retrains", []):
        path = storage_dir.parent / entry.get("storage_name", "")
        if entry.get("key") == json.loads(json.dumps(plan.key)) and path.is_dir() and entry.get("storage_name"):
            plan.existing = path
    return plan


# ----------------------------------------------------------------------------- writing
def create_retrain(plan: RetrainPlan, root: Path, commits: dict) -> Path:
    """Write the retrain storage dir (all at once: prepare_schedule's temporary folder swapped in by rename)."""
    from alfred.prepare_schedule import build_storage_dir, write_seed_folder
    from alfred.utils.directory_tree import folder_name_part

    alg, task = plan.config.get("alg_name", "alg"), plan.config.get("task_name", "task")
    rest = "_".join((git_hashes_field(commits), folder_name_part(str(alg)), folder_name_part(str(task)), plan.desc))
    source_info = load_dict_from_json(plan.source / PREPARE_INFO) if (plan.source / PREPARE_INFO).is_file() else {}

    def write(tmp: Path) -> None:
        info = {"kind": "retrain", "alg_name": alg, "task_name": task, "desc": plan.desc, "seeds": plan.seeds,
                "retrain_of": plan.source.name, "best_experiment": plan.best_experiment,
                "created": time.strftime("%Y-%m-%d %H:%M:%S"), "host": socket.gethostname(),
                "command": " ".join(sys.argv), "git": commits}
        if source_info.get("results"):
            info["results"] = source_info["results"]
        save_dict_to_json(info, tmp / PREPARE_INFO)
        (tmp / RETRAIN_BEST).touch()
        experiment_dir = tmp / DirectoryTree.experiment_dir_name(1)
        experiment_dir.mkdir()
        for seed in plan.seeds:
            config = {**plan.config, "seed": seed, "desc": plan.desc}
            write_seed_folder(experiment_dir / DirectoryTree.seed_dir_name(seed), config, {**plan.unique, "seed": seed})

    reserved = build_storage_dir(root, rest, write)
    record = _record(plan.source)
    record.setdefault("retrains", []).append({"storage_name": reserved.name, "key": plan.key,
                                              "created": time.strftime("%Y-%m-%d %H:%M:%S")})
    save_dict_to_json(record, plan.source / RETRAINS_RECORD)
    return reserved


def list_retrains_path(from_file: Path | None, storage_dir: Path) -> Path:
    if from_file is not None:
        stem = Path(from_file).stem
        name = stem[len("list_searches_"):] if stem.startswith("list_searches_") else stem
        return Path(from_file).parent / f"list_retrains_{name}.txt"
    return storage_dir.parent / f"list_retrains_{storage_dir.name}.txt"


def _append_new(list_path: Path, root: Path, names: list[str]) -> list[str]:
    have = {n for n, _ in read_list_file(list_path)} if list_path.is_file() else set()
    new = [n for n in dict.fromkeys(names) if n not in have]
    if new:
        append_to_list_file(list_path, root, new)
    return new


def run(argv: list[str] | None = None) -> int:
    from alfred.benchmark import storage_kind

    args = build_parser().parse_args(argv)
    if args.n_retrain_seeds < 1:
        raise AlfredError(f"--n_retrain_seeds must be >= 1, got {args.n_retrain_seeds}")
    if not args.train_time_factor > 0:
        raise AlfredError(f"--train_time_factor must be > 0, got {args.train_time_factor}")
    if args.performance_aggregation is not None:
        from alfred.utils.results import check_aggregation
        check_aggregation(args.performance_aggregation)
    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    for d in storage_dirs:
        if storage_kind(d) == "retrain":
            raise AlfredError(f"{d.name} is already a retrain storage dir: pass the search it came from")
    overrides = {"performance_metric": args.performance_metric, "y_metric": args.performance_metric,
                 "performance_aggregation": args.performance_aggregation, "lower_is_better": args.lower_is_better,
                 "recorder_name": args.recorder_name}
    use_summary = all(v is None for v in overrides.values())
    if args.over_tasks:
        best = best_over_tasks(storage_dirs, overrides, args.over_tasks_aggregation)
    else:
        best = {d: best_of_search(d, overrides, use_summary) for d in storage_dirs}
    plans = [plan_retrain(d, best[d], n_seeds=args.n_retrain_seeds, factor=args.train_time_factor,
                          budget_params=args.budget_params) for d in storage_dirs]
    for p in plans:
        state = f"exists: {p.existing.name}" if p.existing else f"new: {len(p.seeds)} seeds {p.seeds[0]}..{p.seeds[-1]}"
        budget = ", ".join(f"{k}={p.config[k]}" for k in args.budget_params)
        print(f"{p.source.name}: best experiment{p.best_experiment} -> {p.desc} ({state}"
              + (f"; {budget}" if budget else "") + ")")
    todo = [p for p in plans if p.existing is None]
    names = []
    if todo:
        if not args.yes and not ask_yes_no(f"Create {len(todo)} retrain storage dir(s)?"):
            print("aborted: nothing was created")
            return 1
        commits = get_git_commits(repos_to_track())
        for p in todo:
            p.existing = create_retrain(p, p.source.parent, commits)
            print(f"created {p.existing}")
    else:
        print("nothing to create: every retrain exists already")
    list_path = list_retrains_path(args.from_file, storage_dirs[0])
    for root in dict.fromkeys(p.existing.parent for p in plans):
        names = [p.existing.name for p in plans if p.existing.parent == root]
        added = _append_new(list_path, root, names)
        if added:
            print(f"storage names appended to {list_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
