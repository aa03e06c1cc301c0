"""Create the storage dirs of a search: one per (alg_name, task_name), every seed UNHATCHED.

    python -m alfred.prepare_schedule --schedule_file schedules/grid_schedule_demo.py --desc lr
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alfred.utils.config import load_dict_from_json, positive_int, save_dict_to_json
from alfred.utils.directory_tree import (GRID_SEARCH, RANDOM_SEARCH, UNHATCHED, DirectoryTree, allocate_storage_dir,
                                         check_name, check_storage_names_fit, folder_name_part, get_git_commits,
                                         get_id_prefix, git_hashes_field, repos_to_track)
from alfred.utils.misc import AlfredError, ask_yes_no, cli_main
from alfred.utils.schedule import RESERVED, Schedule, load_schedule
from alfred.utils.selection import append_to_list_file

PREPARE_INFO = "prepare_info.json"


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.prepare_schedule", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedule_file", type=Path, required=True,
                        help="path of a grid_schedule_<name>.py or random_schedule_<name>.py file")
    parser.add_argument("--desc", default=None,
                        help="a short description ending the storage names (default: the schedule's name)")
    parser.add_argument("--add_to_folder", default=None,
                        help="add this schedule's new experiments and seeds to an existing storage dir "
                             "instead of creating new ones")
    parser.add_argument("--resample", action="store_true",
                        help="random search: draw new experiments for every (alg, task) pair instead of "
                             "sharing one sample across them")
    parser.add_argument("--root_dir", type=Path, default=None,
                        help="folder of the storage dirs (default: DirectoryTree.default_root, which the "
                             "schedule may set; else ./storage)")
    parser.add_argument("--max_experiments", type=positive_int, default=100_000,
                        help="refuse a search of more experiments per storage dir than this (a grid makes the "
                             "product of its VARIATIONS lists' lengths; default: 100000)")
    parser.add_argument("--yes", "-y", action="store_true", help="create without asking for confirmation")
    return parser


def plan_searches(schedule: Schedule, *, add_to_folder: Path | None = None, resample: bool = False) -> list[StoragePlan]:
    """Decide what to create, reading but writing nothing."""
    if add_to_folder is not None:
        return [_plan_addition(schedule, add_to_folder)]
    pairs = [(a, t) for a in schedule.alg_names for t in schedule.task_names]
    if schedule.kind == "grid":
        experiments = schedule.grid_experiments()
        return [StoragePlan(a, t, experiments) for a, t in pairs]
    shared = None if resample else schedule.sample_experiments(schedule.n_experiments)
    return [StoragePlan(a, t, shared if shared is not None else schedule.sample_experiments(schedule.n_experiments))
            for a, t in pairs]


def _plan_addition(schedule: Schedule, storage_dir: Path) -> StoragePlan:
    if not storage_dir.is_dir():
        raise AlfredError(f"--add_to_folder: storage dir {storage_dir} does not exist")
    kind = DirectoryTree.search_kind_of(storage_dir)
    if kind != schedule.kind:
        raise AlfredError(f"--add_to_folder: {storage_dir.name} is a {kind or 'unknown'} search, "
                          f"the schedule is a {schedule.kind} search")
    info = load_dict_from_json(storage_dir / PREPARE_INFO)
    alg, task = info["alg_name"], info["task_name"]
    if alg not in schedule.alg_names or task not in schedule.task_names:
        raise AlfredError(f"--add_to_folder: {storage_dir.name} holds alg_name {alg!r} and task_name {task!r}; "
                          f"the schedule has ALG_NAMES {schedule.alg_names} and TASK_NAMES {schedule.task_names}")
    if schedule.kind == "random":
        return StoragePlan(alg, task, schedule.sample_experiments(schedule.n_experiments), existing_dir=storage_dir)
    existing = {}
    for experiment_dir in DirectoryTree.get_experiment_dirs(storage_dir):
        seed_dirs = DirectoryTree.get_seed_dirs(experiment_dir)
        if seed_dirs:
            unique = load_dict_from_json(seed_dirs[0] / "config_unique.json")
            key = json.dumps({k: v for k, v in unique.items() if k not in RESERVED}, sort_keys=True)
            existing[key] = (experiment_dir, {DirectoryTree(s).seed for s in seed_dirs})
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


class ConfigText:
    """The texts of config.json and config_unique.json, exactly as ``json.dumps(d, indent=2)``
    writes them, from lines encoded once: a search writes the same keys 100,000 times, and
    encoding every value of every seed again was the costliest Python step of a prepare."""

    def __init__(self, defaults: dict[str, Any]):
        self.lines = {k: self.line(k, v) for k, v in defaults.items()}
        self._names: dict[tuple[str, str, str], tuple[dict[str, str], str]] = {}

    @staticmethod
    def line(key: str, value: Any) -> str:
        if isinstance(value, (dict, list, tuple)):  # nested: indented one level deeper
            return f"  {json.dumps(key)}: " + json.dumps(value, indent=2).replace("\n", "\n  ")
        return f"  {json.dumps(key)}: {json.dumps(value)}"  # a scalar: the C encoder, same text

    @classmethod
    def render(cls, lines: dict[str, str]) -> bytes:
        return ("{\n" + ",\n".join(lines.values()) + "\n}\n" if lines else "{}\n").encode()

    def experiment(self, plan: StoragePlan, desc: str, params: dict) -> tuple[dict[str, str], dict[str, str]]:
        """Lines of the two files for one experiment, all but the seed."""
        key = (plan.alg_name, plan.task_name, desc)
        if key not in self._names:
            self._names[key] = ({"alg_name": self.line("alg_name", plan.alg_name),
                                 "task_name": self.line("task_name", plan.task_name)}, self.line("desc", desc))
        names, desc_line = self._names[key]
        varied = {k: self.line(k, v) for k, v in params.items()}
        return {**self.lines, **varied, **names, "desc": desc_line}, {**varied, **names}

    def seed_files(self, experiment: tuple[dict[str, str], dict[str, str]], seed: int) -> tuple[bytes, bytes]:
        config, unique = experiment
        seed_line = self.line("seed", seed)
        return self.render({**config, "seed": seed_line}), self.render({**unique, "seed": seed_line})


def _create_file(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if data:
            os.write(fd, data)
    finally:
        os.close(fd)


def write_seed_folder(seed_dir: str | os.PathLike, config: dict | bytes, unique: dict | bytes) -> None:
    """Make a seed folder: config.json, config_unique.json (dicts, or their text as
    ConfigText renders it) and UNHATCHED.

    Called inside a temporary folder that appears by one rename: plain writes suffice.
    recorders/ and incrementals/ are made when the run starts (DirectoryTree.create_directories):
    two fewer mkdirs per seed here, where 100,000 seeds are written at once.
    """
    seed_dir = os.fspath(seed_dir)
    os.mkdir(seed_dir)
    for name, data in (("config.json", config), ("config_unique.json", unique)):
        if isinstance(data, dict):
            data = (json.dumps(data, indent=2) + "\n").encode()
        _create_file(os.path.join(seed_dir, name), data)
    _create_file(os.path.join(seed_dir, UNHATCHED), b"")


def _write_experiment(experiment_dir: Path | str, texts: ConfigText, schedule: Schedule, plan: StoragePlan,
                      desc: str, params: dict) -> None:
    experiment_dir = os.fspath(experiment_dir)
    os.mkdir(experiment_dir)
    lines = texts.experiment(plan, desc, params)
    for seed in schedule.seeds:
        write_seed_folder(os.path.join(experiment_dir, DirectoryTree.seed_dir_name(seed)),
                          *texts.seed_files(lines, seed))


def _swap_in(tmp: Path, reserved: Path) -> None:
    """Replace the empty reserved folder by the finished tmp one: rename(2) may replace an
    empty directory, atomically, so readers see nothing or everything."""
    try:
        os.rename(tmp, reserved)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
                _write_experiment(os.path.join(tmp, DirectoryTree.experiment_dir_name(n)), texts, schedule, plan,
                                  storage_desc, params)
                if progress:
                    progress(len(schedule.seeds))

        done.append(build_storage_dir(root, rest, write))
    return done


def build_storage_dir(root: Path, rest: str, write: Callable[[Path], None]) -> Path:
    """Reserve ``root/<id>_<rest>`` (a new id, see allocate_storage_dir), let ``write(tmp)``
    fill a temporary folder, then swap it in by one rename: readers see nothing or all of it.
    If ``write`` raises, both folders are removed and the error goes on."""
    reserved = allocate_storage_dir(root, get_id_prefix(), rest)
    tmp = root / f".tmp-{reserved.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        reserved.rmdir()
        raise
    _swap_in(tmp, reserved)
    return reserved


def _write_storage_files(storage_dir: Path, schedule: Schedule, plan: StoragePlan, desc: str, commits: dict) -> None:
    info = {"schedule_file": str(schedule.path), "kind": schedule.kind, "alg_name": plan.alg_name,
            "task_name": plan.task_name, "desc": desc, "seeds": schedule.seeds,
            "created": time.strftime("%Y-%m-%d %H:%M:%S"), "host": socket.gethostname(),
            "command": " ".join(sys.argv), "git": commits}
    if schedule.results:
        info["results"] = schedule.results
    save_dict_to_json(info, storage_dir / PREPARE_INFO)
    if schedule.kind == "grid":
        save_dict_to_json(schedule.variations, storage_dir / "variations.json")
        (storage_dir / GRID_SEARCH).touch()
    else:
        _plot_sampled_variations(storage_dir, plan.new_experiments)
        (storage_dir / RANDOM_SEARCH).touch()


def _plot_sampled_variations(storage_dir: Path, experiments: list[dict]) -> None:
    from alfred.utils.plots import plot_sampled_hyperparams_figures, save_fig

    samples = {k: [e.get(k) for e in experiments] for k in dict.fromkeys(k for e in experiments for k in e)}
    if not samples:
        return
    existing = len(list(storage_dir.glob("variations*.png")))
    for k, fig in enumerate(plot_sampled_hyperparams_figures(samples), start=existing + 1):
        save_fig(fig, storage_dir / f"variations{k}", formats=("png",))


def _extend_storage(schedule: Schedule, plan: StoragePlan, storage_desc: str, texts: ConfigText, progress) -> None:
    storage_dir = plan.existing_dir
    for experiment_dir, seeds in plan.new_seeds.items():
        template = load_dict_from_json(DirectoryTree.get_seed_dirs(experiment_dir)[0] / "config_unique.json")
        params = {k: v for k, v in template.items() if k not in RESERVED}
        lines = texts.experiment(plan, storage_desc, params)
        for seed in seeds:
            tmp = experiment_dir / f".tmp-seed{seed}-{uuid.uuid4().hex[:8]}"
            write_seed_folder(tmp, *texts.seed_files(lines, seed))
            try:
                os.rename(tmp, experiment_dir / DirectoryTree.seed_dir_name(seed))
            except OSError:  # another process added it first
                shutil.rmtree(tmp, ignore_errors=True)
            if progress:
                progress(1)
    if schedule.kind == "random" and plan.new_experiments:
        _plot_sampled_variations(storage_dir, plan.new_experiments)
    for params in plan.new_experiments:
        reserved = _reserve_experiment(storage_dir)
        tmp = storage_dir / f".tmp-{reserved.name}-{uuid.uuid4().hex[:8]}"
        try:
            _write_experiment(tmp, texts, schedule, plan, storage_desc, params)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            reserved.rmdir()
            raise
        _swap_in(tmp, reserved)
        if progress:
            progress(len(schedule.seeds))
    if schedule.kind == "grid":
        variations = load_dict_from_json(storage_dir / "variations.json")
        for key, values in schedule.variations.items():
            merged = variations.setdefault(key, [])
            merged.extend(v for v in values if v not in merged)
        save_dict_to_json(variations, storage_dir / "variations.json")


def _reserve_experiment(storage_dir: Path) -> Path:
    """The next free experiment<N>, claimed by mkdir (atomic: one process wins each N)."""
    existing = DirectoryTree.get_experiment_dirs(storage_dir)
    n = DirectoryTree.experiment_num_of(existing[-1]) + 1 if existing else 1
    while True:
        path = storage_dir / DirectoryTree.experiment_dir_name(n)
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1


def describe_plan(schedule: Schedule, plans: list[StoragePlan], desc: str, root: Path) -> str:
    total = sum(p.n_seed_folders(schedule.seeds) for p in plans)
    lines = [f"{schedule.kind} search from {schedule.path} (desc {desc!r}), root dir {root}:"]
    for p in plans:
        where = p.existing_dir.name if p.existing_dir else f"new storage dir for {p.alg_name} on {p.task_name}"
        added = f", {sum(len(s) for s in p.new_seeds.values())} seeds added to existing experiments" if p.new_seeds else ""
        lines.append(f"  {where}: {len(p.new_experiments)} new experiments x {len(schedule.seeds)} seeds{added}")
    lines.append(f"total: {len(plans)} storage dir(s), {total} seed folder(s)")
    return "\n".join(lines)


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    schedule = load_schedule(args.schedule_file)  # may set DirectoryTree.default_root
    schedule.check_size(args.max_experiments)
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
    if total == 0:
        print("nothing to create: every experiment and seed already exists")
        return 0
    if not args.yes and not ask_yes_no("Create them?"):
        print("aborted: nothing was created")
        return 1
    root.mkdir(parents=True, exist_ok=True)
    with _progress_bar(total) as progress:
        created = create_searches(schedule, plans, desc=desc, root=root, commits=commits, progress=progress)
    if add_to is None:
        append_to_list_file(schedule.list_searches_path, root, [p.name for p in created])
    for path in created:
        print(f"{'extended' if add_to else 'created'} {path}")
    if add_to is None:
        print(f"storage names appended to {schedule.list_searches_path}")
    return 0


class _progress_bar:
    """A tqdm bar over seed folders for large searches; silent for small ones."""

    def __init__(self, total: int):
        self.bar = None
        if total >= 2000:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="seed", desc="creating", leave=False)

    def __enter__(self):
        return self.bar.update if self.bar else None

    def __exit__(self, *exc):
        if self.bar:
            self.bar.close()


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
