"""Summarise searches, and compare searches or models, from the seeds' recorders.

Without --benchmark_type, each storage dir gets a summary in <storage_dir>/summary/:
learning curves (mean and interval per experiment, the top ones coloured), the ranking of
the experiments' performance (dots with intervals, best first), every seed's score (CSV and
JSON), bestConfig_exp<N>.json (the best experiment's config_unique without its seed) and
summary.txt / summary.json saying how sure the choice is: which experiments' intervals
overlap the best one's.

  --benchmark_type compare_searches   one figure: the distribution of every search's
                                      experiment scores (vertical densities + box plots)
  --benchmark_type compare_models     learning curves of the best experiment of each storage
                                      dir, one panel per task, with intervals; with two or
                                      more algorithms also rliable's figures: aggregates
                                      over tasks (IQM, median, mean, optimality gap) with
                                      intervals, performance profiles, probability of
                                      improvement

Comparisons are written to benchmark_<name>/ beside the list file (--from_file), or in the
root dir (--storage_names). Defaults for every metric choice come from the schedule's
RESULTS = {...} (stored in prepare_info.json), else from each metric's default when it is
recorded (x episode, y eval_return, performance avg_eval_return, aggregation last; a project
may change them in alfred.defaults); command-line flags override them.

The performance of a seed is its performance_metric curve reduced by
performance_aggregation; an experiment's performance is the mean over its seeds (the median
with --y_error_bars 10th_quantile), its interval a 95% percentile bootstrap of that mean
(bootstrapped_CI), mean +- 1.96 standard errors (stderr) or the 10%-90% quantiles.
"""
from __future__ import annotations

import argparse
import logging
import sys

from alfred.protocol.layout import StorageDir, comparison_dir, comparison_record
from alfred.results.settings import add_figure_args, add_results_args, check_aggregation, overrides_from
from alfred.utils.config import add_bool_flag, parse_log_level
from alfred.utils.misc import AlfredError, call_with_flags, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs

