"""Write one self-contained HTML report of some searches: open it in a browser, no server needed.

    python -m alfred.report --from_file schedules/list_searches_demo.txt
        -> schedules/report_searches_demo.html (beside the list file)
    python -m alfred.report --storage_name <storage name>
        -> <storage dir>/report.html (also rewritten after each automatic summary)

Per search: how far along (seeds per state, elapsed, ETA, crashes with their exception and
the relative paths of CRASH.txt and logger.out), what won (the best experiment, its score
and interval, its config), how sure (the summary's confidence, P(best) when the summary has
it), a table of every experiment (varied hyperparameters, score, interval, seeds, state)
sortable by any column and filterable by text, the summary figures and the plot arrays;
for a list file, the comparison figures too. Parts that do not exist yet say so.

The page is one file: figures embedded, CSS and a little JavaScript inline, no network
request. Links are relative, so the report moves with its storage dirs.

--watch SECONDS rewrites the report every SECONDS while a search runs; the page then reloads
itself at that interval, until no seed waits or runs and no summary is being written.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from alfred.utils.config import positive_float
from alfred.utils.misc import AlfredError, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    parser.add_argument("--output", type=Path, default=None,
                        help="the HTML file to write (default: report_<name>.html beside the list file, or "
                             "report.html in the storage dir)")
    parser.add_argument("--watch", type=positive_float, default=None, metavar="SECONDS",
                        help="rewrite the report every SECONDS until the searches are finished; the page "
                             "reloads itself at that interval meanwhile")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    from alfred.results.report import report_path, write_report

    path = args.output or report_path(list_file=args.from_file, storage_dir=storage_dirs[0])
    if args.output is not None and args.output.is_dir():
        raise AlfredError(f"--output {args.output} is a folder: give the path of the HTML file to write")
    finished_passes = 0
    while True:
        result = write_report(storage_dirs, path, list_file=args.from_file, refresh_s=args.watch)
        print(f"{time.strftime('%H:%M:%S')} wrote {result.path} ({result.n_bytes / 1e6:.2f} MB, "
              f"{result.n_searches} search{'es' if result.n_searches != 1 else ''}"
              f"{'' if result.finished else ', unfinished'})", flush=True)
        # Stop after two finished passes one interval apart: a launcher that just ran the last
        # seed claims the summary within that interval, and the report then waits for it.
        finished_passes = finished_passes + 1 if result.finished else 0
        if args.watch is None or finished_passes >= 2:
            return 0
        time.sleep(args.watch)


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
