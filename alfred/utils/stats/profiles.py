"""Performance profiles (score distributions) over tasks, with stratified-bootstrap bands."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from alfred.utils.stats._common import (
    DEFAULT_N_RESAMPLES,
    FloatArray,
    IntervalEstimate,
    Scores,
    Seed,
    check_n_resamples,
    rng_from,
    tail_mass,
    task_runs,
)
from alfred.utils.stats.bootstrap import bootstrap_tasks

__all__ = ["performance_profile", "performance_profile_ci"]


def _profile_batched(tasks: list[np.ndarray], taus: FloatArray) -> FloatArray:
    """(batch, n_taus) score distributions of per-task (batch, n_runs_task) scores.

    A run with ``k`` thresholds below its score is above exactly the first ``k`` sorted
    thresholds, so one histogram of ``k`` per resample, summed from the top, gives every
    threshold's count: O(batch * (n_runs + n_taus)) instead of a pass per threshold.
    """
    order = np.argsort(taus, kind="stable")
    batch, n_bins = tasks[0].shape[0], taus.size + 1
    offsets = np.arange(batch)[:, None] * n_bins
    total = np.zeros((batch, taus.size))
    for t in tasks:
        valid = ~np.isnan(t)  # NaN pads rows of fewer runs (task bootstrap, jackknife): not counted
        below = np.searchsorted(taus[order], np.where(valid, t, -np.inf), side="left")  # thresholds < each score
        hist = np.bincount((offsets + below).ravel(), weights=valid.ravel().astype(np.float64),
                           minlength=batch * n_bins).reshape(batch, n_bins)
        # Counts, then one division per row: exact, and monotone in tau after rounding.
        total += np.cumsum(hist[:, ::-1], axis=1)[:, -2::-1] / valid.sum(axis=-1, keepdims=True)
    out = np.empty_like(total)
    out[:, order] = total / len(tasks)
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
    method: str = "percentile",
    task_bootstrap: bool = False,
) -> IntervalEstimate:
    """Performance profile with pointwise stratified-bootstrap intervals.

    Args:
      scores: as in ``performance_profile``.
      taus: (n_taus,) thresholds.
      n_resamples: number of bootstrap resamples.
      confidence: coverage of each interval, in (0, 1).
      seed: int or Generator; a Generator passed in is advanced.
      method: ``"percentile"`` (default; rliable's for profiles), ``"basic"``, ``"bc"`` or
        ``"bca"``, per threshold (see ``stratified_bootstrap_ci``).
      task_bootstrap: also resample the tasks (rliable's ``task_bootstrap``).

    Returns:
      (profile, lower, upper), each (n_taus,); the profile and the percentile bounds are
      non-increasing in tau (the other methods' bounds need not be).
    """
    alpha = tail_mass(confidence)
    n_resamples = check_n_resamples(n_resamples)
    taus = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    tasks, _ = task_runs(scores)
    return bootstrap_tasks(tasks, lambda parts: _profile_batched(parts, taus), vectorized=True,
                           n_resamples=n_resamples, alpha=alpha, rng=rng_from(seed), method=method,
                           task_bootstrap=task_bootstrap)
