"""Bootstrap intervals from resampled statistics: percentile, basic, bias-corrected (bc) and BCa.

The four methods rliable offers (through ``arch.bootstrap``), with arch's formulas:

* ``percentile``: the ``alpha`` and ``1 - alpha`` quantiles of the resampled statistics;
* ``basic``: those quantiles reflected about the point estimate, ``2 * point - q(1 - alpha)``
  and ``2 * point - q(alpha)`` (the "reverse percentile" interval);
* ``bc``: percentile levels shifted by the bias ``z0 = Phi^-1(share of resamples below the
  point)``: ``Phi(2 z0 + z_alpha)`` and ``Phi(2 z0 + z_{1-alpha})``;
* ``bca``: ``bc`` with an acceleration ``a`` from a leave-one-out jackknife, levels
  ``Phi(z0 + (z0 + z) / (1 - a (z0 + z)))``, ``a = sum(u^3) / (6 sum(u^2)^1.5)`` where
  ``u = mean(jackknife) - jackknife``.

Quantiles are numpy's linear interpolation (arch uses ``np.percentile``). Where every
resample equals the point estimate (no spread at all, e.g. a performance profile at a
threshold that no run reaches) every method gives ``[point, point]``. Pure numpy and the
standard library (``statistics.NormalDist``).
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Literal

import numpy as np

from alfred.utils.stats._common import FloatArray, StatsError

__all__ = ["METHODS", "IntervalMethod", "check_method", "interval_from_resamples"]

IntervalMethod = Literal["percentile", "basic", "bc", "bca"]
METHODS: tuple[str, ...] = ("percentile", "basic", "bc", "bca")
_NORMAL = NormalDist()


def check_method(method: str) -> str:
    """``method`` if it is one of METHODS; StatsError naming the valid ones otherwise."""
    if method not in METHODS:
        raise StatsError(f"unknown interval method {method!r}; valid: {', '.join(METHODS)} (rliable's names; "
                         "'bc' is arch's 'debiased')")
    return method


def _cdf(x: FloatArray) -> FloatArray:
    return np.vectorize(_NORMAL.cdf, otypes=[np.float64])(x)


def _ppf(p: float) -> float:
    return _NORMAL.inv_cdf(p)


def acceleration(jackknife: FloatArray) -> FloatArray:
    """BCa's acceleration per column of (n_leave_outs, n_columns) jackknife values.

    Columns whose jackknife values are all equal get 0 (no skewness to correct). arch pools
    the mean over every column; here each column has its own (the same with one column).
    """
    u = jackknife.mean(axis=0) - jackknife
    numer = (u ** 3).sum(axis=0)
    denom = 6.0 * (u ** 2).sum(axis=0) ** 1.5
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > np.abs(numer) * np.finfo(np.float64).eps, numer / denom, 0.0)


def interval_from_resamples(
    point: np.ndarray,
    resampled: np.ndarray,
    *,
    method: str,
    alpha: float,
    jackknife: np.ndarray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """(lower, upper) bounds, shaped like ``point``, from resampled values of a statistic.

    Args:
      point: the statistic on the original data, any shape ``S``.
      resampled: (n_resamples, *S) the statistic on each bootstrap resample.
      method: one of ``METHODS``.
      alpha: probability left out on each side (0.025 for a 95% interval).
      jackknife: (n_leave_outs, *S) the statistic with one observation left out at a time;
        required by ``bca`` only.

    Raises:
      StatsError: an unknown method, ``bca`` without jackknife values, or a bias that
        cannot be corrected (every resample on one side of the point while they spread:
        ``bc`` and ``bca`` are undefined there, the percentile interval is not).
    """
    check_method(method)
    point = np.asarray(point, dtype=np.float64)
    shape = point.shape
    p = point.reshape(-1)
    values = np.asarray(resampled, dtype=np.float64).reshape(len(resampled), -1)
    if method in ("percentile", "basic"):
        lower, upper = np.quantile(values, [alpha, 1.0 - alpha], axis=0)
        if method == "basic":
            lower, upper = 2.0 * p - upper, 2.0 * p - lower
        return lower.reshape(shape), upper.reshape(shape)
    flat = np.all(values == p, axis=0)  # no spread: nothing to correct, [point, point]
    below = (values < p).mean(axis=0)
    bad = ~flat & ((below <= 0.0) | (below >= 1.0))
    if bad.any():
        raise StatsError(f"{method} interval undefined: every resample lies on one side of the point estimate "
                         f"({int(bad.sum())} of {bad.size} value(s)), so its bias cannot be corrected; use method="
                         "'percentile' for this statistic")
    z0 = np.array([_ppf(b) if not f else 0.0 for b, f in zip(below, flat)])
    if method == "bca":
        if jackknife is None:
            raise StatsError("method 'bca' needs the jackknife values of the statistic")
        a = acceleration(np.asarray(jackknife, dtype=np.float64).reshape(len(jackknife), -1))
    else:
        a = np.zeros_like(z0)
    levels = []
    for z in (_ppf(alpha), _ppf(1.0 - alpha)):
        levels.append(_cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z))))
    lower = np.empty_like(p)
    upper = np.empty_like(p)
    for j in range(p.size):  # per column: its own quantile levels
        if flat[j]:
            lower[j] = upper[j] = p[j]
        else:
            lower[j], upper[j] = np.quantile(values[:, j], [levels[0][j], levels[1][j]])
    return lower.reshape(shape), upper.reshape(shape)
