"""Performance profiles (score distributions) over tasks, with stratified-bootstrap bands."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from alfred.utils.stats._common import (
    DEFAULT_N_RESAMPLES, FloatArray, IntervalEstimate, Scores, Seed, check_n_resamples, rng_from,
    tail_mass, task_runs,
)
from alfred.utils.stats.bootstrap import bootstrap_tasks

__all__ = ["performance_profile", "performance_profile_ci"]


def _profile_batched(tasks: list[np.ndarray], taus: FloatArray) -> FloatArray:
    """(batch, n_taus) score distributions of per-task (batch, n_runs_task) scores."""
    out = np.zeros((tasks[0].shape[0], taus.size))
    for i, tau in enumerate(taus):  # a loop over taus keeps memory at one batch of scores
        out[:, i] = sum((t > tau).mean(axis=-1) for t in tasks) / len(tasks)
    return out


def performance_profile(scores: Scores, taus: npt.ArrayLike) -> FloatArray:
    """Score distribution: fraction of runs whose (normalised) score exceeds each tau.

    Fractions are computed per task over its non-NaN runs, then averaged over tasks, so
    every task weighs the same (for equal numbers of runs this is the fraction over all
    runs x tasks, rliable's run-score distribution).

    Args:
      scores: (n_runs, n_tasks) matrix (NaN-padded for unequal runs), (n_runs,) runs of
        one task, or a mapping task -> (n_runs_task,) normalised scores.
      taus: (n_taus,) thresholds.

    Returns:
      (n_taus,) fractions in [0, 1], non-increasing in tau.
    """
    tasks, _ = task_runs(scores)
    taus = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    return _profile_batched([t[None] for t in tasks], taus)[0]


def performance_profile_ci(
    scores: Scores,
    taus: npt.ArrayLike,
    *,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence: float = 0.95,
    seed: Seed,
) -> IntervalEstimate:
    """Performance profile with pointwise stratified-bootstrap percentile intervals.

    Args:
      scores: as in ``performance_profile``.
      taus: (n_taus,) thresholds.
      n_resamples: number of bootstrap resamples.
      confidence: coverage of each interval, in (0, 1).
      seed: int or Generator; a Generator passed in is advanced.

    Returns:
      (profile, lower, upper), each (n_taus,), all non-increasing in tau.
    """
    alpha = tail_mass(confidence)
    n_resamples = check_n_resamples(n_resamples)
    taus = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    tasks, _ = task_runs(scores)
    return bootstrap_tasks(tasks, lambda parts: _profile_batched(parts, taus), vectorized=True,
                           n_resamples=n_resamples, alpha=alpha, rng=rng_from(seed))