COMPARISONS = ("compare_searches", "compare_models")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark_type", choices=COMPARISONS, default=None,
                        help="compare several storage dirs (default: summarise each one)")
    add_selection_args(parser)
    add_results_args(parser)
    add_figure_args(parser)
    add_bool_flag(parser, "--re_run_if_exists", help="redo summaries and comparisons that already exist")
    parser.add_argument("--n_resamples", type=int, default=10_000, help="bootstrap resamples (default: 10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default: 0)")
    parser.add_argument("--n_eval_runs", type=int, default=100,
                        help="0.2's flag, accepted for its commands: it only served --performance_metric "
                             "evaluation_runs (evaluate.py called on each seed), which alfred does not run")
    parser.add_argument("--log_level", type=parse_log_level, default=logging.INFO,
                        help="level of the messages logged by alfred's library (default: info)")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    if args.performance_metric == "evaluation_runs":
        raise AlfredError("--performance_metric evaluation_runs (0.2: evaluate.py's evaluate() run on every seed "
                          "--n_eval_runs times) is not supported: have main.py record the evaluation's return "
                          "(e.g. eval_return) and name that metric")
    if args.n_resamples < 1:
        raise AlfredError(f"--n_resamples must be >= 1, got {args.n_resamples}")
    if args.performance_aggregation is not None:
        check_aggregation(args.performance_aggregation)
    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    overrides = overrides_from(args)
    if args.benchmark_type is None:
        from alfred.results.auto_summary import seed_counts
        from alfred.results.summary import seeds_counted, summarize_search, summary_headline, summary_notes

        for d in storage_dirs:
            storage = StorageDir(d)
            before = storage.summary_files.json.stat().st_mtime_ns if storage.summary_files.json.is_file() else None
            summary = summarize_search(d, **overrides, n_resamples=args.n_resamples, seed=args.seed,
                                       re_run_if_exists=args.re_run_if_exists, style=args.style,
                                       figure_formats=args.figure_formats)
            kept = before is not None and storage.summary_files.json.stat().st_mtime_ns == before  # not redone
            print(f"{d.name}: {summary_headline(summary)}")
            for note in summary_notes(summary):
                print(f"  {note}")
            if not kept:
                print(f"  wrote {storage.summary_dir}")
                continue
            counted, now = seeds_counted(summary), seed_counts(d)[1]
            since = (f"; {now} seeds have completed since it was made from {counted}: pass --re_run_if_exists "
                     "to redo it") if counted is not None and counted < now else ""
            print(f"  kept existing {storage.summary_dir}{since}")
        return 0
    from alfred.results import comparison

    out_dir = comparison_dir(args.from_file, storage_dirs)
    marker = comparison_record(out_dir, args.benchmark_type)
    settings = comparison.shared_settings(storage_dirs, overrides, args.benchmark_type)  # refuses mixed metrics
    if marker.exists() and not args.re_run_if_exists:
        reason = comparison.redo_reason(marker, storage_dirs, args.benchmark_type, settings,
                                        n_resamples=args.n_resamples, seed=args.seed, style=args.style,
                                        figure_formats=args.figure_formats)
        if reason is None:
            print(f"kept existing {out_dir} ({args.benchmark_type} of the same {len(storage_dirs)} storage dir(s) "
                  "and settings; pass --re_run_if_exists to redo it)")
            return 0
        print(f"{marker} {reason}: redoing it")
    getattr(comparison, args.benchmark_type)(storage_dirs, out_dir, overrides, n_resamples=args.n_resamples,
                                             seed=args.seed, style=args.style, figure_formats=args.figure_formats)
    print(f"wrote {out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def benchmark(**flags) -> int:
    """Python entry point: ``benchmark(from_file=..., benchmark_type=...)``, keywords named like the
    flags; returns the exit code, raises AlfredError on bad input."""
    return call_with_flags(run, build_parser(), flags)


# 0.2 names ----------------------------------------------------------------------------------
# 0.2's functions, each a call of the command above. visuals_file, additional_curves_file(s)
# and make_performance_chart / make_learning_plots are accepted and unused: alfred's figures
# label, colour and draw everything by themselves (docs/migrating.md).

def get_benchmark_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


def _benchmark_02(benchmark_type, storage_names, *, root_dir, re_run_if_exists, x_metric, y_metric, y_error_bars,
                  performance_metric, performance_aggregation, n_eval_runs) -> int:
    return call_with_flags(run, build_parser(), {
        "benchmark_type": benchmark_type, "storage_name": list(storage_names), "root_dir": root_dir,
        "re_run_if_exists": re_run_if_exists, "x_metric": x_metric, "y_metric": y_metric, "y_error_bars": y_error_bars,
        "performance_metric": performance_metric, "performance_aggregation": performance_aggregation,
        "n_eval_runs": n_eval_runs})


def compare_models(storage_names, n_eval_runs=100, re_run_if_exists=False, logger=None, root_dir=None, x_metric=None,
                   y_metric=None, y_error_bars=None, visuals_file=None, additional_curves_file=None,
                   performance_metric=None, performance_aggregation=None, make_performance_chart=True,
                   make_learning_plots=True) -> int:
    """``benchmark --benchmark_type compare_models`` of ``storage_names``; returns the exit code."""
    return _benchmark_02("compare_models", storage_names, root_dir=root_dir, re_run_if_exists=re_run_if_exists,
                         x_metric=x_metric, y_metric=y_metric, y_error_bars=y_error_bars,
                         performance_metric=performance_metric, performance_aggregation=performance_aggregation,
                         n_eval_runs=n_eval_runs)


def summarize_search(storage_name, n_eval_runs=100, re_run_if_exists=False, logger=None, root_dir=None,
                     x_metric=None, y_metric=None, y_error_bars=None, performance_metric=None,
                     performance_aggregation=None, make_performance_chart=True, make_learning_plots=True) -> int:
    """``benchmark --storage_names <storage_name>``: the summary of one search; returns the exit code."""
    return _benchmark_02(None, [storage_name], root_dir=root_dir, re_run_if_exists=re_run_if_exists,
                         x_metric=x_metric, y_metric=y_metric, y_error_bars=y_error_bars,
                         performance_metric=performance_metric, performance_aggregation=performance_aggregation,
                         n_eval_runs=n_eval_runs)


def compare_searches(storage_names, x_metric=None, y_metric=None, y_error_bars=None, performance_metric=None,
                     performance_aggregation=None, visuals_file=None, additional_curves_files=None,
                     re_run_if_exists=False, logger=None, root_dir=None, n_eval_runs=100) -> int:
    """``benchmark --benchmark_type compare_searches`` of ``storage_names``; returns the exit code."""
    return _benchmark_02("compare_searches", storage_names, root_dir=root_dir, re_run_if_exists=re_run_if_exists,
                         x_metric=x_metric, y_metric=y_metric, y_error_bars=y_error_bars,
                         performance_metric=performance_metric, performance_aggregation=performance_aggregation,
                         n_eval_runs=n_eval_runs)


if __name__ == "__main__":
    sys.exit(main())
