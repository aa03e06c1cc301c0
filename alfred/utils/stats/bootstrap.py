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
from alfred.utils.stats.intervals import check_method, interval_from_resamples

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


def _one_per_row(part: np.ndarray) -> list[np.ndarray]:
    """The rows of a (batch, n) part without their NaN padding (task bootstrap, jackknife)."""
    return [row[~np.isnan(row)] for row in part]


def _resample_parts(tasks: list[FloatArray], size: int, rng: np.random.Generator,
                    task_bootstrap: bool) -> list[np.ndarray]:
    """One (size, n) array of drawn runs per task slot.

    Stratified: slot j holds task j's runs drawn with replacement. With ``task_bootstrap``
    (rliable's), each slot of each resample first draws a task uniformly among all of them,
    then that task's runs with replacement: the slot is NaN-padded to the most runs of any task.
    """
    if not task_bootstrap:
        return [t[rng.integers(0, t.size, size=(size, t.size))] for t in tasks]
    n_max = max(t.size for t in tasks)
    chosen = rng.integers(0, len(tasks), size=(size, len(tasks)))
    parts = []
    for j in range(len(tasks)):
        part = np.full((size, n_max), np.nan)
        for k, t in enumerate(tasks):
            rows = np.flatnonzero(chosen[:, j] == k)
            if rows.size:
                part[rows, : t.size] = t[rng.integers(0, t.size, size=(rows.size, t.size))]
        parts.append(part)
    return parts


def _jackknife_parts(tasks: list[FloatArray]) -> list[np.ndarray]:
    """Leave-one-run-out copies of the runs, one row per copy, the left-out run NaN.

    With as many runs on every task, row i leaves out run i of every task at once (what
    rliable's BCa does, through arch: a row of the runs x tasks matrix); otherwise each run of
    each task is left out on its own.
    """
    sizes = {t.size for t in tasks}
    if len(sizes) == 1:
        n = sizes.pop()
        return [np.where(np.eye(n, dtype=bool), np.nan, np.broadcast_to(t, (n, n))) for t in tasks]
    total = sum(t.size for t in tasks)
    parts, row = [], 0
    for t in tasks:
        part = np.broadcast_to(t, (total, t.size)).copy()
        part[np.arange(row, row + t.size), np.arange(t.size)] = np.nan
        parts.append(part)
        row += t.size
    return parts


def bootstrap_tasks(
    tasks: list[FloatArray],
    statistic: Callable[[list[np.ndarray]], npt.ArrayLike],
    *,
    vectorized: bool,
    n_resamples: int,
    alpha: float,
    rng: np.random.Generator,
    method: str = "percentile",
    task_bootstrap: bool = False,
) -> IntervalEstimate:
    """Point estimate and bootstrap interval of ``statistic`` under a stratified bootstrap.

    Each resample draws, independently for every task ``j``, ``len(tasks[j])`` runs of that
    task with replacement (with ``task_bootstrap``, each task slot first draws which task it
    holds). The draws of a chunk of resamples are made task after task, so the same tasks and
    generator state give the same resamples whatever the input layout.

    Args:
      tasks: per-task (n_runs_j,) arrays of runs, without NaN.
      statistic: maps per-task arrays to a value; with ``vectorized`` it gets (batch,
        n_runs_j) arrays, NaN-padded where a row holds fewer runs (task bootstrap,
        jackknife), and returns (batch, ...); otherwise (n_runs_j,) arrays without NaN.
      vectorized: see ``statistic``.
      n_resamples: number of resamples.
      alpha: probability left out on each side.
      rng: the generator, advanced.
      method: 'percentile', 'basic', 'bc' or 'bca' (alfred.utils.stats.intervals).
      task_bootstrap: resample tasks too (rliable's ``task_bootstrap``).
    """
    check_method(method)

    def apply(parts: list[np.ndarray]) -> np.ndarray:
        if vectorized:
            return np.asarray(statistic(parts), dtype=np.float64)
        rows = [_one_per_row(p) for p in parts]
        return np.stack([np.asarray(statistic([r[b] for r in rows]), dtype=np.float64)
                         for b in range(parts[0].shape[0])])

    point = apply([t[None] for t in tasks])[0]
    n_runs = sum(t.size for t in tasks)
    padded = max(t.size for t in tasks) * len(tasks)
    chunk = int(max(1, min(n_resamples, _STRATIFIED_CHUNK_BYTES // (8 * (2 * n_runs + padded)))))
    values = [apply(_resample_parts(tasks, min(chunk, n_resamples - start), rng, task_bootstrap))
              for start in range(0, n_resamples, chunk)]
    jackknife = apply(_jackknife_parts(tasks)) if method == "bca" else None
    lower, upper = interval_from_resamples(point, np.concatenate(values), method=method, alpha=alpha,
                                           jackknife=jackknife)
    return containing(point, lower, upper)


def stratified_bootstrap_ci(
    scores: Scores,
    aggregate_fn: Callable[..., npt.ArrayLike],
    *,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence: float = 0.95,
    seed: Seed,
    vectorized: bool = False,
    method: str = "percentile",
    task_bootstrap: bool = False,
) -> IntervalEstimate:
    """Bootstrap interval of an aggregate score, resampling runs within each task.

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
      method: how the interval is read off the resampled aggregates: ``"percentile"``
        (default), ``"basic"``, ``"bc"`` (bias-corrected) or ``"bca"`` (bias-corrected and
        accelerated, with a leave-one-run-out jackknife); rliable's methods, with arch's
        formulas (see alfred.utils.stats.intervals).
      task_bootstrap: also resample the tasks (rliable's ``task_bootstrap``): each task
        slot of a resample holds a task drawn with replacement, then that task's runs
        drawn with replacement. It adds the uncertainty of which tasks were chosen (the
        aggregate's variation over a larger population of tasks) to that of the runs.

    Returns:
      (point, lower, upper): ``aggregate_fn`` on the original scores and the interval of
      ``method`` (widened to hold the point should rounding put it outside), shaped like
      the output of ``aggregate_fn``. Both ``vectorized`` settings give the same results
      for equivalent functions.
    """
    alpha = tail_mass(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rng = rng_from(seed)
    tasks, rebuild = task_runs(scores)
    fast = batched_form(aggregate_fn)
    if fast is not None:
        return bootstrap_tasks(tasks, lambda parts: fast(pad_tasks(parts)), vectorized=True,
                               n_resamples=n_resamples, alpha=alpha, rng=rng, method=method,
                               task_bootstrap=task_bootstrap)
    return bootstrap_tasks(tasks, lambda parts: aggregate_fn(rebuild(parts)), vectorized=vectorized,
                           n_resamples=n_resamples, alpha=alpha, rng=rng, method=method,
                           task_bootstrap=task_bootstrap)
