"""Per-step statistics of learning curves, and curves reduced to one score per run.

Runs lie along ``axis`` (0 by default); the other axes (typically time steps) are
independent columns handled in one vectorised pass, each over the runs that reached it.
"""

from __future__ import annotations

import math
import re
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

from alfred.utils.stats._common import (
    DEFAULT_N_RESAMPLES,
    FloatArray,
    IntervalEstimate,
    Result,
    Seed,
    StatsError,
    check_n_resamples,
    containing,
    draw_indices,
    rng_from,
    tail_mass,
)

__all__ = ["aggregate_scores", "bootstrap_mean_ci", "iqm", "mean_and_stderr_ci", "quantile_band"]

AggregateMode = Literal["min", "max", "avg", "last"]  # or "last_<k>%", e.g. "last_10%"

_VALID_MODES = "'min', 'max', 'avg', 'last' or 'last_<k>%' with 0 < k <= 100 (e.g. 'last_10%')"
_LAST_PCT = re.compile(r"last_(\d+(?:\.\d+)?)%")
_COUNTS_CHUNK_BYTES = 32 * 2**20  # float32 resample counts multiplied at once
_DRAWS_BYTES = 16 * 2**20  # int64 temporaries used to build those counts
_MEANS_BLOCK_BYTES = 64 * 2**20  # float32 bootstrap means kept for the percentiles
_DISTINCT_RATIO = 4  # resamples per possible distinct count vector from which each is computed once


# ----------------------------------------------------------------------------- helpers
def _to_2d(x: npt.ArrayLike, axis: int | None) -> tuple[FloatArray, tuple[int, ...]]:
    """Move the run axis first and flatten the others: (n_runs, n_columns) and their shape."""
    a = np.asarray(x, dtype=np.float64)
    if axis is None:
        return a.reshape(-1, 1), ()
    if a.ndim == 0:
        raise StatsError("x must have at least one dimension (runs along axis)")
    a = np.moveaxis(a, axis, 0)
    return a.reshape(a.shape[0], -1), a.shape[1:]


def _from_2d(values: np.ndarray, shape: tuple[int, ...]) -> Result:
    return np.asarray(values, dtype=np.float64).reshape(shape)[()]


def _sorted_nanquantile(s: np.ndarray, n: np.ndarray, qs: npt.ArrayLike) -> FloatArray:
    """Linear-interpolation quantiles (numpy's default) of columns sorted with NaNs last.

    Args:
      s: (n_rows, n_cols) array sorted along axis 0, the ``n[j]`` valid values first.
      n: (n_cols,) number of valid (non-NaN) values per column.
      qs: (n_q,) quantile levels in [0, 1].

    Returns:
      (n_q, n_cols) quantiles; NaN for columns without valid values.
    """
    qs = np.asarray(qs, dtype=np.float64)[:, None]
    h = (np.maximum(n, 1) - 1) * qs
    lo = np.floor(h).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    a, b = np.take_along_axis(s, lo, axis=0), np.take_along_axis(s, hi, axis=0)
    t = h - lo
    with np.errstate(invalid="ignore"):
        out = np.where(t < 0.5, a + (b - a) * t, b - (b - a) * (1 - t))
    return np.where(n > 0, out, np.nan)


