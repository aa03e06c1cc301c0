"""The 0.2 names of ``alfred.utils.misc`` that need the layout: ``create_management_objects`` and
``select_storage_dirs`` (``alfred.utils.misc`` loads them from here on first use; see
docs/migrating.md).

``create_management_objects`` is what every 0.2 ``main`` calls first. Under alfred's workers it
passes the given tree, logger and bar through; in a ``main.py`` run by hand (``dir_tree=None``)
it makes that run a storage dir of its own, one a summary can read:

    <root>/<id>_<githashes>_<alg_name>_<task_name>_<desc>/   GRID_SEARCH, prepare_info.json
        experiment1/seed<S>/   config.json, config_unique.json, OPENED -> COMPLETED | CRASH.txt,
                               logger.out, recorders/, incrementals/

The seed is claimed like a worker claims one (``OPENED`` names this process, so ``status``
shows it running) and finished when the process exits: ``COMPLETED`` after a normal exit,
``CRASH.txt`` with the traceback after an uncaught exception, back to ``UNHATCHED`` (files
kept) after Ctrl-C; a killed process leaves an interrupted seed, which clean_interrupted resets.
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from alfred.protocol import flags
from alfred.protocol.fsio import atomic_write_text
from alfred.protocol.layout import UNHATCHED, StorageDir
from alfred.protocol.seed_state import default_stale_after
from alfred.protocol.storage_names import get_git_commits
from alfred.utils.config import config_to_str, parse_log_level
from alfred.utils.directory_tree import DirectoryTree, get_root, get_storage_dirs_across_tasks, repos_to_track
from alfred.utils.logs import create_logger
from alfred.utils.selection import select_storage_dirs as _select

__all__ = ["create_management_objects", "select_storage_dirs"]

_UNSET: Any = object()
HAND_RUN_WORKER = "main.py"  # the worker id written in a hand run's OPENED
HAND_RUN_HEARTBEAT_S = 30.0
MAIN_LOGGER = "alfred.main"


def create_management_objects(dir_tree: DirectoryTree | None, logger, pbar=_UNSET, config=_UNSET):
    """``(dir_tree, logger, pbar, config) -> (dir_tree, logger, pbar)`` (0.2), or
    ``(dir_tree, logger, config) -> (dir_tree, logger)`` (later 0.x versions).

    - ``dir_tree=None`` (main.py run by hand): a new storage dir for this one run, from
      ``config.alg_name, task_name, desc, seed`` and ``config.root_dir`` when it has one (see the
      module doc);
    - ``logger=None``: the logger ``alfred.main`` writing to ``<seed_dir>/logger.out`` and stdout,
      at ``config.log_level`` (INFO without one);
    - ``pbar="default_pbar"``: a new tqdm bar of ``config.max_episodes`` steps; a given bar is
      reset to that total and the run's name added to its description; None stays None.

    The config is logged at debug level.
    """
    with_pbar = pbar is not _UNSET and config is not _UNSET
    if config is _UNSET:
        if pbar is _UNSET:
            raise TypeError("create_management_objects() missing its config argument")
        config, pbar = pbar, None  # (dir_tree, logger, config)
    if dir_tree is None:
        dir_tree = start_hand_run(config)
    if logger is None:
        level = parse_log_level(getattr(config, "log_level", None) or "info")
        logger = create_logger(MAIN_LOGGER, level, logfile=dir_tree.log_path)
    logger.debug(config_to_str(config))
    if not with_pbar:
        return dir_tree, logger
    return dir_tree, logger, _progress_bar(pbar, config, dir_tree)


def _progress_bar(pbar, config, dir_tree: DirectoryTree):
    if pbar is None:
        return None
    total = getattr(config, "max_episodes", None)
    if isinstance(pbar, str) and pbar == "default_pbar":
        from tqdm import tqdm

        return tqdm(total=total, desc=dir_tree.get_run_name())
    pbar.reset(total=total)
    pbar.set_description(f"{getattr(pbar, 'desc', '').rstrip(': ')} {dir_tree.get_run_name()}".strip())
    return pbar


# A main.py run by hand ----------------------------------------------------------------------

_hand_runs: list[flags.Claim] = []
_uncaught: list[BaseException] = []


def start_hand_run(config: argparse.Namespace) -> DirectoryTree:
    """Make a storage dir holding this one run, claim its seed, and finish it at exit."""
    for name in ("alg_name", "task_name", "seed"):
        if not hasattr(config, name):
            raise AttributeError(f"create_management_objects(dir_tree=None, ...) builds the run's folders from "
                                 f"config.alg_name, task_name, desc and seed: this config has no {name!r}")
    root = get_root(getattr(config, "root_dir", None))
    commits = get_git_commits(repos_to_track())
    tree = DirectoryTree(config.alg_name, config.task_name, getattr(config, "desc", "") or "", config.seed,
                         root=root)
    tree.create_directories()
    values = vars(config)
    atomic_write_text(tree.config_path, json.dumps(values, indent=2, default=str) + "\n")
    unique = {k: values[k] for k in ("alg_name", "task_name", "seed")}
    atomic_write_text(tree.config_unique_path, json.dumps(unique, indent=2) + "\n")
    storage = StorageDir(tree.storage_dir)
    from alfred import defaults

    info = {"kind": "grid", "made_by": "main.py run by hand (create_management_objects with dir_tree=None)",
            "alg_name": config.alg_name, "task_name": config.task_name, "desc": getattr(config, "desc", ""),
            "seeds": [config.seed], "created": time.strftime("%Y-%m-%d %H:%M:%S"), "host": socket.gethostname(),
            "command": " ".join(sys.argv), "git": commits, "defaults": defaults.results_defaults()}
    atomic_write_text(storage.prepare_info, json.dumps(info, indent=2, default=str) + "\n")
    storage.kind_flag("grid").touch()
    tree.flag_path(UNHATCHED).touch()
    claim = flags.claim(tree.seed_dir, worker_id=HAND_RUN_WORKER, heartbeat_s=HAND_RUN_HEARTBEAT_S,
                        stale_after_s=default_stale_after(HAND_RUN_HEARTBEAT_S), run_folder=False)
    if not _hand_runs:
        atexit.register(_finish_hand_runs)
        _chain_excepthook()
        threading.Thread(target=_beat, name="alfred-main-heartbeat", daemon=True).start()
    _hand_runs.append(claim)
    return tree


def _chain_excepthook() -> None:
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        _uncaught.append(exc)
        previous(exc_type, exc, tb)

    sys.excepthook = hook


def _beat() -> None:
    """Touch each running hand run's OPENED, so that other hosts do not take it for dead."""
    while True:
        time.sleep(HAND_RUN_HEARTBEAT_S)
        for claim in list(_hand_runs):
            try:
                flags.heartbeat(claim)
            except OSError:
                pass


