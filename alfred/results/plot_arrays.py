"""Plot arrays: every seed's learning curve, one panel per experiment, per storage dir.

For each (x_metric, y_metric) pair, ``<storage_dir>/plots/<y>_vs_<x>.png`` holds a grid of
panels, one per experiment, one curve per seed. A grid search with two or more varied
hyperparameters is laid out as its grid (from variations.json): the last one across the
columns, every combination of the others down the rows; otherwise panels are ordered by
experiment. Each panel is titled with its experiment's varied values. At most ``max_panels``
panels are drawn: for larger searches the top experiments (by the performance settings)
are plotted, and the figure title says so.
"""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from alfred.protocol import locks
from alfred.protocol.layout import (
    DEFAULT_RECORDER,
    PLOT_ARRAYS_COMPLETED,
    PLOT_ARRAYS_ONGOING,
    StorageDir,
    seed_dir_name,
)
from alfred.protocol.listing import list_experiment_dirs
from alfred.results.labels import experiment_label_lines, storage_heading, varied_keys
from alfred.results.loading import iter_curves
from alfred.results.scoring import NAME_KEYS, compute_search_scores
from alfred.results.settings import DEFAULT_MAX_PANELS, resolve_settings
from alfred.search.build import read_variations
from alfred.utils.misc import AlfredError

__all__ = ["draw_plot_array", "make_plot_arrays", "metric_pairs", "plot_array"]

PLOT_ARRAYS_STALE_S = 6 * 3600.0


def metric_pairs(x_metrics: list[str | None], y_metrics: list[str]) -> list[tuple[str | None, str]]:
    if len(x_metrics) == 1:
        return [(x_metrics[0], y) for y in y_metrics]
    if len(x_metrics) == len(y_metrics):
        return list(zip(x_metrics, y_metrics))
    raise AlfredError(f"give one --x_metric for all --y_metric, or one per y_metric: got {len(x_metrics)} x "
                      f"and {len(y_metrics)} y metrics")


def _layout(storage_dir: Path, configs: dict[int, dict], max_panels: int
            ) -> tuple[int, int, dict[int, tuple[int, int]], list[str], dict[int, str]]:
    """(n_rows, n_cols, experiment -> (row, col), varied keys, experiment -> panel title)."""
    experiments = sorted(configs)
    varied = varied_keys(configs, exclude=NAME_KEYS)
    variations = read_variations(StorageDir(storage_dir).variations)
    titles = {e: (configs[e], varied) for e in experiments}  # made into lines once the panels' width is known
    if len(varied) >= 2 and all(k in variations for k in varied):
        # A grid: the last varied hyperparameter across the columns, every combination of the
        # others down the rows (in VARIATIONS' order), each panel where its values put it.
        keys = [k for k in variations if k in varied]  # VARIATIONS' order
        texts = {k: [json.dumps(v, sort_keys=True) for v in variations[k]] for k in keys}
        row_keys, col_key = keys[:-1], keys[-1]
        pos, ok = {}, True
        for e in experiments:
            at = [json.dumps(configs[e].get(k), sort_keys=True) for k in keys]
            if any(a not in texts[k] for a, k in zip(at, keys)):
                ok = False
                break
            row = 0
            for a, k in zip(at[:-1], row_keys):
                row = row * len(texts[k]) + texts[k].index(a)
            cell = (row, texts[col_key].index(at[-1]))
            if cell in pos.values():
                ok = False
                break
            pos[e] = cell
        if ok:
            used_r = sorted({p[0] for p in pos.values()})
            used_c = sorted({p[1] for p in pos.values()})
            if len(used_r) * len(used_c) <= max_panels:
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


