"""Which storage dirs a script works on: ``--from_file`` / ``--storage_name`` / ``--root_dir``.

A list file (``list_searches_<name>.txt``, ``list_retrains_<name>.txt``) holds one storage
name per line. ``# root_dir=<path>`` lines, written by prepare_schedule, say where the
names below them live; other ``#`` lines and blank lines are ignored.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from alfred.errors import AlfredError
from alfred.protocol.fsio import real_dir_refusal
from alfred.utils.directory_tree import DirectoryTree

__all__ = ["add_selection_args", "select_storage_dirs", "append_to_list_file", "read_list_file",
           "check_storage_name_arg"]

ROOT_PREFIX = "# root_dir="


def add_selection_args(parser: argparse.ArgumentParser, *, storage_help: str = "storage dir") -> None:
    """Add ``--from_file``, ``--storage_name`` and ``--root_dir`` to a script's parser."""
    parser.add_argument("--from_file", type=Path, default=None,
                        help=f"a list file with one {storage_help} name per line, e.g. "
                             "schedules/list_searches_<name>.txt written by prepare_schedule")
    parser.add_argument("--storage_name", "--storage_names", dest="storage_name", nargs="+", default=None,
                        metavar="STORAGE_NAME", help=f"the name(s) of {storage_help}s (folders of the root dir)")
    parser.add_argument("--root_dir", type=Path, default=None,
                        help="the folder holding the storage dirs (default: the root recorded in the list "
                             f"file, else DirectoryTree.default_root = {DirectoryTree.default_root})")


def _did_you_mean(name: str, candidates: list[str], what: str) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, else the valid ones when few, else ''."""
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if candidates and len(candidates) <= 5:
        return f"; {what}: {', '.join(candidates)}"
    return ""


def read_list_file(path: Path) -> list[tuple[str, Path | None]]:
    """``(storage_name, recorded_root or None)`` for each line of a list file."""
    if not path.is_file():
        folder = path.parent if path.parent.is_dir() else None
        siblings = sorted(p.name for p in folder.glob("list_*.txt")) if folder else []
        hint = _did_you_mean(path.name, siblings, f"list files in {folder}")
        raise AlfredError(f"list file {path} does not exist{hint}")
    entries = []
    root: Path | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith(ROOT_PREFIX):
            root = Path(line[len(ROOT_PREFIX):].strip())
        elif line and not line.startswith("#"):
            entries.append((line, root))
    return entries


def select_storage_dirs(from_file: Path | None, storage_name: str | list[str] | None,
                        root_dir: Path | None) -> list[Path]:
    """The storage dirs named on the command line; AlfredError if any is missing.

    Exactly one of ``from_file`` and ``storage_name`` (one name or a list) must be given.
    """
    if (from_file is None) == (storage_name is None):
        raise AlfredError("give exactly one of --from_file (a list of storage names) or --storage_name "
                          "(one or more names)")
    if storage_name is not None:
        entries = [(name, None) for name in ([storage_name] if isinstance(storage_name, str) else storage_name)]
    else:
        entries = read_list_file(Path(from_file))
        if not entries:
            raise AlfredError(f"list file {from_file} names no storage dir")
    dirs = []
    for name, recorded_root in entries:
        check_storage_name_arg(name, where=f"in list file {from_file}" if from_file is not None else "")
        root = root_dir or recorded_root or Path(DirectoryTree.default_root)
        path = root / name
        refusal = real_dir_refusal(path)
        if refusal is not None:  # a link could lead every worker and cleaner out of the root dir
            raise AlfredError(f"storage dir {refusal}: not followed (a storage dir must be a folder in the root "
                              f"dir {root}, not a link)")
        if not path.is_dir():
            from alfred.protocol.listing import list_storage_dirs

            hint = _did_you_mean(path.name, [d.name for d in list_storage_dirs(path.parent)],
                                 f"storage dirs in {path.parent}")
            raise AlfredError(f"storage dir {path} does not exist{hint} (root dir: {root}; pass --root_dir "
                              "if the searches live elsewhere)")
        dirs.append(path)
    return list(dict.fromkeys(dirs))


def check_storage_name_arg(name: str, *, where: str = "") -> str:
    """``name`` if it names a folder of the root dir; AlfredError for ``.``, ``..``, an absolute
    path or a name holding a path separator (which would reach outside the root dir)."""
    seps = {os.sep, os.altsep or os.sep, "/"}
    if name in ("", ".", "..") or os.path.isabs(name) or any(sep in name for sep in seps) or "\0" in name:
        shown = f" {where}" if where else ""
        raise AlfredError(f"storage name {name!r}{shown} is not a folder name: give the name of a storage dir "
                          "(e.g. Se3_1a2b3c4_ppo_cartpole_grid_lr), without '/', '.' or '..'; "
                          "--root_dir says where the storage dirs are")
    return name


def append_to_list_file(path: Path, root: Path, names: list[str]) -> None:
    """Append names under a ``# root_dir=`` line, in one write (one O_APPEND write is not
    interleaved with another process's on a local filesystem)."""
    text = f"{ROOT_PREFIX}{Path(root).resolve()}\n" + "".join(f"{n}\n" for n in names)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
