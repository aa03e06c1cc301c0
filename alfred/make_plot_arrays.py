"""Draw every seed's learning curve: per storage dir, one panel per experiment.

For each (x_metric, y_metric) pair asked for, <storage_dir>/plots/<y>_vs_<x>.png holds a
grid of panels, one per experiment, one curve per seed. A grid search with two varied
hyperparameters gets their values as rows and columns (from variations.json); otherwise
panels are ordered by experiment and titled with the varied values. At most --max_panels
panels are drawn: for larger searches the top experiments (by the performance settings)
are plotted, and the figure title says so.

--x_metric / --y_metric take lists: one x for every y, or one x per y.
"""
from __future__ import annotations

import argparse
import sys

from alfred.results.settings import DEFAULT_MAX_PANELS, add_results_args
from alfred.utils.layout import PLOT_ARRAYS_ONGOING, StorageDir
from alfred.utils.misc import cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.make_plot_arrays", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    parser.add_argument("--x_metric", nargs="+", default=None,
                        help="x-axis metric(s) (default: RESULTS' x_metric, else 'step' when recorded)")
    parser.add_argument("--y_metric", nargs="+", default=None, help="y-axis metric(s) (default: RESULTS' y_metric)")
    parser.add_argument("--max_panels", type=int, default=DEFAULT_MAX_PANELS,
                        help="most experiments drawn per figure, the top ones when there are more "
                             f"(default: {DEFAULT_MAX_PANELS})")
    add_results_args(parser)
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from alfred.results.plot_arrays import make_plot_arrays
    from alfred.results.settings import resolve_settings

    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    for storage_dir in storage_dirs:
        overrides = {"performance_metric": args.performance_metric, "recorder_name": args.recorder_name,
                     "performance_aggregation": args.performance_aggregation, "lower_is_better": args.lower_is_better,
                     "x_metric": args.x_metric[0] if args.x_metric else None,
                     "y_metric": args.y_metric[0] if args.y_metric else None}
        settings = resolve_settings(storage_dir, overrides)
        xs = args.x_metric or [settings.x_metric]
        ys = args.y_metric or [settings.y_metric]
        written = make_plot_arrays(storage_dir, x_metrics=xs, y_metrics=ys, settings=settings,
                                   max_panels=args.max_panels)
        if not written:
            lock = StorageDir(storage_dir).flag(PLOT_ARRAYS_ONGOING)
            print(f"{storage_dir.name}: skipped, another process holds {lock}")
        for path in written:
            print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
