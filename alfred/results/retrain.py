"""Retraining the best configuration of searches with more seeds (and, optionally, more budget).

For each search storage dir, a new storage dir with one experiment: the best experiment's
config, ``n_seeds`` new seeds (distinct from the search's), desc ``retrainBest_<desc>``, and
each ``budget_params`` hyperparameter (e.g. n_steps) multiplied by ``factor`` (an adaptive search's
``resource_key`` set to its max_resource first: the retrain is a plain search at full budget). The best
experiment comes from ``summary/bestConfig_exp<N>.json`` when the summary exists (and no
performance setting is given), else the summary's selection is run (nothing is written).

With ``over_tasks`` the storage dirs are one search over several tasks (same experiments in
each). Per algorithm, the best experiment is the one with the best aggregate over tasks:
each task's experiment scores are min-max normalised (1 = that task's best experiment, 0 =
its worst), then averaged over tasks (``mean``) or reduced by their interquartile mean (``iqm``).

The source storage dir records its retrain dirs in ``retrains.json``, so asking again
creates nothing new; the record is read and written under the source's ``RETRAIN_ONGOING``
lock, so two processes at once make one retrain.
"""
from __future__ import annotations

import json
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from alfred.protocol import locks
from alfred.protocol.layout import RETRAIN_DESC_PREFIX, RETRAIN_LOCK, SeedDir, StorageDir, seed_dir_name
from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs
from alfred.protocol.storage_names import StorageName, folder_name_part, get_git_commits, git_hashes_field
from alfred.results.scoring import compute_search_scores, select_best
from alfred.results.settings import RESULTS_KEYS, recorded_defaults, resolve_settings
from alfred.search.build import build_storage_dir, write_seed_folder
from alfred.utils.config import load_dict_from_json, read_json_or_empty, save_dict_to_json
from alfred.utils.misc import AlfredError
from alfred.utils.selection import append_to_list_file, read_list_file

__all__ = ["RetrainPlan", "best_of_search", "best_over_tasks", "plan_retrain", "create_retrain", "append_new",
           "retrain_commits", "inherited_results"]

RETRAIN_STALE_S = 3600.0  # a RETRAIN_ONGOING of another host this old counts as abandoned
LOCK_WAIT_S = 120.0  # how long to wait for another process creating a retrain of the same search


@dataclass
class RetrainPlan:
    source: Path
    best_experiment: int
    config: dict  # full config.json of the new runs, seed and desc set per seed
    unique: dict  # config_unique.json without seed
    seeds: list[int]
    desc: str
    existing: Path | None = None  # a retrain dir made earlier with the same settings
    results: dict | None = None  # the retrain's RESULTS (inherited_results)
    budget_params: list = field(default_factory=list)  # the hyperparameters multiplied by the time factor

    @property
    def key(self) -> dict:
        return {"best_experiment": self.best_experiment, "n_seeds": len(self.seeds), "unique": self.unique}


# ----------------------------------------------------------------------------- choosing the best
def _strip(config: dict, *keys: str) -> dict:
    return {k: v for k, v in config.items() if k not in keys}


def _existing_best(storage_dir: Path) -> int | None:
    found = StorageDir(storage_dir).best_configs()
    return found[0][0] if len(found) == 1 else None


def best_of_search(storage_dir: Path, overrides: dict, use_summary: bool) -> int:
    if use_summary:
        best = _existing_best(storage_dir)
        if best is not None:
            return best
    return select_best(storage_dir, overrides, n_resamples=1)[0]


def best_over_tasks(storage_dirs: list[Path], overrides: dict, aggregation: str) -> dict[Path, int]:
    """Per algorithm, the experiment with the best aggregate of min-max normalised task scores."""
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
    return {seed for _, experiment_dir in list_experiment_dirs(storage_dir)
            for seed, _ in list_seed_dirs(experiment_dir)}


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
    return read_json_or_empty(StorageDir(storage_dir).retrains_record) or {"retrains": []}


def _existing_retrain(plan: RetrainPlan) -> Path | None:
    """A retrain dir recorded in the source's retrains.json with the same settings, if it exists."""
    for entry in _record(plan.source).get("retrains", []):
        path = plan.source.parent / entry.get("storage_name", "")
        if entry.get("key") == json.loads(json.dumps(plan.key)) and entry.get("storage_name") and path.is_dir():
            return path
    return None


def inherited_results(storage_dir: Path, overrides: dict | None = None) -> dict:
    """The RESULTS a retrain of this search keeps: the search's RESULTS, then the settings its
    summary used (flags given to that summary included), then ``overrides`` (this command's flags)."""
    from alfred.results.summary import read_summary

    results = recorded_defaults(storage_dir)
    summarised = (read_summary(storage_dir) or {}).get("settings") or {}
    for source in (summarised, overrides or {}):
        results.update({k: v for k, v in source.items() if k in RESULTS_KEYS and v is not None})
    return results


def retrain_commits(storage_dir: Path) -> dict:
    """The commits a retrain records and names: those of every repo the search tracked (including
    those its main.py registered), at their current HEAD, plus any this process tracks."""
    from alfred.utils.directory_tree import DirectoryTree, repos_to_track

    recorded = read_json_or_empty(StorageDir(storage_dir).prepare_info).get("git") or {}
    repos = {name: r["path"] for name, r in recorded.items() if isinstance(r, dict) and "path" in r}
    repos = {**repos, **DirectoryTree.git_repos_to_track} if repos else repos_to_track()
    return get_git_commits(repos)


