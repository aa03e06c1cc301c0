"""Every recorder of a storage dir read once into seed scores and mean curves, in parallel.

The y_metric curves (their per-experiment means) and the performance metric (one score per
seed) come from the same read of each recorder; experiments are reduced a batch at a time
(numpy's overhead per small array would cost more than the arithmetic) and shared among
forked processes in contiguous blocks (alfred.results.parallel), merged in experiment order.
Reading is most of a summary's time: ~0.09 ms of CPU per seed, most of it unpickling floats.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from alfred.results.loading import LoadReport, iter_curves
from alfred.results.settings import ResultsSettings

__all__ = ["load_seed_scores", "recorded_steps"]

_BATCH_ROWS = 4096  # seeds' curves reduced together (32 MB at 1,000 steps)


def _stacked(arrays: list[np.ndarray]) -> np.ndarray:
    """(sum of rows, max columns) array of 2-D arrays, NaN-padded on the right."""
    out = np.full((sum(len(a) for a in arrays), max(a.shape[1] for a in arrays)), np.nan)
    row = 0
    for a in arrays:
        out[row : row + len(a), : a.shape[1]] = a
        row += len(a)
    return out


def _reduce_batch(batch: list, settings: ResultsSettings, seed_scores: dict, mean_curves: dict, bad: list) -> None:
    """Seed scores and mean y curves of a batch of experiments' Curves, in a few array operations
    (per experiment, numpy's overhead on small arrays would cost more than the arithmetic)."""
    from alfred.utils.stats import aggregate_scores

    if not batch:
        return
    perf = settings.perf_metric
    y = _stacked([c.y for c in batch])
    p = y if perf == settings.y_metric else _stacked([c.others[perf] for c in batch])
    starts = np.cumsum([0] + [len(c.seeds) for c in batch])
    for metric, values in {settings.y_metric: y, perf: p}.items():
        rows = np.flatnonzero(np.isinf(values).any(axis=1))
        for r in rows:
            j = int(np.searchsorted(starts, r, side="right")) - 1
            bad.append(f"exp{batch[j].experiment}/seed{batch[j].seeds[r - starts[j]]} ({metric})")
    scores = aggregate_scores(p, settings.performance_aggregation).tolist()
    valid = ~np.isnan(y)
    filled = np.where(valid, y, 0.0)
    sums, counts = np.empty((len(batch), y.shape[1])), np.empty((len(batch), y.shape[1]))
    j = 0
    while j < len(batch):  # runs of experiments with as many seeds: one (k, n_seeds, n_steps) sum each
        n = len(batch[j].seeds)
        k = next((i for i in range(j, len(batch)) if len(batch[i].seeds) != n), len(batch)) - j
        rows = slice(starts[j], starts[j] + k * n)
        sums[j : j + k] = filled[rows].reshape(k, n, -1).sum(axis=1)
        counts[j : j + k] = valid[rows].reshape(k, n, -1).sum(axis=1)
        j += k
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts  # NaN at a step no seed reached
    for j, c in enumerate(batch):
        mean = means[j, : c.y.shape[1]]
        recorded = recorded_steps(mean)
        mean_curves[c.experiment] = (c.x[recorded], mean[recorded])
        seed_scores[c.experiment] = dict(zip(c.seeds, scores[starts[j]: starts[j + 1]]))


_PARALLEL_FROM = 16  # experiments from which the recorders are read by several processes


def _load(storage_dir: Path, settings: ResultsSettings, only: set[int] | None) -> tuple:
    """(experiments, configs, seed scores, mean curves, load report, bad seeds) of the experiments
    ``only`` (None: all), every recorder read once."""
    report = LoadReport()
    experiments, configs, seed_scores, mean_curves = [], {}, {}, {}
    bad: list[str] = []
    perf = settings.perf_metric
    also = () if perf == settings.y_metric else (perf,)
    batch: list = []
    n_rows = 0
    for c in iter_curves(storage_dir, y_metric=settings.y_metric, x_metric=settings.x_metric,
                         recorder_name=settings.recorder_name, report=report, also=also, experiments=only):
        experiments.append(c.experiment)
        configs[c.experiment] = c.config
        batch.append(c)
        n_rows += len(c.seeds)
        if n_rows >= _BATCH_ROWS:
            _reduce_batch(batch, settings, seed_scores, mean_curves, bad)
            batch, n_rows = [], 0
    _reduce_batch(batch, settings, seed_scores, mean_curves, bad)
    return experiments, configs, seed_scores, mean_curves, report, bad


def load_seed_scores(storage_dir: Path, settings: ResultsSettings, only: set[int] | None,
                      meanwhile: Callable[[], object] | None = None) -> tuple:
    """:func:`_load`, its experiments shared among forked processes (alfred.results.parallel) in
    contiguous blocks, then merged in experiment order: reading is most of a summary's time.
    ``meanwhile`` runs in this process while the children read (a summary imports matplotlib)."""
    from alfred.protocol.listing import list_experiment_dirs
    from alfred.results.parallel import fork_map, n_workers

    numbers = [n for n, _ in list_experiment_dirs(storage_dir) if only is None or n in only]
    workers = n_workers(len(numbers)) if len(numbers) >= _PARALLEL_FROM else 1
    if workers == 1:
        if meanwhile is not None:
            meanwhile()
        return _load(storage_dir, settings, only)
    blocks = [set(part.tolist()) for part in np.array_split(np.array(numbers), workers)]
    calls = [functools.partial(_load, storage_dir, settings, block) for block in blocks]
    parts = fork_map([meanwhile, *calls])[1:] if meanwhile is not None else fork_map(calls)
    experiments, configs, seed_scores, mean_curves, bad = [], {}, {}, {}, []
    report = LoadReport()
    for exps, conf, scores, means, part_report, part_bad in parts:
        experiments += exps
        configs.update(conf)
        seed_scores.update(scores)
        mean_curves.update(means)
        bad += part_bad
        report.loaded += part_report.loaded
        for name in ("crashed", "unfinished", "missing_recorder", "unreadable", "empty"):
            getattr(report, name).extend(getattr(part_report, name))
        report._see(part_report.metrics)
    return experiments, configs, seed_scores, mean_curves, report, bad


def recorded_steps(point: np.ndarray) -> np.ndarray | slice:
    """The entries a curve is drawn through: all, unless no seed recorded the metric at some of them
    (a metric written every k-th entry is None in between, which would leave only isolated points)."""
    finite = np.isfinite(point)
    return slice(None) if finite.all() or not finite.any() else finite
