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
import json
import math
import sys
from pathlib import Path

import numpy as np

from alfred.utils.directory_tree import PLOT_ARRAYS_COMPLETED, PLOT_ARRAYS_ONGOING, PLOTS_DIR
from alfred.utils.misc import AlfredError, cli_main
from alfred.utils.results import iter_curves
from alfred.utils.selection import add_selection_args, select_storage_dirs

MAX_PANELS = 64


def metric_pairs(x_metrics: list[str | None], y_metrics: list[str]) -> list[tuple[str | None, str]]:
    if len(x_metrics) == 1:
        return [(x_metrics[0], y) for y in y_metrics]
    if len(x_metrics) == len(y_metrics):
        return list(zip(x_metrics, y_metrics))
    raise AlfredError(f"give one --x_metric for all --y_metric, or one per y_metric: got {len(x_metrics)} x "
                      f"and {len(y_metrics)} y metrics")


def _layout(storage_dir: Path, configs: dict[int, dict]) -> tuple[int, int, dict[int, tuple[int, int]], list[str],
                                                                   dict[int, str]]:
    """(n_rows, n_cols, experiment -> (row, col), varied keys, experiment -> panel title)."""
    experiments = sorted(configs)
    keys = list(dict.fromkeys(k for c in configs.values() for k in c))
    varied = [k for k in keys if k not in ("alg_name", "task_name")
              and len({json.dumps(c.get(k), sort_keys=True) for c in configs.values()}) > 1]
    variations = {}
    vpath = storage_dir / "variations.json"
    if vpath.is_file():
        try:
            variations = json.loads(vpath.read_text(encoding="utf-8"))
        except ValueError:
            variations = {}
    titles = {e: f"exp{e}" + (": " + ", ".join(f"{k}={_short(configs[e].get(k))}" for k in varied) if varied else "")
              for e in experiments}
    if len(varied) == 2 and all(k in variations for k in varied):
        rows_v, cols_v = ([json.dumps(v, sort_keys=True) for v in variations[k]] for k in varied)
        pos, ok = {}, True
        for e in experiments:
            r = json.dumps(configs[e].get(varied[0]), sort_keys=True)
            c = json.dumps(configs[e].get(varied[1]), sort_keys=True)
            if r not in rows_v or c not in cols_v or (rows_v.index(r), cols_v.index(c)) in pos.values():
                ok = False
                break
            pos[e] = (rows_v.index(r), cols_v.index(c))
        if ok and len(rows_v) * len(cols_v) <= MAX_PANELS:
            used_r = sorted({p[0] for p in pos.values()})
            used_c = sorted({p[1] for p in pos.values()})
            pos = {e: (used_r.index(r), used_c.index(c)) for e, (r, c) in pos.items()}
            return len(used_r), len(used_c), pos, varied, titles
    if varied and all(k in variations for k in varied):  # order panels along the grid's values
        def key(e):
            out = []
            for k in varied:
                vals = [json.dumps(v, sort_keys=True) for v in variations[k]]
                s = json.dumps(configs[e].get(k), sort_keys=True)
                out.append(vals.index(s) if s in vals else len(vals))
            return out
        experiments = sorted(experiments, key=key)
    n = len(experiments)
    n_cols = min(n, max(1, math.ceil(math.sqrt(n * 1.3))))
    if len(varied) == 1 and n <= 8:
        n_cols = n
    n_rows = math.ceil(n / n_cols)
    return n_rows, n_cols, {e: divmod(i, n_cols) for i, e in enumerate(experiments)}, varied, titles


