"""Copying a search to another task: a new storage dir with the same experiments, all UNHATCHED.

The copy gets a new id, the source's git hashes field and alg name, the new task name and
the desc ``<grid|random>_<new_desc>``; see ``python -m alfred.copy_config --help``.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from alfred.protocol.fsio import MAX_JSON_BYTES, read_regular
from alfred.protocol.layout import CONFIG, CONFIG_UNIQUE, GRID_SEARCH, RANDOM_SEARCH, StorageDir
from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs
from alfred.protocol.storage_names import StorageName, check_name, folder_name_part
from alfred.search.build import build_storage_dir, write_seed_folder
from alfred.utils.config import load_dict_from_json, parse_bool, save_dict_to_json
from alfred.utils.misc import AlfredError
from alfred.utils.schedule import RESERVED

__all__ = ["CopyPlan", "copy_search", "parse_additional_param", "plan_copy"]

_TYPES = ("int", "float", "str", "bool", "None")


def parse_additional_param(text: str) -> tuple[str, Any]:
    """argparse ``type=`` for ``name=value,type``: ``("lr", 0.01)`` from ``lr=0.01,float``.

    The type follows the last comma, so a str value may hold commas.
    """
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected name=value,type (e.g. lr=0.01,float), got {text!r}")
    name, rest = text.split("=", 1)
    name = name.strip()
    if not name.isidentifier():
        raise argparse.ArgumentTypeError(f"invalid hyperparameter name {name!r} in {text!r}: use a Python identifier")
    if "," not in rest:
        raise argparse.ArgumentTypeError(f"missing type in {text!r}: expected name=value,type with type one of "
                                         f"{', '.join(_TYPES)} (e.g. {name}={rest or 'VALUE'},str)")
    value, type_name = rest.rsplit(",", 1)
    type_name = type_name.strip()
    if type_name not in _TYPES:
        raise argparse.ArgumentTypeError(f"unknown type {type_name!r} in {text!r}; valid: {', '.join(_TYPES)}")
    if type_name == "None":
        if value.strip() not in ("", "None"):
            raise argparse.ArgumentTypeError(f"type None takes the value None (or nothing), got {value!r} in {text!r}")
        return name, None
    if type_name == "str":
        return name, value
    try:
        converted = {"int": int, "float": float, "bool": parse_bool}[type_name](value.strip())
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not a valid {type_name} (in {text!r})") from None
    return name, converted


class CopyPlan:
    """What ``copy_search`` will write: checked before anything is created."""

    def __init__(self, source: Path, new_task: str, new_desc: str, additional: dict[str, Any]):
        self.source = source
        self.kind = StorageDir(source).kind()
        if self.kind not in ("grid", "random"):
            raise AlfredError(f"{source.name} has neither {GRID_SEARCH} nor {RANDOM_SEARCH}: only searches made by "
                              "prepare_schedule can be copied")
        self.name = StorageName.parse(source.name)
        if self.name is None:
            raise AlfredError(f"{source.name} is not a storage name (<id>_<githashes>_<alg>_<task>_<desc>)")
        self.info = load_dict_from_json(StorageDir(source).prepare_info)
        self.new_task = check_name("task_name", new_task)
        self.new_desc = check_name("desc", new_desc)
        self.storage_desc = f"{self.kind}_{self.new_desc}"
        self.additional = dict(additional)
        self.seeds: list[tuple[str, str, Path]] = []  # (experiment folder name, seed folder name, source seed)
        for _, experiment_dir in list_experiment_dirs(source):
            for _, seed_dir in list_seed_dirs(experiment_dir):
                self.seeds.append((os.path.basename(experiment_dir), os.path.basename(seed_dir), Path(seed_dir)))
        if not self.seeds:
            raise AlfredError(f"{source.name} holds no seed folder: nothing to copy")
        self._check_additional()

    def _check_additional(self) -> None:
        reserved = sorted(set(self.additional) & set(RESERVED))
        if reserved:
            raise AlfredError(f"--additional_param cannot set {', '.join(reserved)}: use --new_task / --new_desc, "
                              "alg_name and seed come from the source")
        unique = load_dict_from_json(self.seeds[0][2] / CONFIG_UNIQUE)
        varied = sorted(set(self.additional) & set(unique))
        if varied:
            raise AlfredError(f"--additional_param {', '.join(varied)}: varied by the search (in config_unique.json); "
                              "one value for all would make the experiments identical")

    @property
    def new_rest(self) -> str:
        """The new storage name after its id: same git hashes field and alg, new task and desc."""
        return "_".join((self.name.git_hashes, self.name.alg_name, folder_name_part(self.new_task), self.storage_desc))

    def describe(self) -> str:
        n_experiments = len({e for e, _, _ in self.seeds})
        lines = [(f"copy {self.source.name} ({self.kind} search, {n_experiments} experiment(s), "
                  f"{len(self.seeds)} seed folder(s))"),
                 f"  to a new storage dir <id>_{self.new_rest} in {self.source.parent}",
                 (f"  task_name {self.info.get('task_name')!r} -> {self.new_task!r}, desc -> {self.storage_desc!r}, "
                  "every seed UNHATCHED")]
        existing = load_dict_from_json(self.seeds[0][2] / CONFIG)
        for k, v in self.additional.items():
            how = f"overrides {existing[k]!r}" if k in existing else "new hyperparameter"
            lines.append(f"  {k} = {v!r} ({how})")
        return "\n".join(lines)


def plan_copy(source: Path, *, new_task: str | None = None, new_desc: str | None = None,
              additional: dict[str, Any] | None = None, append_new_desc: bool = False) -> CopyPlan:
    """Check a copy of ``source`` without writing anything. Task default: the source's; desc
    default: the source's, followed by ``_<new_desc>`` with ``append_new_desc`` (0.2's default)."""
    source = Path(source)
    info = load_dict_from_json(StorageDir(source).prepare_info)
    old_desc = info.get("desc")
    if (new_desc is None or append_new_desc) and not isinstance(old_desc, str):
        raise AlfredError(f"{StorageDir(source).prepare_info} records no desc: pass --new_desc "
                          "(with --append_new_desc False)")
    desc = old_desc if new_desc is None else f"{old_desc}_{new_desc}" if append_new_desc else new_desc
    task = info.get("task_name") if new_task is None else new_task
    if not isinstance(task, str):
        raise AlfredError(f"{StorageDir(source).prepare_info} records no task_name: pass --new_task")
    return CopyPlan(source, task, desc, additional or {})


def copy_search(plan: CopyPlan, *, progress=None) -> Path:
    """Write the copy; returns the new storage dir (next to the source)."""

    def write(tmp: Path) -> None:
        source, copy = StorageDir(plan.source), StorageDir(tmp)
        copy.kind_flag(plan.kind).touch()
        for extra in [source.variations, *source.variations_figures()]:
            try:  # a regular file only: a link or a FIFO planted there is refused, not copied or waited on
                (tmp / extra.name).write_bytes(read_regular(extra, max_bytes=MAX_JSON_BYTES))
            except FileNotFoundError:
                pass
        info = {**plan.info, "task_name": plan.new_task, "desc": plan.new_desc,
                "created": time.strftime("%Y-%m-%d %H:%M:%S"), "host": socket.gethostname(),
                "command": " ".join(sys.argv),
                "copied_from": {"storage_name": source.name, "path": str(source.path.resolve()),
                                "task_name": plan.info.get("task_name"), "desc": plan.info.get("desc")}}
        if plan.additional:
            info["additional_params"] = plan.additional
        save_dict_to_json(info, copy.prepare_info)
        made = set()
        for experiment_name, seed_name, seed_dir in plan.seeds:
            if experiment_name not in made:
                (tmp / experiment_name).mkdir()
                made.add(experiment_name)
            config = load_dict_from_json(seed_dir / CONFIG)
            unique = load_dict_from_json(seed_dir / CONFIG_UNIQUE)
            config.update(plan.additional)
            config.update(task_name=plan.new_task, desc=plan.storage_desc)
            unique["task_name"] = plan.new_task
            write_seed_folder(tmp / experiment_name / seed_name, config, unique)
            if progress:
                progress(1)

    return build_storage_dir(plan.source.parent, plan.new_rest, write)
