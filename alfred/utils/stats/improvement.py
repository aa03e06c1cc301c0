"""Probability of improvement of one algorithm over another (Mann-Whitney U), with its interval."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from alfred.utils.stats._common import (
    DEFAULT_N_RESAMPLES,
    FloatArray,
    IntervalEstimate,
    Scores,
    Seed,
    StatsError,
    check_n_resamples,
    containing,
    rng_from,
    tail_mass,
    task_runs,
)
from alfred.utils.stats.intervals import check_method, interval_from_resamples

__all__ = ["probability_of_improvement", "probability_of_improvement_ci"]

_CHUNK_BYTES = 16 * 2**20  # resample counts and their temporaries held at once


class _TaskPair:
    """The runs x and y of one task, prepared to score any resample of both in O(n_x + n_y)."""

    def __init__(self, x: FloatArray, y: FloatArray) -> None:
        self.n_x, self.n_y = x.size, y.size
        # Resamples are counts per run, exchangeable across runs: y is kept sorted, so the
        # runs of y below each x are the first `below` ones, and those tied with it end at `upto`.
        order = np.argsort(y, kind="stable")
        y_sorted = y[order]
        self.y_order = order  # the runs of y in sorted order
        self.y_rank = np.empty(y.size, dtype=np.intp)  # where each run of y sits once sorted
        self.y_rank[order] = np.arange(y.size)
        self.below = np.searchsorted(y_sorted, x, side="left")
        self.upto = np.searchsorted(y_sorted, x, side="right")
        self.ties = bool(np.any(self.upto != self.below))

    def probability(self, counts_x: FloatArray, counts_y_sorted: FloatArray) -> FloatArray:
        """(batch,) P(X > Y) + P(X = Y) / 2 when the runs are drawn ``counts_x`` (batch, n_x) and
        ``counts_y_sorted`` (batch, n_y) times, the latter in the order of sorted y."""
        cum = np.zeros((counts_y_sorted.shape[0], self.n_y + 1))
        np.cumsum(counts_y_sorted, axis=1, out=cum[:, 1:])
        beaten = cum[:, self.below]  # weight of the y runs strictly below each x run
        if self.ties:
            beaten += 0.5 * (cum[:, self.upto] - beaten)
        return (counts_x * beaten).sum(axis=1) / (counts_x.sum(axis=1) * cum[:, -1])


def _pairs(x: Scores, y: Scores) -> list[_TaskPair]:
    for name, value in (("x", x), ("y", y)):
        wide = [k for k, v in value.items() if np.ndim(v) > 1] if isinstance(value, Mapping) else []
        if wide:
            keys = list(value)
            other = keys[1] if len(keys) > 1 else "b"
            raise StatsError(f"{name}[{wide[0]!r}] has shape {np.shape(value[wide[0]])}: x and y are each ONE "
                             "algorithm's scores, {task: (n_runs,) scores} or an (n_runs, n_tasks) matrix. For "
                             f"rliable's {{algorithm: (n_runs, n_tasks)}} layout pass {name}[{keys[0]!r}] as x and "
                             f"{name}[{other!r}] as y")
    if isinstance(x, Mapping) != isinstance(y, Mapping):
        raise StatsError("x and y must both be mappings {task: runs} or both arrays (n_runs, n_tasks); "
                         f"got {type(x).__name__} and {type(y).__name__}")
    if isinstance(x, Mapping) and isinstance(y, Mapping):
        if set(x) != set(y):
            raise StatsError(
                f"x and y are mappings {{task: runs}} of two algorithms and must hold the same tasks; only in x: "
                f"{sorted(map(str, set(x) - set(y)))}, only in y: {sorted(map(str, set(y) - set(x)))}. For "
                "rliable's layout ({algorithm: (n_runs, n_tasks)}) pass one algorithm's matrix as x and the "
                "other's as y")
        y = {k: y[k] for k in x}
    tasks_x, _ = task_runs(x, name="x")
    tasks_y, _ = task_runs(y, name="y")
    if len(tasks_x) != len(tasks_y):
        raise StatsError(f"x has {len(tasks_x)} tasks and y {len(tasks_y)}; give both the same tasks "
                         "(columns of (n_runs, n_tasks); the numbers of runs may differ)")
    return [_TaskPair(a, b) for a, b in zip(tasks_x, tasks_y)]


def _jackknife(pairs: list[_TaskPair]) -> FloatArray:
    """Leave-one-run-out probabilities of improvement: with as many runs of x and y on every
    task, row i leaves out run i of x and of y on every task at once (rliable's BCa, through
    arch); otherwise each run of x or y of each task is left out on its own."""
    sizes = {p.n_x for p in pairs} | {p.n_y for p in pairs}
    if len(sizes) == 1:
        n = sizes.pop()
        drop = 1.0 - np.eye(n)
        return np.mean([p.probability(drop, drop[:, p.y_order]) for p in pairs], axis=0)
    rows = []
    for j, target in enumerate(pairs):
        for side, n in (("x", target.n_x), ("y", target.n_y)):
            for i in range(n):
                total = 0.0
                for k, p in enumerate(pairs):
                    cx, cy = np.ones((1, p.n_x)), np.ones((1, p.n_y))
                    if k == j and side == "x":
                        cx[0, i] = 0.0
                    elif k == j:
                        cy[0, p.y_rank[i]] = 0.0
                    total += p.probability(cx, cy)[0]
                rows.append(total / len(pairs))
    return np.asarray(rows)


def _counts(rng: np.random.Generator, n: int, size: int) -> FloatArray:
    """(size, n) counts of how often each of n runs is drawn in each of size resamples."""
    draws = rng.integers(0, n, size=(size, n))
    draws += np.arange(size)[:, None] * n  # row offsets: one bincount for every row
    return np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


def probability_of_improvement(x: Scores, y: Scores) -> float:
    """Probability that a run of x beats a run of y on the same task, averaged over tasks.

    Per task, ``P(X > Y) + P(X = Y) / 2`` for X and Y drawn uniformly from that task's runs
    of x and of y: the Mann-Whitney U statistic of x against y divided by ``n_x * n_y``.
    0.5 means no difference; rliable's ``probability_of_improvement``.

    Args:
      x: scores of algorithm X: (n_runs_x, n_tasks) matrix (NaN-padded), (n_runs_x,) runs
        of one task, or a mapping task -> (n_runs,) runs. Higher is better.
      y: scores of algorithm Y, with the same tasks (same columns, or the same keys); the
        numbers of runs may differ from x.

    Returns:
      The average over tasks of the per-task probabilities, in [0, 1].
    """
    pairs = _pairs(x, y)
    return float(np.mean([p.probability(np.ones((1, p.n_x)), np.ones((1, p.n_y)))[0] for p in pairs]))


def probability_of_improvement_ci(
    x: Scores,
    y: Scores,
    *,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence: float = 0.95,
    seed: Seed,
    method: str = "percentile",
) -> IntervalEstimate:
    """``probability_of_improvement`` with a stratified-bootstrap interval.

    Each resample redraws, within every task, the runs of x and the runs of y
    independently with replacement (rliable's stratified independent bootstrap). A
    resample is scored exactly in O(n_x + n_y) per task from counts of the drawn runs, so
    thousands of runs per task stay fast.

    Args:
      x, y: as in ``probability_of_improvement``.
      n_resamples: number of bootstrap resamples.
      confidence: coverage of the interval, in (0, 1).
      seed: int or Generator; a Generator passed in is advanced.
      method: ``"percentile"`` (default), ``"basic"``, ``"bc"`` or ``"bca"`` (see
        alfred.utils.stats.intervals; BCa's jackknife leaves one run out at a time).

    Returns:
      (point, lower, upper) as floats.
    """
    check_method(method)
    alpha = tail_mass(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rng = rng_from(seed)
    pairs = _pairs(x, y)
    point = np.mean([p.probability(np.ones((1, p.n_x)), np.ones((1, p.n_y)))[0] for p in pairs])
    per_resample = 8 * max(3 * (p.n_x + p.n_y) + 2 for p in pairs)
    chunk = int(max(1, min(n_resamples, _CHUNK_BYTES // per_resample)))
    values = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        total = np.zeros(size)
        for p in pairs:
            total += p.probability(_counts(rng, p.n_x, size), _counts(rng, p.n_y, size))
        values[start:start + size] = total / len(pairs)
    jackknife = _jackknife(pairs) if method == "bca" else None
    lower, upper = interval_from_resamples(np.asarray(point), values, method=method, alpha=alpha, jackknife=jackknife)
    return IntervalEstimate(*(float(v) for v in containing(point, lower, upper)))
