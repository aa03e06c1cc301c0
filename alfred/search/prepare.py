"""A schedule becomes storage dirs: one per (alg_name, task_name), every seed UNHATCHED.

:func:`plan_searches` reads and decides what to create; :func:`create_searches` writes it
(each storage dir appears whole, see alfred.search.build).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alfred.protocol.layout import (
    CONFIG_UNIQUE,
    StorageDir,
    experiment_dir_name,
    experiment_num_of,
    seed_dir_name,
    seed_of,
)
from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs
from alfred.protocol.storage_names import folder_name_part, git_hashes_field
from alfred.search.build import (
    ConfigText,
    add_variations_group,
    build_storage_dir,
    reserve_experiment,
    swap_in,
    write_seed_folder,
)
from alfred.utils.config import load_dict_from_json, save_dict_to_json
from alfred.utils.misc import AlfredError, temp_sibling
from alfred.utils.schedule import RESERVED, Schedule

__all__ = ["StoragePlan", "plan_searches", "create_searches", "describe_plan", "same_searches", "other_kinds_listed"]


@dataclass
class StoragePlan:
    """What one storage dir will receive: new experiments and, with --add_to_folder, new seeds."""

    alg_name: str
    task_name: str
    new_experiments: list[dict[str, Any]]
    existing_dir: Path | None = None
    new_seeds: dict[Path, list[int]] = field(default_factory=dict)  # experiment dir -> seeds to add

    def n_seed_folders(self, seeds: list[int]) -> int:
        return len(self.new_experiments) * len(seeds) + sum(len(s) for s in self.new_seeds.values())


def plan_searches(schedule: Schedule, *, add_to_folder: Path | None = None,
                  resample: bool = False) -> list[StoragePlan]:
    """Decide what to create, reading but writing nothing."""
    if add_to_folder is not None:
        return [_plan_addition(schedule, add_to_folder)]
    pairs = [(a, t) for a in schedule.alg_names for t in schedule.task_names]
    if schedule.kind == "adaptive":  # the random sampler's configurations, at once; the others' by the workers
        from alfred.search.proposals import initial_experiments

        experiments = initial_experiments(schedule.adaptive)
        return [StoragePlan(a, t, experiments) for a, t in pairs]
    if schedule.kind == "grid":
        experiments = schedule.grid_experiments()
        return [StoragePlan(a, t, experiments) for a, t in pairs]
    shared = None if resample else schedule.sample_experiments(schedule.n_experiments)
    return [StoragePlan(a, t, shared if shared is not None else schedule.sample_experiments(schedule.n_experiments))
            for a, t in pairs]


def _plan_addition(schedule: Schedule, storage_dir: Path) -> StoragePlan:
    if not storage_dir.is_dir():
        raise AlfredError(f"--add_to_folder: storage dir {storage_dir} does not exist")
    from alfred.adaptive.spec import load_spec  # here: it imports numpy, and --help must stay cheap

    if schedule.kind == "adaptive" or load_spec(storage_dir) is not None:
        raise AlfredError("--add_to_folder: an adaptive search gets its experiments from its sampler, within its "
                          "budget, not from additions; prepare a new search (--desc <another name>)")
    kind = StorageDir(storage_dir).kind()
    if kind != schedule.kind:
        raise AlfredError(f"--add_to_folder: {storage_dir.name} is a {kind or 'unknown'} search, "
                          f"the schedule is a {schedule.kind} search")
    info = load_dict_from_json(StorageDir(storage_dir).prepare_info)
    alg, task = info["alg_name"], info["task_name"]
    if alg not in schedule.alg_names or task not in schedule.task_names:
        raise AlfredError(f"--add_to_folder: {storage_dir.name} holds alg_name {alg!r} and task_name {task!r}; "
                          f"the schedule has ALG_NAMES {schedule.alg_names} and TASK_NAMES {schedule.task_names}")
    if schedule.kind == "random":
        return StoragePlan(alg, task, schedule.sample_experiments(schedule.n_experiments), existing_dir=storage_dir)
    existing = {}
    for _, experiment_dir in list_experiment_dirs(storage_dir):
        seed_dirs = [Path(p) for _, p in list_seed_dirs(experiment_dir)]
        if seed_dirs:
            unique = load_dict_from_json(seed_dirs[0] / CONFIG_UNIQUE)
            key = json.dumps({k: v for k, v in unique.items() if k not in RESERVED}, sort_keys=True)
            existing[key] = (Path(experiment_dir), {seed_of(s) for s in seed_dirs})
    plan = StoragePlan(alg, task, [], existing_dir=storage_dir)
    for params in schedule.grid_experiments():
        key = json.dumps(params, sort_keys=True)
        if key in existing:
            experiment_dir, have = existing[key]
            missing = [s for s in schedule.seeds if s not in have]
            if missing:
                plan.new_seeds[experiment_dir] = missing
        else:
            plan.new_experiments.append(params)
    return plan


def _write_experiment(experiment_dir: Path | str, texts: ConfigText, schedule: Schedule, plan: StoragePlan,
                      desc: str, params: dict) -> None:
    experiment_dir = os.fspath(experiment_dir)
    os.mkdir(experiment_dir)
    lines = texts.experiment(plan.alg_name, plan.task_name, desc, params)
    for seed in schedule.seeds:
        write_seed_folder(os.path.join(experiment_dir, seed_dir_name(seed)),
                          *texts.seed_files(lines, seed))


def create_searches(schedule: Schedule, plans: list[StoragePlan], *, desc: str, root: Path,
                    commits: dict, progress=None) -> list[Path]:
    """Write the planned folders; returns the storage dirs created or extended."""
    storage_desc = f"{schedule.kind}_{desc}"
    texts = ConfigText(vars(schedule.default_config))
    done = []
    for plan in plans:
        if plan.existing_dir is not None:
            _extend_storage(schedule, plan, storage_desc, texts, progress)
            done.append(plan.existing_dir)
            continue
        rest = "_".join((git_hashes_field(commits), folder_name_part(plan.alg_name),
                         folder_name_part(plan.task_name), storage_desc))

        def write(tmp: Path, plan: StoragePlan = plan) -> None:
            _write_storage_files(tmp, schedule, plan, desc, commits)
            for n, params in enumerate(plan.new_experiments, start=1):
                _write_experiment(os.path.join(tmp, experiment_dir_name(n)), texts, schedule, plan,
                                  storage_desc, params)
                if progress:
                    progress(len(schedule.seeds))

        done.append(build_storage_dir(root, rest, write))
    return done


def _write_storage_files(storage_dir: Path, schedule: Schedule, plan: StoragePlan, desc: str, commits: dict) -> None:
    from alfred import defaults

    info = {"schedule_file": str(schedule.path), "kind": schedule.kind, "alg_name": plan.alg_name,
            "task_name": plan.task_name, "desc": desc, "seeds": schedule.seeds,
            "created": time.strftime("%Y-%m-%d %H:%M:%S"), "host": socket.gethostname(),
            "command": " ".join(sys.argv), "git": commits,
            "defaults": defaults.results_defaults()}  # as the project's main.py and schedule set them
    results = schedule.results
    if schedule.adaptive is not None:  # summaries look at what main reports, unless RESULTS says otherwise
        results = {"y_metric": schedule.adaptive.metric, "lower_is_better": schedule.adaptive.direction == "min",
                   **results}
    if results:
        info["results"] = results
    storage = StorageDir(storage_dir)
    if schedule.adaptive is not None:  # first: experiments without adaptive.json would be a random search
        from alfred.adaptive.spec import SPEC_FILE

        save_dict_to_json(schedule.adaptive.to_dict(), storage_dir / SPEC_FILE)
        # what workers' proposals build their experiments' configs from (the schedule file may change)
        info.update(run_defaults=vars(schedule.default_config), config_desc=f"{schedule.kind}_{desc}")
    save_dict_to_json(info, storage.prepare_info)
    if schedule.kind == "grid":
        _record_variations(storage.variations, 1, len(plan.new_experiments), schedule)
    elif plan.new_experiments:
        _plot_sampled_variations(storage_dir, plan.new_experiments, plan, f"{schedule.kind}_{desc}",
                                 f"sampled by {schedule.path.name}")
    # an adaptive search is marked a random one (its configurations are sampled), told apart by adaptive.json
    storage.kind_flag("random" if schedule.kind == "adaptive" else schedule.kind).touch()


def _plot_sampled_variations(storage_dir: Path, experiments: list[dict], plan: StoragePlan, storage_desc: str,
                             small: str) -> None:
    """``variations<k>.png``: the values sampled for these experiments, titled ``alg · task · desc``."""
    from alfred.utils.plots import plot_sampled_hyperparams_figures, save_fig

    samples = {k: [e.get(k) for e in experiments] for k in dict.fromkeys(k for e in experiments for k in e)}
    if not samples:
        return
    storage = StorageDir(storage_dir)
    existing = len(storage.variations_figures())
    title = f"{plan.alg_name} · {plan.task_name} · {storage_desc}: {len(experiments)} sampled experiments"
    figs = plot_sampled_hyperparams_figures(samples, title=title, small=small)
    for k, fig in enumerate(figs, start=existing + 1):
        save_fig(fig, storage.variations_figure(k), formats=("png",))


def _extend_storage(schedule: Schedule, plan: StoragePlan, storage_desc: str, texts: ConfigText, progress) -> None:
    storage_dir = plan.existing_dir
    for experiment_dir, seeds in plan.new_seeds.items():
        template = load_dict_from_json(Path(list_seed_dirs(experiment_dir)[0][1], CONFIG_UNIQUE))
        params = {k: v for k, v in template.items() if k not in RESERVED}
        lines = texts.experiment(plan.alg_name, plan.task_name, storage_desc, params)
        for seed in seeds:
            tmp = temp_sibling(experiment_dir / seed_dir_name(seed))
            write_seed_folder(tmp, *texts.seed_files(lines, seed))
            try:
                os.rename(tmp, experiment_dir / seed_dir_name(seed))
            except OSError:  # another process added it first
                shutil.rmtree(tmp, ignore_errors=True)
            if progress:
                progress(1)
    if schedule.kind == "random" and plan.new_experiments:
        _plot_sampled_variations(storage_dir, plan.new_experiments, plan, storage_desc,
                                 f"added to {Path(storage_dir).name}, sampled by {schedule.path.name}")
    numbers = []
    for params in plan.new_experiments:
        reserved = reserve_experiment(storage_dir)
        numbers.append(experiment_num_of(reserved))
        tmp = temp_sibling(reserved)
        try:
            _write_experiment(tmp, texts, schedule, plan, storage_desc, params)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            reserved.rmdir()
            raise
        swap_in(tmp, reserved)
        if progress:
            progress(len(schedule.seeds))
    if schedule.kind == "grid" and numbers:
        _record_variations(StorageDir(storage_dir).variations, min(numbers), max(numbers), schedule)


def _record_variations(path: Path, first: int, last: int, schedule: Schedule) -> None:
    add_variations_group(path, first, last, schedule.variations, alg_names=schedule.alg_names,
                         task_names=schedule.task_names, seeds=schedule.seeds)


def describe_plan(schedule: Schedule, plans: list[StoragePlan], desc: str, root: Path) -> str:
    total = sum(p.n_seed_folders(schedule.seeds) for p in plans)
    lines = [f"{schedule.kind} search from {schedule.path} (desc {desc!r}), root dir {root}:"]
    for p in plans:
        where = p.existing_dir.name if p.existing_dir else f"new storage dir for {p.alg_name} on {p.task_name}"
        n_added = sum(len(s) for s in p.new_seeds.values())
        added = f", {n_added} seeds added to existing experiments" if p.new_seeds else ""
        lines.append(f"  {where}: {len(p.new_experiments)} new experiments x {len(schedule.seeds)} seeds{added}")
    if schedule.adaptive is not None:
        spec = schedule.adaptive
        budget = ", ".join(f"{k} {v:,}" for k, v in (("max_experiments", spec.max_experiments),
                                                     ("max_steps", spec.max_steps)) if v is not None)
        made = "all made now" if any(p.new_experiments for p in plans) else "proposed by the workers as they run"
        lines.append(f"adaptive: sampler {spec.sampler!r}, {spec.mode} mode, rungs at steps "
                     f"{', '.join(map(str, spec.rungs()))} (eta {spec.eta}), complete at {spec.max_resource}; "
                     f"budget {budget}; experiments {made}")
    lines.append(f"total: {len(plans)} storage dir(s), {total} seed folder(s)")
    return "\n".join(lines)


def same_searches(root: Path, plans: list[StoragePlan], storage_desc: str) -> list[Path]:
    """Storage dirs of ``root`` that the new plans would repeat: same alg_name, task_name and
    desc (``<kind>_<desc>``), whatever their git hashes. Preparing again makes a second copy
    of each, which a list file naming both would run twice."""
    from alfred.protocol.listing import list_storage_dirs
    from alfred.protocol.storage_names import StorageName

    wanted = {(folder_name_part(p.alg_name), folder_name_part(p.task_name)) for p in plans if p.existing_dir is None}
    found = []
    for path in list_storage_dirs(root):
        parsed = StorageName.parse(path.name)
        if parsed and parsed.desc == storage_desc and (parsed.alg_name, parsed.task_name) in wanted:
            found.append(path)
    return found


def other_kinds_listed(list_path: Path, kind: str) -> dict[str, int]:
    """How many storage dirs of each other search kind a list file already names (grid and
    random schedules of one name share ``list_searches_<name>.txt``)."""
    from alfred.utils.selection import read_list_file

    if not list_path.is_file():
        return {}
    counts: dict[str, int] = {}
    for name, recorded_root in read_list_file(list_path):
        path = Path(name) if os.sep in name else (recorded_root or list_path.parent) / name
        other = StorageDir(path).kind() if path.is_dir() else None
        if other and other != kind:
            counts[other] = counts.get(other, 0) + 1
    return counts