def plot_array(storage_dir: Path, x_metric: str | None, y_metric: str, *, recorder_name: str = DEFAULT_RECORDER,
               experiments: list[int] | None = None, n_total: int | None = None, ranked_by: str = "",
               max_panels: int = DEFAULT_MAX_PANELS, x_lim: tuple | None = None, y_lim: tuple | None = None,
               formats: tuple[str, ...] = ("png",), remove_none: bool = False) -> Path:
    """One figure for one (x, y) pair, drawn in the current style; returns the png path.
    ``x_lim``/``y_lim``: (low, high) axis limits shared by every panel (None: fitted to the data).
    ``remove_none``: each seed's curve joins the entries where y was recorded, across its gaps
    (None entries); without it only a curve whose values are all isolated (a metric recorded
    every k-th entry) is joined."""
    from alfred.utils import plots

    fig = draw_plot_array(storage_dir, x_metric, y_metric, recorder_name=recorder_name, experiments=experiments,
                          n_total=n_total, ranked_by=ranked_by, max_panels=max_panels, x_lim=x_lim, y_lim=y_lim,
                          remove_none=remove_none)
    path = StorageDir(storage_dir).plot_array(x_metric, y_metric)
    plots.save_fig(fig, path, formats=formats)
    return path.parent / f"{path.name}.png"


def draw_plot_array(storage_dir: Path, x_metric: str | None, y_metric: str, *, recorder_name: str = DEFAULT_RECORDER,
                    experiments: list[int] | None = None, n_total: int | None = None, ranked_by: str = "",
                    max_panels: int = DEFAULT_MAX_PANELS, x_lim: tuple | None = None, y_lim: tuple | None = None,
                    remove_none: bool = False):
    """The figure :func:`plot_array` saves."""
    from alfred.utils import plots

    curves = list(iter_curves(storage_dir, y_metric=y_metric, x_metric=x_metric, recorder_name=recorder_name,
                              experiments=set(experiments) if experiments is not None else None))
    if not curves:
        raise AlfredError(f"no completed seed of {storage_dir.name} recorded {y_metric!r}")
    if len(curves) > max_panels:
        n_total = n_total or len(curves)
        curves = curves[:max_panels]
    by_exp = {c.experiment: c for c in curves}
    n_rows, n_cols, pos, varied, titles = _layout(storage_dir, {c.experiment: c.config for c in curves}, max_panels)
    panel = (3.2, 2.4) if len(curves) > 16 else (4.0, 3.0)
    fig, axes = plots.new_figure(n_rows, n_cols, panel_size=panel, sharex=True, sharey=True)
    style = plots.current_style()
    panel_pt = fig.get_size_inches()[0] / n_cols * 72 - 2.5 * style.font_pt  # less the y tick labels
    width = max(16, int(panel_pt / (0.72 * 0.833 * style.font_pt)))  # titles in "small" text
    titles = {e: experiment_label_lines(e, *titles[e], width=width - 6, max_lines=3) for e in titles}
    used = set()
    for e, (r, col) in pos.items():
        ax = axes[r, col]
        used.add((r, col))
        c = by_exp[e]
        first = not used - {(r, col)}
        keep = [~np.isnan(row) if remove_none or _no_segment(row) else slice(None) for row in c.y]
        plots.draw_curves(ax, [c.x[k] for k in keep], [row[k] for row, k in zip(c.y, keep)],
                          legend=first and len(c.seeds) <= 10, linewidth=0.9,
                          labels=[seed_dir_name(s) for s in c.seeds])
        if c.y.shape[1] == 1:
            ax.plot(np.repeat(c.x, len(c.y)), c.y[:, 0], "o", ms=3)
        ax.set_title(f"{titles[e]} (n={len(c.seeds)})", fontsize="small", linespacing=1.0)
    for r in range(n_rows):
        for col in range(n_cols):
            if (r, col) not in used:
                axes[r, col].set_visible(False)
    if x_lim is not None:
        axes[0, 0].set_xlim(*x_lim)  # the panels share their axes
    if y_lim is not None:
        axes[0, 0].set_ylim(*y_lim)
    for r in range(n_rows):
        axes[r, 0].set_ylabel(y_metric)
    for col in range(n_cols):  # x label and ticks under the lowest drawn panel of each column
        rows = [r for r in range(n_rows) if (r, col) in used]
        if rows:
            axes[rows[-1], col].set_xlabel(x_metric or "entry index")
            axes[rows[-1], col].xaxis.set_tick_params(labelbottom=True)
    what = f"top {len(curves)} of {n_total} experiments by {ranked_by}" if n_total and n_total > len(curves) \
        else f"{len(curves)} experiment(s)"
    heading, small = storage_heading(storage_dir)
    plots.head_figure(fig, heading, small=small,
                      subtitle=f"{y_metric} vs {x_metric or 'entry index'}: one curve per seed; {what}")
    return fig


