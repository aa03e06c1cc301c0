"""Listing a root's storage dirs, a storage dir's experiments and an experiment's seeds.

Plain strings, sorted by number: scans of 100,000 seeds spend more on building a Path per
seed than on listing. The names themselves are alfred.protocol.layout's.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

from alfred.protocol.layout import EXPERIMENT_RE, SEED_RE, is_storage_name

__all__ = ["list_experiment_dirs", "list_seed_dirs", "iter_seed_dirs", "list_storage_dirs"]


def _numbered(folder: str | os.PathLike, pattern: re.Pattern) -> list[tuple[int, str]]:
    base = os.path.join(os.fspath(folder), "")
    match = pattern.fullmatch
    found = [(int(m.group(1)), base + name) for name in os.listdir(base) if (m := match(name))]
    found.sort()
    return found


def list_experiment_dirs(storage_dir: str | os.PathLike) -> list[tuple[int, str]]:
    """``(N, path)`` of each ``experiment<N>`` folder, by N (stray names ignored)."""
    return _numbered(storage_dir, EXPERIMENT_RE)


def list_seed_dirs(experiment_dir: str | os.PathLike) -> list[tuple[int, str]]:
    """``(S, path)`` of each ``seed<S>`` folder, by S (stray names ignored)."""
    return _numbered(experiment_dir, SEED_RE)


def iter_seed_dirs(storage_dir: str | os.PathLike) -> Iterator[tuple[int, int, str]]:
    """``(experiment N, rank of the seed in its experiment, seed folder)``, experiments in order.

    An experiment folder that vanishes while listed (being swapped in) is skipped.
    """
    for n, experiment_dir in list_experiment_dirs(storage_dir):
        try:
            seeds = list_seed_dirs(experiment_dir)
        except FileNotFoundError:
            continue
        for rank, (_, seed_dir) in enumerate(seeds):
            yield n, rank, seed_dir


def list_storage_dirs(root: str | os.PathLike) -> list[Path]:
    """Folders of ``root`` whose names are storage names, sorted by name ([] if no root)."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(Path(e.path) for e in entries if e.is_dir() and is_storage_name(e.name))
