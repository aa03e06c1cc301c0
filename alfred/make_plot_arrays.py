"""Draw every seed's learning curve: per storage dir, one panel per experiment.

For each (x_metric, y_metric) pair asked for, <storage_dir>/plots/<y>_vs_<x>.png holds a
grid of panels, one per experiment, one curve per seed. A grid search with two or more varied
hyperparameters is laid out as its grid (from variations.json): the last one across the
columns, the combinations of the others down the rows; otherwise panels are ordered by
experiment. Each panel is titled with its varied values. At most --max_panels
panels are drawn: for larger searches the top experiments (by the performance settings)
are plotted, and the figure title says so.

--x_metric / --y_metric take lists: one x for every y, or one x per y. --plots_to_make (0.2's
form) names each figure with its axis limits: "x,y,x_min,x_max,y_min,y_max", None for a limit
left to the data, e.g. --plots_to_make "episode,eval_return,None,None,0,350". Without them
(and without x_metric / y_metric in the schedule's RESULTS), the pairs of
alfred.defaults.DEFAULT_PLOTS_ARRAYS_TO_MAKE that are recorded are drawn, with their axis
limits; else the summary's metrics. --remove_none joins the points of a metric recorded only
every k-th entry (the entries between hold None) into a line.
"""
from __future__ import annotations

import argparse
import sys

from alfred.protocol.layout import PLOT_ARRAYS_ONGOING, StorageDir
from alfred.results.settings import DEFAULT_MAX_PANELS, add_figure_args, add_results_args, overrides_from
from alfred.utils.config import add_bool_flag
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
    parser.add_argument("--plots_to_make", type=plot_definition_parser, nargs="+", default=None,
                        metavar="X,Y,XMIN,XMAX,YMIN,YMAX",
                        help="figures to draw, one per definition: metrics and axis limits (None: fitted to the "
                             "data), e.g. \"episode,eval_return,None,None,0,350\" (default: as above)")
    add_bool_flag(parser, "--remove_none", help="join a metric's recorded points, skipping the None entries between "
                                                "them (default: false)")
    add_figure_args(parser)
    return parser


def plot_definition_parser(to_parse: str) -> tuple[str | None, str, tuple, tuple]:
    """argparse ``type=`` of --plots_to_make: ``"episode, eval_return, None, None, 0, 350"`` ->
    ``("episode", "eval_return", (None, None), (0.0, 350.0))``; x ``None`` plots against the entry index."""
    words = [w.strip() for w in to_parse.split(",")]
    if len(words) != 6 or not words[1]:
        raise argparse.ArgumentTypeError(f"expected x_metric,y_metric,x_min,x_max,y_min,y_max (None for a limit "
                                         f"fitted to the data), got {to_parse!r}")
    limits = []
    for word in words[2:]:
        try:
            limits.append(None if word.lower() == "none" else float(word))
        except ValueError:
            raise argparse.ArgumentTypeError(f"axis limit {word!r} in {to_parse!r} is neither a number nor None") \
                from None
    x_metric = None if words[0].lower() == "none" else words[0]
    return x_metric, words[1], (limits[0], limits[1]), (limits[2], limits[3])


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from alfred.results.plot_arrays import make_plot_arrays
    from alfred.results.settings import plot_arrays_for, resolve_settings

    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    overrides = {**overrides_from(args), "x_metric": args.x_metric[0] if args.x_metric else None,
                 "y_metric": args.y_metric[0] if args.y_metric else None}
    if args.plots_to_make and not args.y_metric:  # the first figure's metrics settle what a summary would
        overrides.update(x_metric=overrides["x_metric"] or args.plots_to_make[0][0], y_metric=args.plots_to_make[0][1])
    for storage_dir in storage_dirs:
        settings = resolve_settings(storage_dir, overrides)
        limits = None
        if args.plots_to_make:
            xs, ys = [p[0] for p in args.plots_to_make], [p[1] for p in args.plots_to_make]
            limits = {(p[0], p[1]): p[2:] for p in args.plots_to_make}
        elif args.x_metric or args.y_metric:
            xs, ys = args.x_metric or [settings.x_metric], args.y_metric or [settings.y_metric]
        else:
            pairs = plot_arrays_for(storage_dir, settings, overrides)
            xs, ys, limits = [p[0] for p in pairs], [p[1] for p in pairs], {(p[0], p[1]): p[2:] for p in pairs}
        written = make_plot_arrays(storage_dir, x_metrics=xs, y_metrics=ys, settings=settings,
                                   max_panels=args.max_panels, limits=limits, remove_none=args.remove_none,
                                   style=args.style, figure_formats=args.figure_formats)
        if not written:
            lock = StorageDir(storage_dir).flag(PLOT_ARRAYS_ONGOING)
            print(f"{storage_dir.name}: skipped, another process holds {lock}")
        for path in written:
            print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def create_plot_arrays(from_file=None, storage_name=None, root_dir=None, remove_none=False, logger=None,
                       plots_to_make=None, **flags) -> int:
    """Python entry point, 0.2's call form: ``plots_to_make`` a list of ``(x_metric, y_metric, x_lim,
    y_lim)`` (limits ``(low, high)`` or None; default: alfred.defaults.DEFAULT_PLOTS_ARRAYS_TO_MAKE);
    other flags as keywords (``y_metric=[...]``). Returns the exit code, raises AlfredError on bad input."""
    definitions = None
    if plots_to_make is not None:
        definitions = [",".join(str(v) for v in (x, y, *(x_lim or (None, None)), *(y_lim or (None, None))))
                       for x, y, x_lim, y_lim in plots_to_make]
    return call_with_flags(run, build_parser(), {"from_file": from_file, "storage_name": storage_name,
                                                  "root_dir": root_dir, "remove_none": remove_none,
                                                  "logger": logger, "plots_to_make": definitions, **flags})


# 0.2 names ----------------------------------------------------------------------------------

def get_make_plots_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


if __name__ == "__main__":
    sys.exit(main())
