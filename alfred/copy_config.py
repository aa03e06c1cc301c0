"""Copy searches: new storage dirs with the same experiments, all UNHATCHED, for another task or desc.

    python -m alfred.copy_config --storage_name Se3_1a2b3c4_ppo_cartpole_grid_lr --new_task acrobot
    python -m alfred.copy_config --from_file schedules/lr/list_searches_lr.txt --new_desc longer \\
        --additional_param n_steps=2000000,int

Each new storage dir gets a new id, the source's git hashes field and alg name, the task
--new_task (default: the source's) and the desc ``<grid|random>_<desc>``, desc being the
source's followed by ``_<new_desc>`` (--append_new_desc, the default, as in 0.2) or --new_desc
itself (--append_new_desc False). Each seed folder is fresh: config.json and config_unique.json
with task_name (and desc) replaced, and UNHATCHED. GRID_SEARCH or RANDOM_SEARCH,
variations.json and variations<k>.png are copied; prepare_info.json is the source's with the
new task, desc and ``copied_from``. Each folder appears at once, complete (built in a
temporary folder, then renamed onto the reserved name).

--additional_param name=value,type sets a hyperparameter in every config.json: a new name
is added, a name the configs already hold is overridden. Names the search varies (those in
config_unique.json) and alg_name, task_name, seed, desc are refused: one value for a varied
hyperparameter would make the experiments identical. Types: int, float, str, bool, None
(e.g. lr=0.01,float  use_gpu=true,bool  comment=a,b,str  scheduler=None,None  budget=inf,float).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from alfred.search.copy import copy_search, parse_additional_param, plan_copy
from alfred.utils.config import add_bool_flag
from alfred.utils.misc import AlfredError, ask_yes_no, call_with_flags, cli_main, progress_bar
from alfred.utils.selection import add_selection_args, append_to_list_file, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.copy_config", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser, storage_help="storage dir to copy")
    parser.add_argument("--new_task", default=None, help="the task_name of the copies (default: the source's)")
    parser.add_argument("--new_desc", default=None,
                        help="the desc of the copies, appended to the source's (see --append_new_desc; "
                             "default: the source's desc)")
    add_bool_flag(parser, "--append_new_desc", default=True,
                  help="the copy's desc is <source desc>_<new_desc> (default: true, as in 0.2); false: <new_desc>")
    parser.add_argument("--additional_param", dest="additional_params", type=parse_additional_param,
                        action="append", default=[], metavar="NAME=VALUE,TYPE",
                        help="set a hyperparameter in every config.json (repeatable); TYPE: int, float, str, "
                             "bool, None. A new name is added, an existing one overridden; varied ones refused")
    parser.add_argument("--list_file", type=Path, default=None,
                        help="append the new storage names to this list file (e.g. schedules/list_searches_<name>.txt),"
                             " for --from_file in launch_schedule and the others")
    add_bool_flag(parser, "--yes", "-y", help="create without asking for confirmation")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    additional: dict[str, Any] = {}
    for name, value in args.additional_params:
        if name in additional:
            raise AlfredError(f"--additional_param {name} is given twice")
        additional[name] = value
    sources = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    plans = [plan_copy(source, new_task=args.new_task, new_desc=args.new_desc, additional=additional,
                       append_new_desc=args.append_new_desc) for source in sources]
    for plan in plans:
        print(plan.describe())
    if not args.yes and not ask_yes_no(f"Create these {len(plans)} copies?" if len(plans) > 1 else "Create it?"):
        print("aborted: nothing was created")
        return 1
    for plan in plans:
        with progress_bar(len(plan.seeds), unit="seed", desc="copying") as progress:
            created = copy_search(plan, progress=progress)
        print(f"created {created}")
        if args.list_file is not None:
            append_to_list_file(args.list_file, created.parent, [created.name])
            print(f"storage name appended to {args.list_file}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def copy_configs(from_file=None, storage_name=None, new_desc=None, append_new_desc=True, additional_params=None,
                 root_dir=None, **flags) -> int:
    """Python entry point, 0.2's call form: ``copy_configs(from_file, storage_name, new_desc,
    append_new_desc, additional_params, root_dir)``, ``additional_params`` a list of ``(name, value)``
    (or ``"name=value,type"``); other flags as keywords (``new_task=``, ``yes=``). Returns the exit
    code, raises AlfredError on bad input."""
    params = [p if isinstance(p, str) else _param_text(*p) for p in additional_params or []]
    return call_with_flags(run, build_parser(), {
        "from_file": from_file, "storage_name": storage_name, "new_desc": new_desc,
        "append_new_desc": append_new_desc, "additional_params": params or None, "root_dir": root_dir, **flags})


# 0.2 names ----------------------------------------------------------------------------------

def _param_text(name: str, value: Any) -> str:
    kind = "None" if value is None else type(value).__name__
    text = repr(value) if isinstance(value, float) else str(value)  # repr: every digit of a float
    return f"{name}={text},{kind}"


def my_type_func(add_arg: str) -> tuple[str, Any]:
    """0.2's name of the ``--additional_param`` parser: ``"lr=0.1,float"`` -> ``("lr", 0.1)``."""
    return parse_additional_param(add_arg)


def get_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


if __name__ == "__main__":
    sys.exit(main())
