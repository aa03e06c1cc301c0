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
import sys

from alfred.protocol.layout import StorageDir, comparison_dir, comparison_record
from alfred.results.settings import add_figure_args, add_results_args, check_aggregation, overrides_from
from alfred.utils.config import add_bool_flag
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
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
