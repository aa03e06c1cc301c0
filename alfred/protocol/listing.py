"""Listing a root's storage dirs, a storage dir's experiments and an experiment's seeds.

Plain strings, sorted by number: scans of 100,000 seeds spend more on building a Path per
seed than on listing. The names themselves are alfred.protocol.layout's.

Only real folders are listed: an entry named like a storage dir, ``experiment<N>`` or
``seed<S>`` that is a symbolic link (or a FIFO, a file, ...) is never followed -- a link
could lead a worker or a cleaner out of the storage dir -- and callers that pass a
``refused`` list get one line per such entry, to show the user. The entry types come with
the listing (``d_type``): this costs no system call per entry on local filesystems.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

from alfred.protocol.fsio import real_dir_refusal
from alfred.protocol.layout import EXPERIMENT_RE, SEED_RE, is_storage_name

__all__ = ["list_experiment_dirs", "list_seed_dirs", "iter_seed_dirs", "list_storage_dirs", "refused_entries"]


def _numbered(folder: str | os.PathLike, pattern: re.Pattern, refused: list[str] | None) -> list[tuple[int, str]]:
    base = os.path.join(os.fspath(folder), "")
    match = pattern.fullmatch
    found = []
    with os.scandir(base) as entries:
        for entry in entries:
            m = match(entry.name)
            if m is None:
                continue
            if entry.is_dir(follow_symlinks=False):
                found.append((int(m.group(1)), base + entry.name))
            elif refused is not None:
                refused.append(_skipped(base + entry.name))
    found.sort()
    return found


def _skipped(path: str) -> str:
    return f"{real_dir_refusal(path) or path + ' is gone'}: skipped (alfred follows no link in a storage dir)"


def list_experiment_dirs(storage_dir: str | os.PathLike, refused: list[str] | None = None) -> list[tuple[int, str]]:
    """``(N, path)`` of each ``experiment<N>`` folder, by N (stray names ignored, links and
    other non-folders skipped: one line each appended to ``refused``)."""
    return _numbered(storage_dir, EXPERIMENT_RE, refused)


def list_seed_dirs(experiment_dir: str | os.PathLike, refused: list[str] | None = None) -> list[tuple[int, str]]:
    """``(S, path)`` of each ``seed<S>`` folder, by S (stray names ignored, links and other
    non-folders skipped: one line each appended to ``refused``)."""
    return _numbered(experiment_dir, SEED_RE, refused)


def iter_seed_dirs(storage_dir: str | os.PathLike, refused: list[str] | None = None
                   ) -> Iterator[tuple[int, int, str]]:
    """``(experiment N, rank of the seed in its experiment, seed folder)``, experiments in order.

    An experiment folder that vanishes while listed (being swapped in) is skipped.
    """
    for n, experiment_dir in list_experiment_dirs(storage_dir, refused):
        try:
            seeds = list_seed_dirs(experiment_dir, refused)
        except FileNotFoundError:
            continue
        for rank, (_, seed_dir) in enumerate(seeds):
            yield n, rank, seed_dir


def list_storage_dirs(root: str | os.PathLike, refused: list[str] | None = None) -> list[Path]:
    """Folders of ``root`` whose names are storage names, sorted by name ([] if no root); links
    and other non-folders are skipped (one line each appended to ``refused``)."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for e in entries:
        if not is_storage_name(e.name):
            continue
        if e.is_dir(follow_symlinks=False):
            found.append(Path(e.path))
        elif refused is not None:
            refused.append(_skipped(e.path))
    return sorted(found)


def refused_entries(storage_dir: str | os.PathLike) -> list[str]:
    """One line per experiment or seed entry of ``storage_dir`` that is not a real folder
    (a symbolic link, a FIFO, a file): what every listing of it skips."""
    refused: list[str] = []
    for _ in iter_seed_dirs(storage_dir, refused):
        pass
    return refused
