"""Building storage dirs so that readers see nothing or all of them.

Shared by prepare_schedule (new searches, additions), copy_config (a search copied to
another task) and create_retrainbest (a retrain of the best experiment). Every new folder
is written under a temporary name and appears by one rename: a worker never claims a seed
of a half-written search.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alfred.protocol.layout import CONFIG, CONFIG_UNIQUE, UNHATCHED, experiment_dir_name
from alfred.protocol.listing import list_experiment_dirs
from alfred.protocol.storage_names import allocate_storage_dir, get_id_prefix, release_storage_id
from alfred.utils.misc import temp_sibling

__all__ = ["ConfigText", "build_storage_dir", "discard_storage_dirs", "write_seed_folder", "swap_in",
           "reserve_experiment", "add_variations_group", "read_variations"]


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

    def experiment(self, alg_name: str, task_name: str, desc: str, params: dict
                   ) -> tuple[dict[str, str], dict[str, str]]:
        """Lines of the two files for one experiment, all but the seed."""
        key = (alg_name, task_name, desc)
        if key not in self._names:
            self._names[key] = ({"alg_name": self.line("alg_name", alg_name),
                                 "task_name": self.line("task_name", task_name)}, self.line("desc", desc))
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
    recorders/ and incrementals/ are made when the run starts (SeedDir.create_directories):
    two fewer mkdirs per seed here, where 100,000 seeds are written at once.
    """
    seed_dir = os.fspath(seed_dir)
    os.mkdir(seed_dir)
    for name, data in ((CONFIG, config), (CONFIG_UNIQUE, unique)):
        if isinstance(data, dict):
            data = (json.dumps(data, indent=2) + "\n").encode()
        _create_file(os.path.join(seed_dir, name), data)
    _create_file(os.path.join(seed_dir, UNHATCHED), b"")


def swap_in(tmp: Path, reserved: Path) -> None:
    """Replace the empty reserved folder by the finished tmp one: rename(2) may replace an
    empty directory, atomically, so readers see nothing or everything."""
    try:
        os.rename(tmp, reserved)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_storage_dir(root: Path, rest: str, write: Callable[[Path], None]) -> Path:
    """Reserve ``root/<id>_<rest>`` (a new id, see allocate_storage_dir), let ``write(tmp)``
    fill a temporary folder, then swap it in by one rename: readers see nothing or all of it.
    If anything fails (``write`` raises, the disk is full), both folders and the id are removed
    and the error goes on: nothing is left half-made."""
    reserved = allocate_storage_dir(root, get_id_prefix(), rest)
    tmp = temp_sibling(reserved)
    try:
        tmp.mkdir()
        write(tmp)
        swap_in(tmp, reserved)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        reserved.rmdir()  # not swapped in (the swap is the last step): still the empty reservation
        release_storage_id(reserved)
        raise
    return reserved


def discard_storage_dirs(storage_dirs: list[Path]) -> None:
    """Remove storage dirs this process has just built, that nothing has used yet (their list file
    could not name them): each is renamed away first, so no reader sees it half-removed."""
    for path in storage_dirs:
        gone = temp_sibling(path, "discarded")
        os.rename(path, gone)
        release_storage_id(path)
        shutil.rmtree(gone, ignore_errors=True)


def reserve_experiment(storage_dir: Path) -> Path:
    """The next free experiment<N>, claimed by mkdir (atomic: one process wins each N)."""
    existing = list_experiment_dirs(storage_dir)
    n = existing[-1][0] + 1 if existing else 1
    while True:
        path = storage_dir / experiment_dir_name(n)
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1


# variations.json ---------------------------------------------------------------------------
# 0.2's layout, which projects' analysis scripts read: one entry per prepare that added
# experiments, {"<first>-<last>": {<VARIATIONS>..., "alg_name": [...], "task_name": [...],
# "seed": [...]}}. Storage dirs made by earlier alfred hold VARIATIONS alone: read both.
VARIATIONS_NAME_KEYS = ("alg_name", "task_name", "seed")


def add_variations_group(path: Path, first: int, last: int, variations: dict, *, alg_names: list, task_names: list,
                         seeds: list) -> None:
    """Record that experiments ``first``..``last`` were made from ``variations`` (0.2's layout)."""
    from alfred.utils.config import read_json_or_empty, save_dict_to_json

    data = read_json_or_empty(path)
    if data and not _is_grouped(data):  # an earlier alfred's flat VARIATIONS: the experiments before these
        data = {f"1-{first - 1}": data}
    data[f"{first}-{last}"] = {**variations, "alg_name": list(alg_names), "task_name": list(task_names),
                               "seed": list(seeds)}
    save_dict_to_json(data, path)


def read_variations(path: Path) -> dict[str, list]:
    """``{hyperparameter: values}`` of every group of a variations.json (either layout), values in
    first-seen order; {} when the file is missing or unreadable."""
    from alfred.utils.config import read_json_or_empty

    data = read_json_or_empty(path)
    groups = list(data.values()) if _is_grouped(data) else [data]
    merged: dict[str, list] = {}
    for group in groups:
        for key, values in group.items():
            if key in VARIATIONS_NAME_KEYS or not isinstance(values, list):
                continue
            known = merged.setdefault(key, [])
            known.extend(v for v in values if v not in known)
    return merged


def _is_grouped(data: dict) -> bool:
    return bool(data) and all(isinstance(v, dict) and _GROUP_KEY.fullmatch(k) for k, v in data.items())


_GROUP_KEY = re.compile(r"\d+-\d+")
