"""Stratified bootstrap over tasks: runs are resampled within each task, as rliable does."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from alfred.utils.stats._common import (
    DEFAULT_N_RESAMPLES,
    FloatArray,
    IntervalEstimate,
    Scores,
    Seed,
    check_n_resamples,
    containing,
    pad_tasks,
    rng_from,
    tail_mass,
    task_runs,
)

__all__ = ["stratified_bootstrap_ci"]

_STRATIFIED_CHUNK_BYTES = 16 * 2**20  # resampled scores handed to a statistic at once

# Built-in aggregates over tasks -> the same aggregate on a NaN-padded batch of resamples,
# (batch, n_runs, n_tasks) -> (batch,). Filled by ``aggregates.py``; lets any caller that is
# handed one of those functions run it vectorised instead of once per resample.
BATCHED: dict[Callable, Callable[..., FloatArray]] = {}


def batched_form(fn: Callable) -> Callable[[FloatArray], FloatArray] | None:
    """The batched version of a built-in aggregate (or of a functools.partial of one), else None."""
    args: Sequence = ()
    kwargs: dict = {}
    if isinstance(fn, functools.partial):
        fn, args, kwargs = fn.func, fn.args, fn.keywords
    try:
        batched = BATCHED.get(fn)
    except TypeError:  # an unhashable callable cannot be a built-in
        return None
    if batched is None or args:
        return None
    return functools.partial(batched, **kwargs)


def bootstrap_tasks(
    tasks: list[FloatArray],
    statistic: Callable[[list[np.ndarray]], npt.ArrayLike],
    *,
    vectorized: bool,
    n_resamples: int,
    alpha: float,
    rng: np.random.Generator,
) -> IntervalEstimate:
    """Point estimate and percentile interval of ``statistic`` under a stratified bootstrap.

    Each resample draws, independently for every task ``j``, ``len(tasks[j])`` runs of that
    task with replacement. The draws of a chunk of resamples are made task after task, so
    the same tasks and generator state give the same resamples whatever the input layout.

    Args:
      tasks: per-task (n_runs_j,) arrays of runs, without NaN.
      statistic: maps per-task arrays to a value; with ``vectorized`` it gets (batch,
        n_runs_j) arrays and returns (batch, ...), otherwise (n_runs_j,) arrays.
      vectorized: see ``statistic``.
      n_resamples: number of resamples.
      alpha: probability left out on each side.
      rng: the generator, advanced.
    """
    if vectorized:
        point = np.asarray(statistic([t[None] for t in tasks]), dtype=np.float64)[0]
    else:
        point = np.asarray(statistic(tasks), dtype=np.float64)
    n_runs = sum(t.size for t in tasks)
    padded = max(t.size for t in tasks) * len(tasks)
    chunk = int(max(1, min(n_resamples, _STRATIFIED_CHUNK_BYTES // (8 * (2 * n_runs + padded)))))
    values = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        parts = [t[rng.integers(0, t.size, size=(size, t.size))] for t in tasks]
        if vectorized:
            values.append(np.asarray(statistic(parts), dtype=np.float64))
        else:
            values.extend(np.asarray(statistic([p[b] for p in parts]), dtype=np.float64)
                          for b in range(size))
    lower, upper = np.quantile(np.concatenate(values) if vectorized else np.stack(values),
                               [alpha, 1 - alpha], axis=0)
    return containing(point, lower, upper)


def stratified_bootstrap_ci(
    scores: Scores,
    aggregate_fn: Callable[..., npt.ArrayLike],
    *,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence: float = 0.95,
    seed: Seed,
    vectorized: bool = False,
) -> IntervalEstimate:
    """Percentile interval of an aggregate score, resampling runs within each task.

    Each resample draws, for every task independently, as many runs as the task has, with
    replacement (a stratified bootstrap: each task keeps its number of runs). Only a
    task's real runs are drawn: the NaN padding of a matrix never is, so a NaN-padded
    matrix gives exactly the interval of the same runs given as a mapping.

    Args:
      scores: (n_runs, n_tasks) matrix, NaN-padded when tasks have different numbers of
        runs; (n_runs,) runs of one task; or a mapping task -> (n_runs_task,) runs. A
        mapping with 2-D values is refused (pass one algorithm's matrix, or use
        ``interval_estimates`` for ``{algorithm: matrix}``).
      aggregate_fn: maps scores laid out like ``scores`` to a scalar or an array, e.g.
        ``aggregate_iqm``. A matrix reaches it NaN-padded to the largest number of runs of
        a task, so it must ignore NaN (every function of this package does). With
        ``vectorized=True`` it receives a batch of resamples with a leading axis,
        (batch, n_runs, n_tasks) or task -> (batch, n_runs_task), and returns (batch, ...).
        The aggregates of this package (``aggregate_mean``, ``aggregate_median``,
        ``aggregate_iqm``, ``aggregate_optimality_gap`` and ``functools.partial`` of them)
        always run vectorised.
      n_resamples: number of bootstrap resamples.
      confidence: coverage of the interval, in (0, 1).
      seed: int or Generator; a Generator passed in is advanced.
      vectorized: whether ``aggregate_fn`` takes a batch of resamples (much faster).

    Returns:
      (point, lower, upper): ``aggregate_fn`` on the original scores and the percentiles
      of its bootstrap distribution (widened to hold the point should rounding put it
      outside), shaped like the output of ``aggregate_fn``. Both ``vectorized`` settings
      give the same results for equivalent functions.
    """
    alpha = tail_mass(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rng = rng_from(seed)
    tasks, rebuild = task_runs(scores)
    fast = batched_form(aggregate_fn)
    if fast is not None:
        return bootstrap_tasks(tasks, lambda parts: fast(pad_tasks(parts)), vectorized=True,
                               n_resamples=n_resamples, alpha=alpha, rng=rng)
    return bootstrap_tasks(tasks, lambda parts: aggregate_fn(rebuild(parts)), vectorized=vectorized,
                           n_resamples=n_resamples, alpha=alpha, rng=rng)