BUDGET_PARAMS_02 = ("max_episodes", "max_steps")  # 0.2 multiplied the first of these the config sets


def plan_retrain(storage_dir: Path, best: int, *, n_seeds: int, factor: float, budget_params: list[str] | None,
                 overrides: dict | None = None) -> RetrainPlan:
    """``budget_params`` None: 0.2's rule, the first of max_episodes, max_steps the config sets to a number
    (none for an adaptive search: its resource_key set to max_resource is the full budget)."""
    from alfred.adaptive.spec import load_spec

    storage = StorageDir(storage_dir)
    experiment_dir = storage.experiment_dir(best)
    seed_dirs = list_seed_dirs(experiment_dir) if experiment_dir.is_dir() else []
    if not seed_dirs:
        raise AlfredError(f"best experiment{best} of {storage.name} has no seed folder")
    tree = SeedDir(seed_dirs[0][1])
    config = load_dict_from_json(tree.config_path)
    unique = _strip(load_dict_from_json(tree.config_unique_path), "seed")
    spec = load_spec(storage.path)
    if spec is not None:  # an adaptive search's runs may have stopped early: the retrain gets the full budget
        if spec.resource_key:
            config[spec.resource_key] = unique[spec.resource_key] = spec.max_resource
        budget_params = [] if budget_params is None else budget_params  # max_resource is the budget, not x factor
    if budget_params is None:
        budget_params = [n for n in BUDGET_PARAMS_02 if isinstance(config.get(n), (int, float))
                         and not isinstance(config.get(n), bool)][:1]
    config = _apply_budget(config, budget_params, factor, tree.config_path)
    for name in budget_params:
        unique[name] = config[name]
    parsed = StorageName.parse(storage.name)
    orig_desc = parsed.desc if parsed else str(config.get("desc") or storage.require_kind())
    desc = f"{RETRAIN_DESC_PREFIX}{orig_desc}"
    start = max(_search_seeds(storage.path), default=0) + 1
    plan = RetrainPlan(storage.path, best, config, unique, list(range(start, start + n_seeds)), desc,
                       results=inherited_results(storage.path, overrides), budget_params=list(budget_params))
    plan.existing = _existing_retrain(plan)
    return plan


def create_retrain(plan: RetrainPlan, root: Path, commits: dict) -> Path:
    """Write the retrain storage dir (it appears whole, see alfred.search.build) and record it
    in the source's retrains.json; under the source's lock, so two processes make one retrain.

    Returns the retrain dir: the one just made, or the one another process made meanwhile.
    """
    lock = StorageDir(plan.source).flag(RETRAIN_LOCK)
    deadline = time.monotonic() + LOCK_WAIT_S
    while (claim := locks.claim_lock(lock, stale_after_s=RETRAIN_STALE_S)) is None:
        if time.monotonic() > deadline:
            holder = locks.read_lock(lock)
            raise AlfredError(f"{lock} is held by pid {holder.get('pid')} on {holder.get('host')} since "
                              f"{holder.get('time')}: another create_retrainbest is retraining {plan.source.name}; "
                              "try again when it is done")
        time.sleep(0.05)
    try:
        existing = _existing_retrain(plan)  # made by another process while this one waited
        if existing is not None:
            return existing
        made = _write_retrain(plan, root, commits)
        record = _record(plan.source)
        record.setdefault("retrains", []).append({"storage_name": made.name, "key": plan.key,
                                                  "created": time.strftime("%Y-%m-%d %H:%M:%S")})
        save_dict_to_json(record, StorageDir(plan.source).retrains_record)
        return made
    finally:
        locks.release_lock(claim)


def _write_retrain(plan: RetrainPlan, root: Path, commits: dict) -> Path:
    alg, task = plan.config.get("alg_name", "alg"), plan.config.get("task_name", "task")
    rest = "_".join((git_hashes_field(commits), folder_name_part(str(alg)), folder_name_part(str(task)), plan.desc))
    source_info = read_json_or_empty(StorageDir(plan.source).prepare_info)

    def write(tmp: Path) -> None:
        storage = StorageDir(tmp)
        info = {"kind": "retrain", "alg_name": alg, "task_name": task, "desc": plan.desc, "seeds": plan.seeds,
                "retrain_of": plan.source.name, "best_experiment": plan.best_experiment,
                "created": time.strftime("%Y-%m-%d %H:%M:%S"), "host": socket.gethostname(),
                "command": " ".join(sys.argv), "git": commits}
        if plan.results:
            info["results"] = plan.results
        if source_info.get("defaults"):
            info["defaults"] = source_info["defaults"]
        save_dict_to_json(info, storage.prepare_info)
        storage.kind_flag("retrain").touch()
        experiment_dir = storage.experiment_dir(1)
        experiment_dir.mkdir()
        for seed in plan.seeds:
            config = {**plan.config, "seed": seed, "desc": plan.desc}
            write_seed_folder(experiment_dir / seed_dir_name(seed), config, {**plan.unique, "seed": seed})

    return build_storage_dir(root, rest, write)


def append_new(list_path: Path, root: Path, names: list[str]) -> list[str]:
    """Append to a list file the names it does not hold yet; returns those names."""
    have = {n for n, _ in read_list_file(list_path)} if list_path.is_file() else set()
    new = [n for n in dict.fromkeys(names) if n not in have]
    if new:
        append_to_list_file(list_path, root, new)
    return new
