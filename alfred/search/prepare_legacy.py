"""0.2's building blocks of prepare_schedule, for projects whose own scripts call them.

``extract_schedule_grid`` / ``extract_schedule_random`` read a schedule module as 0.2 did and
return its parts; ``create_experiment_dir`` adds one experiment (every seed folder, UNHATCHED)
to a storage dir. Written with today's protocol: the experiment number is claimed by mkdir and
the experiment appears whole, by one rename. alfred's own prepare_schedule uses
alfred.search.prepare instead.
"""
from __future__ import annotations

import argparse
import importlib
import itertools
import os
import shutil
import sys
from types import ModuleType
from typing import Any

from alfred.protocol.layout import seed_dir_name
from alfred.protocol.storage_names import check_name, folder_name_part
from alfred.search.build import reserve_experiment, swap_in, write_seed_folder
from alfred.utils.misc import AlfredError, temp_sibling

__all__ = ["create_experiment_dir", "extract_schedule_grid", "extract_schedule_random"]


def _import(schedule_module: str) -> ModuleType:
    """The schedule, by its dotted name from the current folder (``schedules.lr.grid_schedule_lr``)."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return importlib.import_module(schedule_module)


def _parts(schedule: ModuleType, names: tuple[str, ...]) -> list[Any]:
    missing = [n for n in names if not hasattr(schedule, n)]
    if missing:
        raise AlfredError(f"schedule {schedule.__name__} lacks {', '.join(missing)}")
    return [getattr(schedule, n) for n in names]


def extract_schedule_grid(schedule_module: str) -> tuple:
    """``(VARIATIONS, ALG_NAMES, TASK_NAMES, SEEDS, experiments, varied_params, get_run_args, schedule)``:
    ``experiments`` is every combination of VARIATIONS as a dict (the longest lists vary slowest),
    ``varied_params`` the keys with more than one value."""
    schedule = _import(schedule_module)
    variations, alg_names, task_names, seeds, get_run_args = _parts(
        schedule, ("VARIATIONS", "ALG_NAMES", "TASK_NAMES", "SEEDS", "get_run_args"))
    if not all(isinstance(v, list) for v in variations.values()):
        raise AlfredError(f"schedule {schedule_module}: every VARIATIONS value must be a list")
    keys = sorted(variations, key=lambda k: (len(variations[k]), k), reverse=True)
    experiments = [dict(zip(keys, values)) for values in itertools.product(*(variations[k] for k in keys))]
    varied = [k for k in variations if len(variations[k]) > 1]
    return variations, alg_names, task_names, seeds, experiments, varied, get_run_args, schedule


def extract_schedule_random(schedule_module: str) -> tuple:
    """``(param_samples, ALG_NAMES, TASK_NAMES, SEEDS, experiments, varied_params, get_run_args, schedule)``:
    N_EXPERIMENTS calls of sample_experiment(); ``param_samples`` maps each varied hyperparameter
    (one taking more than one value) to its samples."""
    schedule = _import(schedule_module)
    sample, alg_names, task_names, seeds, n, get_run_args = _parts(
        schedule, ("sample_experiment", "ALG_NAMES", "TASK_NAMES", "SEEDS", "N_EXPERIMENTS", "get_run_args"))
    experiments = [dict(sample()) for _ in range(n)]
    names = list(dict.fromkeys(k for e in experiments for k in e))
    samples = {k: [e.get(k) for e in experiments] for k in names}
    param_samples = {k: v for k, v in samples.items() if any(x != v[0] for x in v)}
    return param_samples, alg_names, task_names, seeds, experiments, list(param_samples), get_run_args, schedule


def create_experiment_dir(storage_name_id: str, config: argparse.Namespace, config_unique_dict: dict, SEEDS: list,
                          root_dir: str | os.PathLike | None, git_hashes: str | None = None):
    """Add the next experiment to storage dir ``<id>_<git_hashes>_<alg>_<task>_<desc>`` (made if
    missing) of ``root_dir``: one seed folder per seed of SEEDS, each with config.json,
    config_unique.json (``seed`` set) and UNHATCHED. Returns the DirectoryTree of its last seed."""
    from alfred.utils.directory_tree import DirectoryTree, get_root

    if not SEEDS:
        raise AlfredError("create_experiment_dir needs at least one seed")
    config_dict = dict(vars(config))
    missing = [k for k in config_unique_dict if k != "seed" and k not in config_dict]
    if missing:
        raise AlfredError(f"config_unique_dict names {', '.join(missing)}, which the config lacks")
    rest = "_".join((git_hashes or DirectoryTree.get_git_hashes(),
                     folder_name_part(check_name("alg_name", config.alg_name)),
                     folder_name_part(check_name("task_name", config.task_name)), check_name("desc", config.desc)))
    storage_dir = get_root(root_dir) / f"{storage_name_id}_{rest}"
    storage_dir.mkdir(parents=True, exist_ok=True)
    reserved = reserve_experiment(storage_dir)
    tmp = temp_sibling(reserved)
    tmp.mkdir()
    try:
        for seed in SEEDS:
            write_seed_folder(tmp / seed_dir_name(seed), {**config_dict, "seed": seed},
                              {**config_unique_dict, "seed": seed})
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        reserved.rmdir()
        raise
    swap_in(tmp, reserved)
    config.seed = SEEDS[-1]
    config_unique_dict["seed"] = SEEDS[-1]
    return DirectoryTree(reserved / seed_dir_name(SEEDS[-1]))