def _finish_hand_runs() -> None:
    """At exit: COMPLETED, CRASH.txt (uncaught exception) or UNHATCHED (Ctrl-C) for each hand run."""
    error = _uncaught[-1] if _uncaught else None
    while _hand_runs:
        claim = _hand_runs.pop()
        if error is None:
            done = flags.complete(claim)
        elif isinstance(error, KeyboardInterrupt):
            done = flags.release(claim, "KeyboardInterrupt")
        else:
            done = flags.crash(claim, error)
        if not done:
            sys.stderr.write(f"alfred: {claim.seed_dir} was reset by clean_interrupted while this run went on: its "
                             "end was not recorded (the seed is someone else's now)\n")


# select_storage_dirs --------------------------------------------------------------------------

def select_storage_dirs(from_file: str | os.PathLike | None, storage_name: str | None,
                        root_dir: str | os.PathLike | bool | None = None, *args,
                        over_tasks: bool = False) -> list[Path]:
    """``(from_file, storage_name, root_dir)`` (tags v0.2 and v0.3) or ``(from_file, storage_name,
    over_tasks, root_dir)`` (the early README's form, told apart by a bool third argument): the
    storage dirs of a list file or of one name, as Paths.

    With ``over_tasks``, each is followed by the storage dirs equal to it but for the task
    (``get_storage_dirs_across_tasks``). A missing one raises AlfredError.
    """
    if isinstance(root_dir, bool):  # the early form: (from_file, storage_name, over_tasks[, root_dir])
        over_tasks, root_dir = root_dir, (args[0] if args else None)
        args = args[1:]
    if args:
        raise TypeError(f"select_storage_dirs() takes at most 4 arguments ({len(args) + 3} given)")
    dirs = _select(Path(from_file) if from_file is not None else None, storage_name,
                   Path(root_dir) if root_dir is not None else None)
    if over_tasks:
        dirs = list(dict.fromkeys(d for first in dirs for d in get_storage_dirs_across_tasks(first, first.parent)))
    return dirs