def _no_segment(row: np.ndarray) -> bool:
    """Whether a line through ``row`` would draw nothing: no two recorded values in a row (a metric
    written every k-th entry, None in between). Such a curve joins its recorded points instead."""
    finite = np.isfinite(row)
    return bool(finite.any()) and not bool((finite[1:] & finite[:-1]).any())


def make_plot_arrays(storage_dir: str | Path, *, x_metrics: list[str | None], y_metrics: list[str], settings=None,
                     overrides: dict | None = None, max_panels: int = DEFAULT_MAX_PANELS,
                     limits: dict | None = None, remove_none: bool = False, style: str | None = None,
                     figure_formats: str | list[str] | None = None) -> list[Path]:
    """Write the figures of every (x, y) pair into ``<storage_dir>/plots/``; returns their paths.
    ``limits``: {(x, y): (x_lim, y_lim)} for the pairs that have axis limits; ``remove_none``:
    see :func:`plot_array`; ``style`` and ``figure_formats`` as for summaries
    (alfred.utils.plots.presets).

    Holds PLOT_ARRAYS_ONGOING while drawing and leaves PLOT_ARRAYS_COMPLETED; another process
    already drawing the same storage dir makes this one return [] at once.
    """
    from alfred.utils import plots
    from alfred.utils.plots import MAX_PANELS

    storage = StorageDir(storage_dir)
    storage_dir = storage.path
    storage.require_kind()
    if not 1 <= max_panels <= MAX_PANELS:
        raise AlfredError(f"--max_panels must be in [1, {MAX_PANELS}], got {max_panels}")
    pairs = metric_pairs(x_metrics, y_metrics)
    claim = locks.claim_lock(storage.flag(PLOT_ARRAYS_ONGOING), stale_after_s=PLOT_ARRAYS_STALE_S)
    if claim is None:
        return []
    claim.start_refresh()
    try:
        n_experiments = len(list_experiment_dirs(storage.path))
        experiments, ranked_by, n_total = None, "", None
        if n_experiments > max_panels:
            if settings is None:
                settings = resolve_settings(storage_dir, {**(overrides or {}), "y_metric": pairs[0][1],
                                                          "x_metric": pairs[0][0], "y_error_bars": "none"})
            else:
                settings = replace(settings, y_error_bars="none")
            scores = compute_search_scores(storage_dir, settings, n_resamples=1)
            experiments = [scores.experiments[i] for i in scores.order[:max_panels]]
            ranked_by = f"{settings.performance_aggregation} {settings.perf_metric}"
            n_total = len(scores.experiments)
        recorder = settings.recorder_name if settings is not None else (overrides or {}).get("recorder_name") \
            or DEFAULT_RECORDER
        with plots.use_style(style):
            formats = plots.output_formats(figure_formats)
            written = [plot_array(storage_dir, x, y, recorder_name=recorder, experiments=experiments,
                                  n_total=n_total, ranked_by=ranked_by, max_panels=max_panels, formats=formats,
                                  remove_none=remove_none,
                                  **dict(zip(("x_lim", "y_lim"), (limits or {}).get((x, y), ())))) for x, y in pairs]
    except BaseException:
        locks.release_lock(claim)
        raise
    locks.finish_lock(claim, storage.flag(PLOT_ARRAYS_COMPLETED), {"figures": [str(p) for p in written]})
    return written
