"""The shortcuts that make summaries of large searches fast give the numbers of the long way:
bootstrap intervals of few runs computed once per distinct resample, and P(best) that skips
experiments which can never rank first."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from alfred.utils.stats import bootstrap_mean_ci, curves, probability_of_best


@pytest.mark.parametrize("n_runs", [2, 3, 5, 7])
def test_few_runs_give_the_same_interval_as_computing_every_resample(monkeypatch, n_runs):
    rng = np.random.default_rng(n_runs)
    x = rng.normal(size=(n_runs, 40)) * np.arange(1, 41)
    x[-1, 30:] = np.nan  # ragged: the last run stops early
    shortcut = np.stack(bootstrap_mean_ci(x, n_resamples=10_000, seed=4))
    monkeypatch.setattr(curves, "_DISTINCT_RATIO", 10**9)  # never take the shortcut
    every = np.stack(bootstrap_mean_ci(x, n_resamples=10_000, seed=4))
    np.testing.assert_allclose(shortcut, every, rtol=0, atol=1e-12)


def test_three_runs_against_the_exact_bootstrap_distribution():
    """3 runs: the resampled mean takes 10 values with multinomial probabilities; the 2.5% and
    97.5% points of 10,000 draws land on the atoms of the exact distribution that hold them."""
    x = np.array([0.0, 1.0, 10.0])
    atoms = {}
    for draw in itertools.product(range(3), repeat=3):
        m = x[list(draw)].mean()
        atoms[m] = atoms.get(m, 0) + 1 / 27
    values = sorted(atoms)
    cdf = np.cumsum([atoms[v] for v in values])
    exact_lo = values[int(np.searchsorted(cdf, 0.025))]
    exact_hi = values[int(np.searchsorted(cdf, 0.975))]
    point, lower, upper = bootstrap_mean_ci(x, n_resamples=10_000, seed=0)
    assert point == pytest.approx(11 / 3)
    # float32 arithmetic on centred data: rounding of ~1e-7 of the spread
    assert lower == pytest.approx(exact_lo, abs=1e-6) and upper == pytest.approx(exact_hi, abs=1e-6)
    assert (exact_lo, exact_hi) == (0.0, 10.0)  # all three draws of the same run: 1/27 > 2.5% each


def test_p_best_skips_only_experiments_that_never_rank_first():
    # B's best seed equals A's worst: both resample to 1.0 in 1/4 x 1/4 of the draws and share
    # those ties, so B ranks first (shared) in 1/32 of them; C (all below 1.0) never does.
    p = probability_of_best({"A": [1.0, 2.0], "B": [0.0, 1.0], "C": [0.2, 0.9, 0.5]}, n_resamples=40_000, seed=3)
    assert p["C"] == 0.0 and p["A"] + p["B"] == pytest.approx(1.0)
    assert p["B"] == pytest.approx(1 / 32, abs=5 * math.sqrt(1 / 32 * (1 - 1 / 32) / 40_000))


def test_p_best_of_a_large_search_against_a_plain_loop():
    rng = np.random.default_rng(8)
    levels = rng.uniform(0, 1, size=300)
    runs = rng.normal(levels[:, None], 0.05, size=(300, 10))
    p = probability_of_best(runs, n_resamples=4000, seed=1)
    ref_rng = np.random.default_rng(2)
    means = np.stack([r[ref_rng.integers(0, 10, size=(4000, 10))].mean(axis=1) for r in runs], axis=1)
    wins = np.bincount(np.argmax(means, axis=1), minlength=300) / 4000
    np.testing.assert_allclose(p, wins, atol=5 * math.sqrt(0.25 / 4000) * math.sqrt(2))
    assert (p == 0).sum() > 250  # most of the search was never resampled