def _resample_counts(seed: int, n_runs: int, size: int) -> npt.NDArray[np.float32]:
    """(size, n_runs) float32 counts of how often each run is drawn, one resample per row."""
    rng = np.random.default_rng(seed)
    counts = np.empty((size, n_runs), dtype=np.float32)
    rows = max(1, _DRAWS_BYTES // (16 * n_runs))  # int64 draws + int64 bincount per entry
    for r0 in range(0, size, rows):
        r1 = min(r0 + rows, size)
        draws = draw_indices(rng, n_runs, (r1 - r0, n_runs))
        draws += np.arange(r1 - r0)[:, None] * n_runs  # row offsets: one bincount for all rows
        counts[r0:r1] = np.bincount(draws.ravel(), minlength=draws.size).reshape(draws.shape)
    return counts


# ------------------------------------------------------------------- error bars per step
def mean_and_stderr_ci(x: npt.ArrayLike, axis: int = 0, confidence: float = 0.95) -> IntervalEstimate:
    """Mean with a normal-approximation interval mean ± z * stderr, ignoring NaNs.

    ``stderr = std(ddof=1) / sqrt(n)`` with ``n`` the number of non-NaN runs of each
    column, and ``z`` the normal quantile of ``(1 + confidence) / 2`` (1.96 for 0.95);
    for few runs Student's t would give a wider interval.

    Args:
      x: (n_runs, ...) values, e.g. (n_runs, n_steps) learning curves; NaN = missing.
      axis: axis of the runs.
      confidence: coverage of the interval, in (0, 1).

    Returns:
      (mean, lower, upper), each shaped like ``x`` without ``axis``. Columns with a
      single run get NaN bounds (their spread is unknown, so no band is drawn) and
      columns with no run are NaN throughout.
    """
    alpha = tail_mass(confidence)
    a, shape = _to_2d(x, axis)
    valid = ~np.isnan(a)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, a, 0.0).sum(axis=0) / n
        var = (np.where(valid, a - mean, 0.0) ** 2).sum(axis=0) / (n - 1)
        half = NormalDist().inv_cdf(1.0 - alpha) * np.sqrt(var / n)
    half = np.where(n > 1, half, np.nan)
    return IntervalEstimate(_from_2d(mean, shape), _from_2d(mean - half, shape), _from_2d(mean + half, shape))


def quantile_band(x: npt.ArrayLike, q: float = 0.1, axis: int = 0) -> IntervalEstimate:
    """Median with the ``q`` and ``1 - q`` quantiles of the runs, ignoring NaNs.

    Args:
      x: (n_runs, ...) values; NaN = missing.
      q: lower quantile level in [0, 0.5]; 0.1 gives the 10%-90% band.
      axis: axis of the runs.

    Returns:
      (median, lower, upper), each shaped like ``x`` without ``axis``, with numpy's
      default linear interpolation (same values as ``np.nanquantile``).
    """
    if not 0.0 <= q <= 0.5:
        raise StatsError(f"q must be in [0, 0.5] (0.1 gives the 10%-90% band), got {q}")
    a, shape = _to_2d(x, axis)
    s = np.sort(a, axis=0)  # NaNs sort last
    med, lo, hi = _sorted_nanquantile(s, (~np.isnan(a)).sum(axis=0), [0.5, q, 1.0 - q])
    return IntervalEstimate(_from_2d(med, shape), _from_2d(lo, shape), _from_2d(hi, shape))


def iqm(x: npt.ArrayLike, axis: int | None = 0) -> Result:
    """Interquartile mean: the mean of the middle 50% of the values, ignoring NaNs.

    Drops ``floor(n / 4)`` values at each end, exactly like
    ``scipy.stats.trim_mean(x, 0.25)`` does for NaN-free input.

    Args:
      x: (n_runs, ...) values; NaN = missing.
      axis: axis to reduce, or None to reduce over all values.

    Returns:
      The IQM, shaped like ``x`` without ``axis``; NaN for columns without values.
    """
    a, shape = _to_2d(x, axis)
    s = np.sort(a, axis=0)
    n = (~np.isnan(a)).sum(axis=0)
    cut = n // 4
    rank = np.arange(a.shape[0])[:, None]
    keep = (rank >= cut) & (rank < n - cut)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(keep, s, 0.0).sum(axis=0) / (n - 2 * cut)
    return _from_2d(out, shape)


