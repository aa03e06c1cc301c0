"""Draw every seed's learning curve: per storage dir, one panel per experiment.

For each (x_metric, y_metric) pair asked for, <storage_dir>/plots/<y>_vs_<x>.png holds a
grid of panels, one per experiment, one curve per seed. A grid search with two or more varied
hyperparameters is laid out as its grid (from variations.json): the last one across the
columns, the combinations of the others down the rows; otherwise panels are ordered by
experiment. Each panel is titled with its varied values. At most --max_panels
panels are drawn: for larger searches the top experiments (by the performance settings)
are plotted, and the figure title says so.

--x_metric / --y_metric take lists: one x for every y, or one x per y. Without them (and
without x_metric / y_metric in the schedule's RESULTS), the pairs of
alfred.defaults.DEFAULT_PLOTS_ARRAYS_TO_MAKE that are recorded are drawn, with their axis
limits; else the summary's metrics.
"""
from __future__ import annotations

import argparse
import sys

from alfred.protocol.layout import PLOT_ARRAYS_ONGOING, StorageDir
from alfred.results.settings import DEFAULT_MAX_PANELS, add_figure_args, add_results_args, overrides_from
from alfred.utils.misc import call_with_flags, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.make_plot_arrays", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    parser.add_argument("--max_panels", type=int, default=DEFAULT_MAX_PANELS,
                        help="most experiments drawn per figure, the top ones when there are more "
                             f"(default: {DEFAULT_MAX_PANELS})")
    add_results_args(parser, metric_lists=True)
    add_figure_args(parser)
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from alfred.results.plot_arrays import make_plot_arrays
    from alfred.results.settings import plot_arrays_for, resolve_settings

    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    overrides = {**overrides_from(args), "x_metric": args.x_metric[0] if args.x_metric else None,
                 "y_metric": args.y_metric[0] if args.y_metric else None}
    for storage_dir in storage_dirs:
        settings = resolve_settings(storage_dir, overrides)
        limits = None
        if args.x_metric or args.y_metric:
            xs, ys = args.x_metric or [settings.x_metric], args.y_metric or [settings.y_metric]
        else:
            pairs = plot_arrays_for(storage_dir, settings, overrides)
            xs, ys, limits = [p[0] for p in pairs], [p[1] for p in pairs], {(p[0], p[1]): p[2:] for p in pairs}
        written = make_plot_arrays(storage_dir, x_metrics=xs, y_metrics=ys, settings=settings,
                                   max_panels=args.max_panels, limits=limits, style=args.style,
                                   figure_formats=args.figure_formats)
        if not written:
            lock = StorageDir(storage_dir).flag(PLOT_ARRAYS_ONGOING)
            print(f"{storage_dir.name}: skipped, another process holds {lock}")
        for path in written:
            print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def create_plot_arrays(**flags) -> int:
    """Python entry point (0.2): ``create_plot_arrays(from_file=..., y_metric=[...])``, keywords named
    like the flags; returns the exit code, raises AlfredError on bad input."""
    return call_with_flags(run, build_parser(), flags)


if __name__ == "__main__":
    sys.exit(main())
