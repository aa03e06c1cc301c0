"""P(best): how often each experiment of a search ranks first when its seeds are resampled."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from alfred.utils.stats._common import (
    DEFAULT_N_RESAMPLES,
    FloatArray,
    Seed,
    StatsError,
    check_n_resamples,
    draw_indices,
    one_run_axis,
    rng_from,
)

__all__ = ["probability_of_best"]

_CHUNK_BYTES = 32 * 2**20  # drawn seed indices and their scores held at once
_LEADERS = 16  # experiments resampled first, to find those that can never rank first


def probability_of_best(
    per_experiment_scores: Sequence[npt.ArrayLike] | Mapping[Hashable, npt.ArrayLike],
    *,
    lower_is_better: bool = False,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    seed: Seed,
) -> FloatArray | dict[Hashable, float]:
    """Share of bootstrap resamples in which each experiment has the best mean score over seeds.

    Each resample redraws, for every experiment independently, as many seeds as it has,
    with replacement, and takes the mean; the experiment with the best mean wins that
    resample (experiments tied within rounding error share it equally). P(best) is the
    share of resamples each experiment wins.

    What it means: how stable the ranking's first place is under the seed-to-seed
    variation the search observed. P(best) near 1 says another draw of seeds would most
    likely crown the same experiment; spread over several experiments, it says the seeds
    cannot separate them. What it does not mean: it is not the probability that an
    experiment is truly the best configuration. It takes the observed seeds as the whole
    truth (3 seeds show little of the spread), it ignores the multiplicity of the search
    (among 1,000 similar experiments the top one is partly the luckiest, and P(best) does
    not correct for that winner's curse), and it says nothing about how much better the
    winner is.

    Experiments with fewer than 2 (non-NaN) seeds get NaN and take no part: one seed has
    no observable spread, so resampling it would always return the same mean and
    over-trust it. The shares of the others sum to 1, and are relative to them only; a
    lone experiment with 2 or more seeds gets 1.0. If no experiment has 2 seeds,
    everything is NaN. An excluded experiment may hold the best single score: report it
    as undecided (e.g. "cannot tell: n=1") rather than as beaten.

    Each share carries a Monte-Carlo error of at most ``sqrt(p (1 - p) / n_resamples)``
    (0.005 at 10,000 resamples), so shares closer than ~0.01 are not told apart.

    Args:
      per_experiment_scores: one 1-D array of seed scores per experiment, as a sequence
        or a mapping experiment -> scores (lengths may differ; NaN = missing seed). A 2-D
        array (n_experiments, n_seeds) is read row by row.
      lower_is_better: whether the lowest mean wins (losses, errors).
      n_resamples: number of bootstrap resamples.
      seed: int or Generator; a Generator passed in is advanced.

    Returns:
      (n_experiments,) shares in [0, 1] for a sequence, or experiment -> share for a
      mapping; NaN for experiments with fewer than 2 seeds.
    """
    n_resamples = check_n_resamples(n_resamples)
    rng = rng_from(seed)
    if isinstance(per_experiment_scores, Mapping):
        keys: list | None = list(per_experiment_scores)
        values = [per_experiment_scores[k] for k in keys]
        names = [f"per_experiment_scores[{k!r}]" for k in keys]
    elif isinstance(per_experiment_scores, (Sequence, np.ndarray)) and not isinstance(
            per_experiment_scores, (str, bytes)):
        keys, values = None, list(per_experiment_scores)
        names = [f"per_experiment_scores[{i}]" for i in range(len(values))]
    else:
        raise StatsError("per_experiment_scores must be a sequence or a mapping of 1-D arrays of seed "
                         f"scores, one per experiment; got {type(per_experiment_scores).__name__}")
    if values and all(np.ndim(v) == 0 for v in values):
        raise StatsError("per_experiment_scores holds single numbers; give one array of seed scores per "
                         "experiment, e.g. [[0.1, 0.2, 0.3], [0.4, 0.5]] (a search with one seed each: [[0.1], [0.4]])")
    runs = [one_run_axis(v, name) for v, name in zip(values, names)]
    if not runs:
        raise StatsError("per_experiment_scores is empty; give one array of seed scores per experiment")
    out = np.full(len(runs), np.nan)
    eligible = [i for i, r in enumerate(runs) if r.size >= 2]
    if eligible:
        sign = -1.0 if lower_is_better else 1.0
        out[eligible] = _share_first([sign * runs[i] for i in eligible], n_resamples, rng)
    return out if keys is None else dict(zip(keys, out.tolist()))


def _share_first(runs: list[FloatArray], n_resamples: int, rng: np.random.Generator) -> FloatArray:
    """(n_experiments,) share of resamples in which each experiment's resampled mean is highest.

    A resampled mean lies between the experiment's lowest and highest seed, so an experiment
    whose highest seed is below what the leaders reach in every resample never ranks first:
    it gets 0 without being resampled (in a large search, most experiments). The leaders
    (the best means) are resampled first; the lowest best-of-leaders mean over all their
    resamples is that bar. Excluding an experiment that can win no resample changes no share.
    """
    n_exp = len(runs)
    finite = np.concatenate(runs)
    finite = np.abs(finite[np.isfinite(finite)])
    # Means of the same seeds summed in another order differ by rounding only: treat means
    # within that bound of the best as ties rather than letting rounding pick a winner.
    tol = 4 * max(r.size for r in runs) * np.finfo(np.float64).eps * (finite.max() if finite.size else 0.0)
    highest = np.array([r.max() for r in runs])
    floor = max(float(r.min()) for r in runs)
    contenders = [i for i in range(n_exp) if not highest[i] < floor - tol]  # NaN-safe comparisons
    with np.errstate(invalid="ignore"):
        means = np.array([runs[i].mean() for i in contenders])
    ranked = [contenders[j] for j in np.argsort(-np.nan_to_num(means, nan=-np.inf), kind="stable")]
    leaders, others = ranked[:_LEADERS], ranked[_LEADERS:]
    chunk = _chunk_size([runs[i] for i in ranked], n_resamples)
    leader_means = np.concatenate([_resampled_means([runs[i] for i in leaders], min(chunk, n_resamples - start), rng)
                                   for start in range(0, n_resamples, chunk)])
    bar = leader_means.max(axis=1).min()
    others = [i for i in others if not highest[i] < bar - tol]
    members = leaders + others
    wins = np.zeros(n_exp)
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        chunk_means = leader_means[start : start + size]
        if others:
            chunk_means = np.concatenate([chunk_means, _resampled_means([runs[i] for i in others], size, rng)], axis=1)
        wins[members] += _wins(chunk_means, tol)
    return wins / n_resamples


def _chunk_size(runs: list[FloatArray], n_resamples: int) -> int:
    n_seeds = sum(r.size for r in runs)
    return int(max(1, min(n_resamples, _CHUNK_BYTES // (16 * n_seeds + 24 * len(runs)))))


def _resampled_means(runs: list[FloatArray], size: int, rng: np.random.Generator) -> FloatArray:
    """(size, n_experiments) means of ``size`` resamples of each experiment's seeds."""
    means = np.empty((size, len(runs)))
    for n in sorted({r.size for r in runs}):  # experiments with as many seeds: one array
        members = np.array([i for i, r in enumerate(runs) if r.size == n])
        flat = np.concatenate([runs[i] for i in members])
        idx = draw_indices(rng, n, (n, size, members.size))
        idx += np.arange(members.size) * n  # index into the group's concatenated seeds
        means[:, members] = flat[idx].sum(axis=0) / n
    return means


def _wins(means: FloatArray, tol: float) -> FloatArray:
    """(n_experiments,) resamples won by each experiment, from (n_resamples, n_experiments)
    means; experiments within ``tol`` of a resample's best share it."""
    means = np.where(np.isnan(means), -np.inf, means)  # +inf and -inf seeds in one draw: no mean, cannot win
    best = means.max(axis=1)
    tied = means >= (best - tol)[:, None]
    n_tied = tied.sum(axis=1)
    alone = n_tied == 1
    wins = np.bincount(np.argmax(means[alone], axis=1), minlength=means.shape[1]).astype(np.float64)
    if not alone.all():
        wins += (tied[~alone] / n_tied[~alone, None]).sum(axis=0)
    return wins
