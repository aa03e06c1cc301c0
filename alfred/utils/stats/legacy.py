"""The 0.2 names ``get_95_confidence_interval`` and ``get_95_confidence_interval_of_sequence``.

Kept because projects written for alfred 0.2 call them with the same positional form and
read the result as **distances from the mean** ``(mean, err_up, err_down)``, not as bounds
(they pass them to ``plot_curves(fill_up=..., fill_down=...)`` and ``bar_chart(err_up=...)``).
They are thin wrappers over ``mean_and_stderr_ci`` and ``bootstrap_mean_ci``; new code
should call those, which return bounds and take the confidence level as an argument.
What changed since 0.2, on purpose: NaN counts as a missing sample; the bootstrap takes
a seed (keyword, 0 by default) so that results are reproducible; fewer than 2 samples
give NaN distances (no error bar) instead of a zero-width one.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from alfred.utils.stats._common import DEFAULT_N_RESAMPLES, FloatArray, Seed, StatsError
from alfred.utils.stats.curves import bootstrap_mean_ci, mean_and_stderr_ci

__all__ = ["get_95_confidence_interval", "get_95_confidence_interval_of_sequence"]

LegacyMethod = Literal["stderr", "bootstrapped_CI"]


def _distances(values: FloatArray, method: str, *, n_resamples: int, seed: Seed) -> tuple[FloatArray, ...]:
    """(mean, err_up, err_down) over axis 0 of (n_samples, n_columns) NaN-padded values."""
    if method == "stderr":
        mean, lower, upper = mean_and_stderr_ci(values, confidence=0.95)
    elif method == "bootstrapped_CI":
        mean, lower, upper = bootstrap_mean_ci(values, n_resamples=n_resamples, confidence=0.95, seed=seed)
    else:
        raise StatsError(f"method must be 'stderr' or 'bootstrapped_CI', got {method!r}")
    return np.asarray(mean), np.asarray(upper - mean), np.asarray(mean - lower)  # NaN for < 2 samples


def get_95_confidence_interval(
    samples: npt.ArrayLike,
    method: LegacyMethod,
    *,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    seed: Seed = 0,
) -> tuple[float, float, float]:
    """Mean of the samples and the distances from it to the bounds of its 95% interval.

    Args:
      samples: (n_samples,) values, e.g. one score per seed.
      method: 'stderr' (mean ± 1.96 standard errors, ``std(ddof=1) / sqrt(n)``) or
        'bootstrapped_CI' (percentile bootstrap of the mean).
      n_resamples: bootstrap resamples ('bootstrapped_CI' only).
      seed: int or Generator for the bootstrap.

    Returns:
      (mean, err_up, err_down): ``upper - mean`` and ``mean - lower``, both >= 0; NaN
      distances for fewer than 2 samples.
    """
    a = np.asarray(samples, dtype=np.float64).reshape(-1, 1)
    mean, up, down = _distances(a, method, n_resamples=n_resamples, seed=seed)
    return float(mean[0]), float(up[0]), float(down[0])


def get_95_confidence_interval_of_sequence(
    list_of_samples: npt.ArrayLike,
    method: LegacyMethod,
    *,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    seed: Seed = 0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``get_95_confidence_interval`` for every step of a sequence at once.

    Args:
      list_of_samples: (n_steps, n_samples) values, e.g. the seeds' curves transposed; a
        list of rows of unequal lengths is padded with NaN (missing samples).
      method: 'stderr' or 'bootstrapped_CI', as in ``get_95_confidence_interval``. The
        bootstrap redraws whole samples (the same ones at every step).
      n_resamples: bootstrap resamples ('bootstrapped_CI' only).
      seed: int or Generator for the bootstrap.

    Returns:
      (mean, err_up, err_down), each (n_steps,), distances as in ``get_95_confidence_interval``.
    """
    rows = [np.asarray(r, dtype=np.float64).reshape(-1) for r in list_of_samples]
    if not rows:
        raise StatsError("list_of_samples is empty; expected (n_steps, n_samples) values")
    padded = np.full((len(rows), max(r.size for r in rows)), np.nan)
    for i, r in enumerate(rows):
        padded[i, : r.size] = r
    mean, up, down = _distances(padded.T, method, n_resamples=n_resamples, seed=seed)
    return mean, up, down
