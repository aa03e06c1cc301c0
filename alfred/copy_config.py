"""Copy a search to another task: a new storage dir with the same experiments, all UNHATCHED.

    python -m alfred.copy_config --storage_name Se3_1a2b3c4_ppo_cartpole_grid_lr --new_task acrobot

The new storage dir gets a new id, the source's git hashes field and alg name, the new task
name and the desc ``<grid|random>_<new_desc>``. Each seed folder is fresh: config.json and
config_unique.json with task_name (and desc) replaced, and UNHATCHED. GRID_SEARCH or
RANDOM_SEARCH, variations.json and variations<k>.png are copied; prepare_info.json is the
source's with the new task, desc and ``copied_from``. The folder appears at once, complete
(built in a temporary folder, then renamed onto the reserved name).

--additional_param name=value,type sets a hyperparameter in every config.json: a new name
is added, a name the configs already hold is overridden. Names the search varies (those in
config_unique.json) and alg_name, task_name, seed, desc are refused: one value for a varied
hyperparameter would make the experiments identical. Types: int, float, str, bool, None
(e.g. lr=0.01,float  use_gpu=true,bool  comment=a,b,str  scheduler=None,None).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from alfred.search.copy import copy_search, parse_additional_param, plan_copy
from alfred.utils.config import add_bool_flag
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError, ask_yes_no, call_with_flags, cli_main, progress_bar
from alfred.utils.selection import append_to_list_file, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.copy_config", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage_name", "--storage_names", dest="storage_name", required=True,
                        help="the storage dir to copy (a folder of the root dir)")
    parser.add_argument("--new_task", required=True, help="the task_name of the copy")
    parser.add_argument("--new_desc", default=None,
                        help="the desc of the copy (its storage name ends with <grid|random>_<new_desc>; "
                             "default: the source's desc)")
    parser.add_argument("--additional_param", type=parse_additional_param, action="append", default=[],
                        metavar="NAME=VALUE,TYPE",
                        help="set a hyperparameter in every config.json (repeatable); TYPE: int, float, str, "
                             "bool, None. A new name is added, an existing one overridden; varied ones refused")
    parser.add_argument("--root_dir", type=Path, default=None,
                        help=f"folder of the storage dirs (default: {DirectoryTree.default_root})")
    parser.add_argument("--list_file", type=Path, default=None,
                        help="append the new storage name to this list file (e.g. schedules/list_searches_<name>.txt), "
                             "for --from_file in launch_schedule and the others")
    add_bool_flag(parser, "--yes", "-y", help="create without asking for confirmation")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    additional: dict[str, Any] = {}
    for name, value in args.additional_param:
        if name in additional:
            raise AlfredError(f"--additional_param {name} is given twice")
        additional[name] = value
    (source,) = select_storage_dirs(None, args.storage_name, args.root_dir)
    plan = plan_copy(source, new_task=args.new_task, new_desc=args.new_desc, additional=additional)
    print(plan.describe())
    if not args.yes and not ask_yes_no("Create it?"):
        print("aborted: nothing was created")
        return 1
    with progress_bar(len(plan.seeds), unit="seed", desc="copying") as progress:
        created = copy_search(plan, progress=progress)
    print(f"created {created}")
    if args.list_file is not None:
        append_to_list_file(args.list_file, created.parent, [created.name])
        print(f"storage name appended to {args.list_file}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def copy_configs(**flags) -> int:
    """Python entry point (0.2): ``copy_configs(storage_name=..., new_task=...)``, keywords named like the flags;
    returns the exit code, raises AlfredError on bad input."""
    return call_with_flags(run, build_parser(), flags)


if __name__ == "__main__":
    sys.exit(main())