def bootstrap_mean_ci(
    x: npt.ArrayLike,
    *,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence: float = 0.95,
    seed: Seed,
    axis: int = 0,
) -> IntervalEstimate:
    """Percentile-bootstrap interval of the mean over runs, for all columns at once.

    A resample draws ``n_runs`` runs with replacement and uses the same runs for every
    column (a run-level bootstrap of whole curves). Resample ``b`` is stored as a row of
    counts ``c_b`` (how often each run was drawn), so the means of all columns are one
    matmul ``x.T @ c_b / n_runs``. Resamples are processed in chunks and columns in blocks,
    so the extra memory stays around 120 MB plus a few copies of ``x`` whatever
    ``n_resamples`` and ``n_steps``. The matmul runs in float32 on column-centred data,
    so rounding errors are ~1e-7 of the spread of the data. With few runs (up to 7 at
    10,000 resamples) the resamples hold few distinct count vectors (10 for 3 runs): each
    distinct one is computed once and weighted by how often it was drawn, which gives the
    same percentiles as computing all of them.

    Args:
      x: (n_runs, ...) values, e.g. (n_runs, n_steps) curves, NaN-padded when runs have
        unequal lengths; a column's mean in a resample uses only the drawn runs that have
        a value there, and resamples that drew none of them are left out.
      n_resamples: number of bootstrap resamples.
      confidence: coverage of the interval, in (0, 1).
      seed: int or Generator; a Generator passed in is advanced.
      axis: axis of the runs.

    Returns:
      (mean, lower, upper), each shaped like ``x`` without ``axis``: the sample mean and
      the ``(1 -+ confidence) / 2`` percentiles of the bootstrap means (widened to hold
      the mean should rounding put it outside). Columns with a single run get NaN bounds:
      resampling one value always returns it, and a zero-width interval would claim a
      certainty the data cannot give. Columns with no run are NaN throughout.
    """
    alpha = tail_mass(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rng = rng_from(seed)
    a, shape = _to_2d(x, axis)
    n_runs, n_cols = a.shape
    if n_runs == 0:
        raise StatsError("x must contain at least one run")
    valid = ~np.isnan(a)
    count = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, a, 0.0).sum(axis=0) / count
    # Columns as rows (n_cols, n_runs): the means of a chunk come out as (n_cols, n_chunk),
    # each column's resamples contiguous for the percentile step.
    centred = np.ascontiguousarray(np.where(valid, a - mean, 0.0).T, dtype=np.float32)
    valid_t = np.ascontiguousarray(valid.T, dtype=np.float32)
    ragged = np.flatnonzero(count < n_runs)  # columns needing a per-resample denominator

    chunk = int(max(1, min(n_resamples, _COUNTS_CHUNK_BYTES // (4 * max(n_runs, 1)))))
    starts = range(0, n_resamples, chunk)
    # One child seed per chunk, so column blocks can regenerate identical counts.
    chunk_seeds = rng.integers(0, 2**63 - 1, size=len(starts))
    qs = [alpha, 1 - alpha]
    if _DISTINCT_RATIO * math.comb(2 * n_runs - 1, n_runs) <= n_resamples:
        counts = np.concatenate([_resample_counts(s, n_runs, min(chunk, n_resamples - start))
                                 for start, s in zip(starts, chunk_seeds)])
        keys = counts.astype(np.int64) @ (n_runs + 1) ** np.arange(n_runs, dtype=np.int64)  # a row as one int
        _, first, weights = np.unique(keys, return_index=True, return_counts=True)
        distinct = counts[first]
        means = _resampled_means(centred, valid_t, ragged, distinct)
        lower, upper = _weighted_quantiles(means, weights, qs)
    else:
        block = int(max(1, _MEANS_BLOCK_BYTES // (4 * n_resamples)))
        lower, upper = np.empty(n_cols), np.empty(n_cols)
        for c0 in range(0, n_cols, block):
            cols = slice(c0, min(c0 + block, n_cols))
            ragged_here = ragged[(ragged >= cols.start) & (ragged < cols.stop)] - c0
            means = np.empty((cols.stop - c0, n_resamples), dtype=np.float32)
            for start, chunk_seed in zip(starts, chunk_seeds):
                counts = _resample_counts(chunk_seed, n_runs, min(chunk, n_resamples - start))
                means[:, start : start + len(counts)] = _resampled_means(centred[cols], valid_t[cols], ragged_here,
                                                                         counts)
            if np.isnan(means).any():  # resamples that drew no run reaching a column: sorted, NaN last
                means.sort(axis=1)
                n_valid = (~np.isnan(means)).sum(axis=1)
            else:  # only the order statistics the two quantiles read: a partition, not a sort (4x faster)
                n_valid = np.full(len(means), n_resamples)
                h = (n_resamples - 1) * np.asarray(qs)
                kth = np.unique(np.concatenate([np.floor(h), np.minimum(np.floor(h) + 1, n_resamples - 1)]))
                means.partition(kth.astype(np.intp), axis=1)
            lower[cols], upper[cols] = _sorted_nanquantile(means.T, n_valid, qs)
    lower[count < 2], upper[count < 2] = np.nan, np.nan
    return containing(_from_2d(mean, shape), _from_2d(mean + lower, shape), _from_2d(mean + upper, shape))


def _resampled_means(centred: np.ndarray, valid: np.ndarray, ragged: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(n_cols, n_counts) float32 means of ``centred`` (n_cols, n_runs) under each row of ``counts``;
    for the ``ragged`` columns, over the drawn runs that have a value (``valid``)."""
    n_runs = counts.shape[1]
    out = centred @ counts.T
    out /= n_runs
    if ragged.size:
        denom = valid[ragged] @ counts.T
        with np.errstate(invalid="ignore", divide="ignore"):
            out[ragged] *= n_runs / denom
    return out


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: list[float]) -> list[FloatArray]:
    """Quantiles of each row of ``values`` (n_rows, k), value j counted ``weights[j]`` times.

    The same numbers as numpy's default (linear) quantile of the rows with every value
    repeated by its weight; NaN values are left out (a row without any gives NaN).
    """
    order = np.argsort(values, axis=1)  # NaN last
    s = np.take_along_axis(values, order, axis=1)
    w = np.where(np.isnan(s), 0, weights[order])
    cum = np.cumsum(w, axis=1)
    n = cum[:, -1]
    rows = np.arange(len(s))
    last = s.shape[1] - 1
    out = []
    for q in qs:
        h = (np.maximum(n, 1) - 1) * q
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        # the value at position p of the repeated sorted row: the first j with cum[j] > p
        a = s[rows, np.minimum((cum <= lo[:, None]).sum(axis=1), last)]
        b = s[rows, np.minimum((cum <= hi[:, None]).sum(axis=1), last)]
        t = h - lo
        with np.errstate(invalid="ignore"):
            value = np.where(t < 0.5, a + (b - a) * t, b - (b - a) * (1 - t))
        out.append(np.where(n > 0, value, np.nan))
    return out


# ------------------------------------------------------------------ curves to run scores
def aggregate_scores(x: npt.ArrayLike, mode: AggregateMode | str) -> Result:
    """Reduce each run's curve to one score, ignoring NaN padding.

    Args:
      x: (..., n_steps) curves, typically (n_runs, n_steps), NaN-padded at the end for
        shorter runs; a run's length is the position of its last non-NaN value + 1.
      mode: "min", "max", "avg" (over the non-NaN steps), "last" (last non-NaN value), or
        "last_<k>%" (e.g. "last_10%"): mean of the last ``floor(k% * length)`` steps of
        each run, at least one step.

    Returns:
      (...,) one score per run; NaN for runs without any value.
    """
    match = _LAST_PCT.fullmatch(mode) if isinstance(mode, str) else None
    k = float(match.group(1)) if match else None
    if mode not in ("min", "max", "avg", "last") and not (k is not None and 0 < k <= 100):
        raise StatsError(f"mode must be one of {_VALID_MODES}; got {mode!r}")
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        raise StatsError("x must have a step axis (..., n_steps)")
    n_steps = a.shape[-1]
    if n_steps == 0:
        return np.full(a.shape[:-1], np.nan)[()]
    valid = ~np.isnan(a)
    length = np.where(valid.any(axis=-1), n_steps - np.argmax(valid[..., ::-1], axis=-1), 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if mode == "min":
            out = np.where(valid, a, np.inf).min(axis=-1, initial=np.inf)
        elif mode == "max":
            out = np.where(valid, a, -np.inf).max(axis=-1, initial=-np.inf)
        elif mode == "avg":
            out = np.where(valid, a, 0.0).sum(axis=-1) / valid.sum(axis=-1)
        elif mode == "last":
            idx = np.maximum(length - 1, 0)[..., None]
            out = np.take_along_axis(a, idx, axis=-1)[..., 0]
        else:
            n_last = np.maximum(1, np.floor(k * length / 100 + 1e-9)).astype(np.intp)
            step = np.arange(n_steps)
            window = valid & (step >= (length - n_last)[..., None]) & (step < length[..., None])
            out = np.where(window, a, 0.0).sum(axis=-1) / window.sum(axis=-1)
    return np.where(length > 0, out, np.nan)[()]
