"""Aggregate scores over tasks (mean, median, IQM, optimality gap) and their intervals in one call.

The definitions are rliable's (Agarwal et al., 2021, "Deep RL at the edge of the
statistical precipice"). With the same number of runs on every task they give rliable's
numbers; with unequal numbers (a mapping, or a NaN-padded matrix) each docstring says how
tasks are weighted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np

from alfred.utils.stats._common import (
    DEFAULT_N_RESAMPLES,
    FloatArray,
    IntervalEstimate,
    Scores,
    Seed,
    StatsError,
    check_n_resamples,
    pad_tasks,
    rng_from,
    tail_mass,
    task_runs,
)
from alfred.utils.stats.bootstrap import BATCHED, batched_form, bootstrap_tasks
from alfred.utils.stats.curves import iqm

__all__ = [
    "aggregate_iqm", "aggregate_mean", "aggregate_median", "aggregate_optimality_gap",
    "interval_estimates",
]

AggregateName = Literal["iqm", "mean", "median", "optimality_gap"]
AggregateFn = Callable[[Scores], float]


# ------------------------------------------------- batched forms: (..., n_runs, n_tasks) -> (...)
def _task_means(p: FloatArray) -> FloatArray:
    valid = ~np.isnan(p)
    return np.where(valid, p, 0.0).sum(axis=-2) / valid.sum(axis=-2)


def _mean_batched(p: FloatArray) -> FloatArray:
    return _task_means(p).mean(axis=-1)


def _median_batched(p: FloatArray) -> FloatArray:
    return np.median(_task_means(p), axis=-1)


def _iqm_batched(p: FloatArray) -> FloatArray:
    return np.asarray(iqm(p.reshape(*p.shape[:-2], -1), axis=-1))


def _optimality_gap_batched(p: FloatArray, threshold: float = 1.0) -> FloatArray:
    return threshold - _task_means(np.minimum(p, threshold)).mean(axis=-1)


def _one(batched: Callable[..., FloatArray], scores: Scores, **kwargs: float) -> float:
    tasks, _ = task_runs(scores)
    return float(batched(pad_tasks([t[None] for t in tasks]), **kwargs)[0])


# ------------------------------------------------------------------------- the aggregates
def aggregate_mean(scores: Scores) -> float:
    """Mean over tasks of each task's mean score.

    Args:
      scores: (n_runs, n_tasks) matrix (NaN-padded when tasks have different numbers of
        runs), (n_runs,) runs of one task, or a mapping task -> (n_runs_task,) runs;
        normalised scores, so that tasks are comparable.

    Returns:
      The mean; every task weighs the same whatever its number of runs.
    """
    return _one(_mean_batched, scores)


def aggregate_median(scores: Scores) -> float:
    """Median over tasks of each task's mean score.

    Args:
      scores: as in ``aggregate_mean``.

    Returns:
      The median of the n_tasks task means (the mean of the middle two for an even count).
    """
    return _one(_median_batched, scores)


def aggregate_iqm(scores: Scores) -> float:
    """Interquartile mean of all runs of all tasks pooled: ``trim_mean(scores, 0.25)``.

    Pools the runs x tasks scores, drops ``floor(n / 4)`` at each end and averages the rest,
    as rliable does; a task with more runs contributes more scores.

    Args:
      scores: as in ``aggregate_mean``.

    Returns:
      The IQM of the pooled scores.
    """
    return _one(_iqm_batched, scores)


def aggregate_optimality_gap(scores: Scores, threshold: float = 1.0) -> float:
    """How far the scores fall short of ``threshold``: ``threshold - mean(min(score, threshold))``.

    Lower is better; scores above the threshold earn nothing more. The mean is taken per
    task, then over tasks (the pooled mean of rliable when tasks have equal runs).

    Args:
      scores: as in ``aggregate_mean``.
      threshold: the score counted as good enough (1.0: human level for human-normalised
        scores).

    Returns:
      The gap, in score units, >= 0.
    """
    return _one(_optimality_gap_batched, scores, threshold=threshold)


BATCHED.update({
    aggregate_mean: _mean_batched,
    aggregate_median: _median_batched,
    aggregate_iqm: _iqm_batched,
    aggregate_optimality_gap: _optimality_gap_batched,
})
_BY_NAME: dict[str, AggregateFn] = {
    "iqm": aggregate_iqm, "mean": aggregate_mean, "median": aggregate_median,
    "optimality_gap": aggregate_optimality_gap,
}


def _resolve(aggregate_fns: Mapping[str, AggregateFn] | Sequence[AggregateName]) -> dict[str, AggregateFn]:
    if isinstance(aggregate_fns, Mapping):
        fns = dict(aggregate_fns)
        bad = [k for k, f in fns.items() if not callable(f)]
        if bad:
            raise StatsError(f"aggregate_fns[{bad[0]!r}] is not callable; give name -> function of scores")
    elif isinstance(aggregate_fns, str):
        raise StatsError(f"aggregate_fns must be a list of names or a mapping, got the string "
                         f"{aggregate_fns!r}; e.g. [{aggregate_fns!r}]")
    else:
        unknown = [n for n in aggregate_fns if n not in _BY_NAME]
        if unknown:
            raise StatsError(f"unknown aggregate {unknown[0]!r}; valid names: {sorted(_BY_NAME)} "
                             "(or pass a mapping name -> function)")
        fns = {n: _BY_NAME[n] for n in aggregate_fns}
    if not fns:
        raise StatsError("aggregate_fns is empty; give at least one aggregate, e.g. ['iqm']")
    return fns


def interval_estimates(
    scores_by_algorithm: Mapping[str, Scores],
    aggregate_fns: Mapping[str, AggregateFn] | Sequence[AggregateName] = (
        "iqm", "mean", "median", "optimality_gap"),
    *,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence: float = 0.95,
    seed: Seed,
    method: str = "percentile",
    task_bootstrap: bool = False,
) -> dict[str, dict[str, IntervalEstimate]]:
    """Point estimates and stratified-bootstrap intervals of aggregates, for every algorithm.

    rliable's ``get_interval_estimates``: per algorithm, one set of stratified-bootstrap
    resamples (runs redrawn within each task) is shared by all its aggregates.

    Args:
      scores_by_algorithm: algorithm -> its scores, each an (n_runs, n_tasks) matrix
        (NaN-padded for unequal runs), an (n_runs,) array, or a mapping task ->
        (n_runs_task,) runs. Normalised scores, so that tasks are comparable.
      aggregate_fns: names among 'iqm', 'mean', 'median', 'optimality_gap' (threshold 1.0),
        or a mapping name -> function of one algorithm's scores returning a scalar, e.g.
        ``{"IQM": aggregate_iqm, "gap@0.9": functools.partial(aggregate_optimality_gap,
        threshold=0.9)}``. This package's aggregates run vectorised; any other function
        makes the call evaluate every aggregate once per resample (slower).
      n_resamples: number of bootstrap resamples per algorithm.
      confidence: coverage of each interval, in (0, 1).
      seed: int or Generator, used by the algorithms in their order in the mapping (the
        first one's intervals equal ``stratified_bootstrap_ci`` with the same seed).
      method: ``"percentile"`` (default), ``"basic"``, ``"bc"`` or ``"bca"``, as in
        ``stratified_bootstrap_ci``; each aggregate gets its own bias and acceleration.
      task_bootstrap: also resample the tasks, as in ``stratified_bootstrap_ci``.

    Returns:
      ``{algorithm: {aggregate name: IntervalEstimate(point, lower, upper)}}`` with float
      values and ``lower <= point <= upper``.
    """
    alpha = tail_mass(confidence)
    n_resamples = check_n_resamples(n_resamples)
    if not isinstance(scores_by_algorithm, Mapping) or not scores_by_algorithm:
        raise StatsError("scores_by_algorithm must be a non-empty mapping {algorithm: scores}, got "
                         f"{type(scores_by_algorithm).__name__}")
    fns = _resolve(aggregate_fns)
    _warn_if_tasks_given_as_algorithms(scores_by_algorithm)
    rng = rng_from(seed)
    out: dict[str, dict[str, IntervalEstimate]] = {}
    for alg, scores in scores_by_algorithm.items():
        tasks, rebuild = task_runs(scores, name=f"scores_by_algorithm[{alg!r}]")
        statistic, vectorized = _statistic(fns, rebuild)
        est = bootstrap_tasks(tasks, statistic, vectorized=vectorized, n_resamples=n_resamples,
                              alpha=alpha, rng=rng, method=method, task_bootstrap=task_bootstrap)
        out[alg] = {name: IntervalEstimate(float(est.point[i]), float(est.lower[i]), float(est.upper[i]))
                    for i, name in enumerate(fns)}
    return out


def _warn_if_tasks_given_as_algorithms(scores_by_algorithm: Mapping[str, Scores]) -> None:
    """``{task: runs}`` of one algorithm passed where ``{algorithm: scores}`` is expected looks
    the same as algorithms that each ran one task: say so, as the numbers would be per task."""
    if len(scores_by_algorithm) < 2:
        return
    shapes = [np.shape(v) if not isinstance(v, Mapping) else None for v in scores_by_algorithm.values()]
    if all(s is not None and len(s) == 1 for s in shapes):
        import warnings

        keys = ", ".join(map(repr, list(scores_by_algorithm)[:3]))
        warnings.warn(f"every entry of scores_by_algorithm ({keys}, ...) is one task's runs (a 1-D array): "
                      "each key is taken as an algorithm evaluated on a single task. If the keys are tasks of "
                      "one algorithm, pass {algorithm: {task: runs}} (or {algorithm: (n_runs, n_tasks)}) instead",
                      UserWarning, stacklevel=3)


def _statistic(fns: dict[str, AggregateFn], rebuild: Callable[[list], object]) -> tuple[Callable, bool]:
    """All aggregates at once over per-task parts, and whether it takes batches of resamples."""
    fast = [batched_form(f) for f in fns.values()]
    if all(f is not None for f in fast):
        def batched(parts: list) -> FloatArray:
            padded = pad_tasks(parts)
            return np.stack([f(padded) for f in fast], axis=-1)

        return batched, True

    def one_by_one(parts: list) -> FloatArray:
        values = [np.asarray(f(rebuild(parts)), dtype=np.float64) for f in fns.values()]
        for name, v in zip(fns, values):
            if v.ndim:
                raise StatsError(f"aggregate {name!r} returned shape {v.shape}; it must return one number")
        return np.stack(values)

    return one_by_one, False
