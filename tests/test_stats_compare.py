"""alfred.utils.stats comparisons: probability of improvement (vs scipy) and P(best) (vs hand-worked cases).

Monte-Carlo tolerances: a share estimated from B resamples has a standard deviation of at
most sqrt(p (1 - p) / B); the tests allow 5 of them.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from alfred.utils.stats import (
    StatsError,
    probability_of_best,
    probability_of_improvement,
    probability_of_improvement_ci,
)


def _mc_tolerance(p: float, n_resamples: int) -> float:
    return 5 * np.sqrt(p * (1 - p) / n_resamples)


def _pairwise_p(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """P(A > B) + P(A = B) / 2 by comparing every pair; a, b: (..., n_a), (..., n_b)."""
    greater = (a[..., :, None] > b[..., None, :]).mean(axis=(-2, -1))
    equal = (a[..., :, None] == b[..., None, :]).mean(axis=(-2, -1))
    return greater + 0.5 * equal


# --------------------------------------------------------------- probability of improvement
def test_probability_of_improvement_matches_mann_whitney_u() -> None:
    rng = np.random.default_rng(30)
    x, y = np.round(rng.normal(0.3, 1, size=(7, 4)), 1), np.round(rng.normal(size=(5, 4)), 1)  # with ties
    u = [scipy.stats.mannwhitneyu(x[:, j], y[:, j], alternative="greater").statistic for j in range(4)]
    expected = np.mean(np.array(u) / (7 * 5))
    assert probability_of_improvement(x, y) == pytest.approx(expected, rel=1e-12)
    assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1.0)


def test_probability_of_improvement_by_hand() -> None:
    # 1 beats nothing; 3 beats 2 and ties 3 (1.5); 5 beats both (2): 3.5 of 6 pairs.
    assert probability_of_improvement([1.0, 3.0, 5.0], [2.0, 3.0]) == pytest.approx(3.5 / 6)
    assert probability_of_improvement([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert probability_of_improvement([1.0, 2.0, 2.0], [1.0, 2.0, 2.0]) == 0.5  # identical: 0.5
    x = {"t1": [1.0, 3.0, 5.0], "t2": [0.0]}
    y = {"t2": [1.0], "t1": [2.0, 3.0]}  # keys matched by name, not order
    assert probability_of_improvement(x, y) == pytest.approx((3.5 / 6 + 0.0) / 2)
    padded_x = np.array([[1.0, 0.0], [3.0, np.nan], [5.0, np.nan]])
    padded_y = np.array([[2.0, 1.0], [3.0, np.nan]])
    assert probability_of_improvement(padded_x, padded_y) == pytest.approx((3.5 / 6 + 0.0) / 2)


def test_probability_of_improvement_ci_one_task_matches_scipy_bootstrap() -> None:
    rng = np.random.default_rng(31)
    x, y = rng.normal(0.5, 1, size=12), rng.normal(0, 1, size=9)
    point, lower, upper = probability_of_improvement_ci(x, y, n_resamples=10_000, seed=0)

    def statistic(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
        return _pairwise_p(np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1))

    ref = scipy.stats.bootstrap((x, y), statistic, n_resamples=10_000, method="percentile", rng=1)
    low, high = ref.confidence_interval  # x and y resampled independently (paired=False)
    assert point == pytest.approx(_pairwise_p(x, y), rel=1e-12)
    assert abs(lower - low) < 0.05 * (high - low) and abs(upper - high) < 0.05 * (high - low)


def test_probability_of_improvement_ci_stratified_over_tasks() -> None:
    rng = np.random.default_rng(32)
    x = {"t1": rng.normal(1, 1, size=5), "t2": rng.normal(0, 1, size=8), "t3": rng.normal(0, 1, size=3)}
    y = {"t1": rng.normal(0, 1, size=6), "t2": rng.normal(0, 1, size=4), "t3": rng.normal(0, 1, size=7)}
    point, lower, upper = probability_of_improvement_ci(x, y, n_resamples=4000, seed=0)
    ref_rng = np.random.default_rng(1)
    per_task = [_pairwise_p(a[ref_rng.integers(0, a.size, size=(4000, a.size))],
                            b[ref_rng.integers(0, b.size, size=(4000, b.size))])
                for a, b in ((x[k], y[k]) for k in x)]
    low, high = np.percentile(np.mean(per_task, axis=0), [2.5, 97.5])
    assert point == pytest.approx(np.mean([_pairwise_p(x[k], y[k]) for k in x]), rel=1e-12)
    assert lower <= point <= upper
    assert abs(lower - low) < 0.12 * (high - low) and abs(upper - high) < 0.12 * (high - low)


def test_probability_of_improvement_refuses_mismatched_tasks() -> None:
    with pytest.raises(StatsError, match=r"only in x: \['b'\], only in y: \['c'\]"):
        probability_of_improvement({"a": [1.0], "b": [2.0]}, {"a": [1.0], "c": [2.0]})
    with pytest.raises(StatsError, match="x has 3 tasks and y 2"):
        probability_of_improvement(np.ones((4, 3)), np.ones((4, 2)))
    with pytest.raises(StatsError, match="must both be mappings"):
        probability_of_improvement({"a": [1.0]}, np.ones(3))


# ---------------------------------------------------------------------------------- P(best)
def test_probability_of_best_finds_a_clear_winner() -> None:
    rng = np.random.default_rng(33)
    true_means = rng.uniform(0.0, 0.5, size=50)
    true_means[17] = 0.8
    seeds = rng.normal(true_means[:, None], 0.05, size=(50, 3))
    p = probability_of_best(seeds, n_resamples=2000, seed=0)
    assert p[17] > 0.95 and np.argmax(p) == 17
    assert p.sum() == pytest.approx(1.0)
    losses = probability_of_best(-seeds, lower_is_better=True, n_resamples=2000, seed=0)
    np.testing.assert_array_equal(losses, p)  # same draws, same ranking


@pytest.mark.parametrize("k", [2, 4, 7])
def test_probability_of_best_of_identical_experiments_is_one_over_k(k: int) -> None:
    """Identical seeds: resampled means tie often (3 seeds give 10 distinct means); ties are shared."""
    p = probability_of_best([[0.1, 0.5, 0.9]] * k, n_resamples=4000, seed=1)
    np.testing.assert_allclose(p, 1 / k, atol=_mc_tolerance(1 / k, 4000))
    assert p.sum() == pytest.approx(1.0)


def test_probability_of_best_by_hand() -> None:
    # A = [0, 1] resamples to a mean of 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4.
    # Against B = [0.4, 0.4] (always 0.4): A is best when its mean is 0.5 or 1, 3/4.
    p = probability_of_best([[0.0, 1.0], [0.4, 0.4]], n_resamples=4000, seed=2)
    np.testing.assert_allclose(p, [0.75, 0.25], atol=_mc_tolerance(0.25, 4000))
    p = probability_of_best([[0.0, 1.0], [0.4, 0.4]], lower_is_better=True, n_resamples=4000, seed=2)
    np.testing.assert_allclose(p, [0.25, 0.75], atol=_mc_tolerance(0.25, 4000))
    # Against B = [0.5, 0.5]: A wins 1/4, ties 1/2 (shared): 1/4 + 1/4 each.
    p = probability_of_best({"A": [0.0, 1.0], "B": [0.5, 0.5]}, n_resamples=4000, seed=2)
    assert p["A"] == pytest.approx(0.5, abs=_mc_tolerance(0.25, 4000)) and p["A"] + p["B"] == 1.0


def test_probability_of_best_against_a_plain_loop_with_unequal_seed_counts() -> None:
    rng = np.random.default_rng(34)
    runs = [rng.normal(m, 0.3, size=n) for m, n in zip([0.0, 0.2, 0.25, 0.1, 0.3], [2, 3, 4, 5, 3])]
    p = probability_of_best(runs, n_resamples=4000, seed=0)
    ref_rng = np.random.default_rng(1)
    means = np.stack([r[ref_rng.integers(0, r.size, size=(4000, r.size))].mean(axis=1) for r in runs], axis=1)
    wins = np.bincount(np.argmax(means, axis=1), minlength=5)  # continuous scores: no ties
    np.testing.assert_allclose(p, wins / 4000, atol=np.sqrt(2) * _mc_tolerance(0.5, 4000))


def test_probability_of_best_leaves_out_experiments_with_one_seed() -> None:
    p = probability_of_best([[1.0, 2.0, 3.0], [100.0], [2.0, np.nan, 2.5], [np.nan]], n_resamples=500, seed=0)
    assert np.isnan(p[[1, 3]]).all() and 0 < p[0] < 1 and p[0] + p[2] == pytest.approx(1.0)
    assert np.isnan(probability_of_best([[1.0], [2.0, np.nan]], n_resamples=50, seed=0)).all()
    assert probability_of_best({"only": [1.0, 2.0], "one seed": [9.0]}, n_resamples=50, seed=0) == {
        "only": 1.0, "one seed": pytest.approx(np.nan, nan_ok=True)}


def test_probability_of_best_refuses_unusable_input_and_uses_its_seed() -> None:
    with pytest.raises(StatsError, match="holds single numbers"):
        probability_of_best([0.1, 0.2, 0.3], seed=0)
    with pytest.raises(StatsError, match=r"per_experiment_scores\[1\] has shape \(2, 2\)"):
        probability_of_best([[0.1, 0.2], [[0.1, 0.2], [0.3, 0.4]]], seed=0)
    with pytest.raises(StatsError, match="is empty"):
        probability_of_best([], seed=0)
    runs = np.random.default_rng(35).normal(size=(20, 3))
    first = probability_of_best(runs, n_resamples=300, seed=4)
    again = probability_of_best(runs, n_resamples=300, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, probability_of_best(runs, n_resamples=300, seed=5))
