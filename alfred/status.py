"""Show how far the searches of some storage dirs have got; reads files, changes nothing.

Per storage dir: seeds per state, a progress bar, time since the first run started and an
estimate of the time left. Without --from_file and --storage_name: every storage dir of the
root dir.

  states     UNHATCHED (waiting), running (live pid on this host or fresh heartbeat),
             interrupted (dead pid or stale heartbeat: clean_interrupted resets them),
             CRASH (CRASH.txt), COMPLETED
  progress   (COMPLETED + CRASH + pruned + paused) / total; the bar shows # completed, x crashed,
             > running, . the rest
  elapsed    from the earliest start recorded in the OPENED files read and in the
             sampled COMPLETED files (the sample includes the first seeds in launch
             order, i.e. the first ones claimed) to now; once no seed waits or runs, to
             the end of the last run (the latest COMPLETED, CRASH.txt or interrupted
             OPENED file), so a finished search's elapsed time stops growing
  ETA        ((UNHATCHED seeds x mean duration) + what is left of each running seed's mean
             duration) / number of seeds running now (one per worker). The mean duration
             comes from at most 200 COMPLETED files, evenly spread. No ETA without a
             completed run or a running worker. Interrupted seeds are not counted: they
             run again only after clean_interrupted.
  adaptive   (a search prepared from an adaptive schedule) two more states, pruned (stopped
             at a rung) and paused (at a rung, waiting for a promotion), the budget spent
             (experiments; steps: the highest step each run recorded, summed), and per
             rung: the runs that reached it (recorded a value), were stopped there or went
             on (stop mode), are paused there or were promoted (promote mode), the best
             value recorded there; "(final)" marks the rung at max_resource.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from alfred.protocol.listing import list_storage_dirs
from alfred.search.status import format_status, storage_status
from alfred.utils.config import add_bool_flag, add_stale_after_arg
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a number of seconds > 0, got 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    add_bool_flag(parser, "--crashes",
                  help="list each crashed seed: its exception (first line of CRASH.txt) and the path of the full "
                       "traceback")
    parser.add_argument("--watch", nargs="?", type=_positive_seconds, const=10.0, default=None, metavar="SECONDS",
                        help="refresh every SECONDS (default 10) until no seed is UNHATCHED or running")
    add_bool_flag(parser, "--json",
                  help="print the same facts as JSON (one object: {'storage_dirs': [...]}) for scripts")
    add_stale_after_arg(parser)
    return parser


def _storage_dirs(args: argparse.Namespace) -> list[Path]:
    if args.from_file is not None or args.storage_name is not None:
        return select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    root = Path(args.root_dir or DirectoryTree.default_root)
    if not root.is_dir():
        raise AlfredError(f"root dir {root} does not exist (pass --root_dir, --storage_name or --from_file)")
    refused: list[str] = []
    storage_dirs = list_storage_dirs(root, refused)
    for line in refused:  # on stderr: --json keeps stdout one JSON object
        print(line, file=sys.stderr)
    return storage_dirs


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    storage_dirs = _storage_dirs(args)
    if not storage_dirs:
        print(f"no storage dir in {Path(args.root_dir or DirectoryTree.default_root)}")
        return 0
    while True:
        statuses = [storage_status(d, stale_after_s=args.stale_after_s, with_crashes=args.crashes)
                    for d in storage_dirs]
        if args.json:
            print(json.dumps({"time": time.time(), "storage_dirs": [s.to_dict() for s in statuses]}, indent=1),
                  flush=True)
        else:
            if args.watch is not None and sys.stdout.isatty():
                print("\033[H\033[J", end="")  # clear the screen
            print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {len(statuses)} storage dir(s)")
            print("\n".join(format_status(s) for s in statuses), flush=True)
        if args.watch is None or not any(s.active for s in statuses):
            return 0
        time.sleep(args.watch)


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