def _short(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def plot_array(storage_dir: Path, x_metric: str | None, y_metric: str, *, recorder_name: str = "train_recorder",
               experiments: list[int] | None = None, n_total: int | None = None, ranked_by: str = "",
               max_panels: int = MAX_PANELS) -> Path:
    """One figure for one (x, y) pair; returns the png path."""
    from alfred.utils import plots

    curves = list(iter_curves(storage_dir, y_metric=y_metric, x_metric=x_metric, recorder_name=recorder_name,
                              experiments=set(experiments) if experiments is not None else None))
    if not curves:
        raise AlfredError(f"no completed seed of {storage_dir.name} recorded {y_metric!r}")
    if len(curves) > max_panels:
        n_total = n_total or len(curves)
        curves = curves[:max_panels]
    by_exp = {c.experiment: c for c in curves}
    n_rows, n_cols, pos, varied, titles = _layout(storage_dir, {c.experiment: c.config for c in curves})
    panel = (3.2, 2.4) if len(curves) > 16 else (4.0, 3.0)
    fig, axes = plots.new_figure(n_rows, n_cols, panel_size=panel, sharex=True, sharey=True)
    used = set()
    for e, (r, col) in pos.items():
        ax = axes[r, col]
        used.add((r, col))
        c = by_exp[e]
        first = not used - {(r, col)}
        plots.draw_curves(ax, c.x, list(c.y), legend=first and len(c.seeds) <= 10, linewidth=0.9,
                          labels=[f"seed{s}" for s in c.seeds])
        if c.y.shape[1] == 1:
            ax.plot(np.repeat(c.x, len(c.y)), c.y[:, 0], "o", ms=3)
        ax.set_title(f"{titles[e]} (n={len(c.seeds)})", fontsize="small")
    for r in range(n_rows):
        for col in range(n_cols):
            if (r, col) not in used:
                axes[r, col].set_visible(False)
    for r in range(n_rows):
        axes[r, 0].set_ylabel(y_metric)
    for col in range(n_cols):  # x label and ticks under the lowest drawn panel of each column
        rows = [r for r in range(n_rows) if (r, col) in used]
        if rows:
            axes[rows[-1], col].set_xlabel(x_metric or "entry index")
            axes[rows[-1], col].xaxis.set_tick_params(labelbottom=True)
    what = f"top {len(curves)} of {n_total} experiments by {ranked_by}" if n_total and n_total > len(curves) \
        else f"{len(curves)} experiment(s)"
    name = storage_dir.name if len(storage_dir.name) <= 70 else storage_dir.name[:67] + "..."
    fig.suptitle(f"{name}\n{y_metric} vs {x_metric or 'entry index'}: one curve per seed; {what}", fontsize="medium")
    path = storage_dir / PLOTS_DIR / f"{y_metric}_vs_{x_metric or 'index'}"
    plots.save_fig(fig, path, formats=("png",))
    return path.parent / f"{path.name}.png"


def make_plot_arrays(storage_dir: str | Path, *, x_metrics: list[str | None], y_metrics: list[str], settings=None,
                     overrides: dict | None = None, max_panels: int = MAX_PANELS) -> list[Path]:
    """Write the figures of every (x, y) pair into ``<storage_dir>/plots/``; returns their paths.

    Holds PLOT_ARRAYS_ONGOING while drawing and leaves PLOT_ARRAYS_COMPLETED; another process
    already drawing the same storage dir makes this one return [] at once.
    """
    from alfred.benchmark import compute_search_scores, resolve_settings, storage_kind
    from alfred.utils import summary_flags as sf

    storage_dir = Path(storage_dir)
    storage_kind(storage_dir)
    if not 1 <= max_panels <= 100:
        raise AlfredError(f"--max_panels must be in [1, 100], got {max_panels}")
    pairs = metric_pairs(x_metrics, y_metrics)
    claim = sf.claim_flag(storage_dir / PLOT_ARRAYS_ONGOING)
    if claim is None:
        return []
    try:
        n_experiments = sum(1 for _ in storage_dir.glob("experiment*"))
        experiments, ranked_by, n_total = None, "", None
        if n_experiments > max_panels:
            if settings is None:
                settings = resolve_settings(storage_dir, {**(overrides or {}), "y_metric": pairs[0][1],
                                                          "x_metric": pairs[0][0], "y_error_bars": "none"})
            else:
                from dataclasses import replace
                settings = replace(settings, y_error_bars="none")
            scores = compute_search_scores(storage_dir, settings, n_resamples=1)
            experiments = [scores.experiments[i] for i in scores.order[:max_panels]]
            ranked_by = f"{settings.performance_aggregation} {settings.perf_metric}"
            n_total = len(scores.experiments)
        recorder = settings.recorder_name if settings is not None else (overrides or {}).get("recorder_name") \
            or "train_recorder"
        written = [plot_array(storage_dir, x, y, recorder_name=recorder, experiments=experiments, n_total=n_total,
                              ranked_by=ranked_by, max_panels=max_panels) for x, y in pairs]
    except BaseException:
        sf.release_flag(claim)
        raise
    sf.finish_flag(claim, storage_dir / PLOT_ARRAYS_COMPLETED, {"figures": [str(p) for p in written]})
    return written


def build_parser() -> argparse.ArgumentParser:
    from alfred.benchmark import add_results_args

    parser = argparse.ArgumentParser(prog="python -m alfred.make_plot_arrays", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    parser.add_argument("--x_metric", nargs="+", default=None,
                        help="x-axis metric(s) (default: RESULTS' x_metric, else 'step' when recorded)")
    parser.add_argument("--y_metric", nargs="+", default=None, help="y-axis metric(s) (default: RESULTS' y_metric)")
    parser.add_argument("--max_panels", type=int, default=MAX_PANELS,
                        help=f"most experiments drawn per figure, the top ones when there are more (default: {MAX_PANELS})")
    add_results_args(parser)
    return parser


def run(argv: list[str] | None = None) -> int:
    from alfred.benchmark import resolve_settings

    args = build_parser().parse_args(argv)
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
            print(f"{storage_dir.name}: skipped, another process holds {storage_dir / PLOT_ARRAYS_ONGOING}")
        for path in written:
            print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
