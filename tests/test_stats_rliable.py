"""Parity with rliable (and arch, which computes rliable's intervals): the four interval methods
(percentile, basic, bc, bca) from the same bootstrap distribution, BCa's jackknife, and the
task bootstrap, for aggregates over tasks, performance profiles and the probability of improvement.

rliable 1.2 builds its bootstraps with ``random_state=...``, which arch 8 no longer accepts
(and rliable pins arch < 8, whose 7.x releases do not import with pandas 3). ``_rliable``
below makes rliable's own classes with arch 8's constructor and keeps every method of
rliable's (the resampling is rliable's ``update_indices``, the intervals arch's ``conf_int``).
CI installs rliable without its pins next to arch 8 (``.ci/run``).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from alfred.utils import stats
from alfred.utils.stats.bootstrap import _jackknife_parts, pad_tasks
from alfred.utils.stats.improvement import _jackknife, _pairs
from alfred.utils.stats.intervals import interval_from_resamples

arch_bs = pytest.importorskip("arch.bootstrap", reason="arch (rliable's bootstrap) is not installed: "
                                                      "pip install 'arch>=8' (CI does)")
rly = pytest.importorskip("rliable.library", reason="rliable is not installed: pip install --no-deps rliable "
                                                     "(CI does)")
rly_metrics = pytest.importorskip("rliable.metrics")

METHODS = ("percentile", "basic", "bc", "bca")


def _rliable(cls, *args, task_bootstrap: bool = False):
    """An instance of rliable's bootstrap class ``cls`` built through arch 8's constructor."""
    bs = cls.__new__(cls)
    base = arch_bs.IIDBootstrap if cls is rly.StratifiedBootstrap else arch_bs.IndependentSamplesBootstrap
    base.__init__(bs, *args)
    if cls is rly.StratifiedBootstrap:
        bs._args_shape = args[0].shape
        bs._num_tasks = bs._args_shape[1]
        bs._parameters = [bs._num_tasks, task_bootstrap]
        bs._task_bootstrap = task_bootstrap
        bs._strata_indices = bs._get_strata_indices()
    else:
        bs._args_shapes = [a.shape for a in args]
        bs._kwargs_shapes = {}
        bs._args_strata_indices = [bs._get_strata_indices(s) for s in bs._args_shapes]
        bs._kwargs_strata_indices = {}
    return bs


@pytest.fixture
def scores() -> np.ndarray:
    """10 runs x 5 tasks, skewed (so that bc and bca differ from the percentile interval)."""
    return np.random.default_rng(3).gamma(2.0, 0.25, size=(10, 5))


@pytest.mark.parametrize("method", METHODS)
def test_each_method_reads_the_same_bounds_as_arch_off_the_same_resamples(scores, method):
    np.random.seed(0)  # rliable draws its indices from numpy's global generator
    bs = _rliable(rly.StratifiedBootstrap, scores)
    func = lambda x: np.array([rly_metrics.aggregate_iqm(x)])  # noqa: E731 (rliable's documented form)
    expected = bs.conf_int(func, reps=2000, method=method, size=0.95).ravel()
    tasks = list(scores.T)
    jackknife = stats.aggregates._iqm_batched(pad_tasks(_jackknife_parts(tasks)))[:, None]
    lower, upper = interval_from_resamples(bs._base, bs._results, method=method, alpha=0.025, jackknife=jackknife)
    assert [float(lower[0]), float(upper[0])] == pytest.approx(list(expected), abs=1e-12)


def test_the_jackknife_leaves_out_what_arch_leaves_out(scores):
    from arch.bootstrap.base import _loo_jackknife

    func = rly_metrics.aggregate_iqm
    expected = np.ravel(_loo_jackknife(lambda x: np.array([func(x)]), scores.shape[0], [scores], {}))
    ours = stats.aggregates._iqm_batched(pad_tasks(_jackknife_parts(list(scores.T))))
    assert ours == pytest.approx(expected, abs=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_probability_of_improvement_bounds_and_jackknife_match_rliable(method):
    rng = np.random.default_rng(5)
    x, y = rng.normal(0.6, 0.2, (8, 4)), rng.normal(0.5, 0.2, (8, 4))
    np.random.seed(1)
    bs = _rliable(rly.StratifiedIndependentBootstrap, x, y)
    func = lambda a, b: np.array([rly_metrics.probability_of_improvement(a, b)])  # noqa: E731
    expected = bs.conf_int(func, reps=1000, method=method, size=0.95).ravel()
    point = stats.probability_of_improvement(x, y)
    assert point == pytest.approx(float(bs._base[0]), abs=1e-14)
    jackknife = _jackknife(_pairs(x, y))[:, None]
    lower, upper = interval_from_resamples(np.array([point]), bs._results, method=method, alpha=0.025,
                                           jackknife=jackknife)
    assert [float(lower[0]), float(upper[0])] == pytest.approx(list(expected), abs=1e-12)


@pytest.mark.parametrize("task_bootstrap", [False, True])
@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_whole_intervals_agree_with_rliable_within_monte_carlo_error(scores, method, task_bootstrap):
    """Different generators, same distribution: the bounds of 4,000 resamples each agree to a
    small share of the interval's width."""
    np.random.seed(2)
    bs = _rliable(rly.StratifiedBootstrap, scores, task_bootstrap=task_bootstrap)
    lo_r, hi_r = bs.conf_int(lambda x: np.array([rly_metrics.aggregate_iqm(x)]), reps=4000, method=method).ravel()
    point, lo, hi = stats.stratified_bootstrap_ci(scores, stats.aggregate_iqm, n_resamples=4000, seed=0,
                                                  method=method, task_bootstrap=task_bootstrap)
    width = hi_r - lo_r
    assert point == pytest.approx(rly_metrics.aggregate_iqm(scores), abs=1e-14)
    assert abs(lo - lo_r) < 0.08 * width and abs(hi - hi_r) < 0.08 * width


def test_task_bootstrap_widens_the_interval_when_tasks_differ():
    rng = np.random.default_rng(0)
    scores = rng.normal(0.0, 0.02, (10, 6)) + np.linspace(0.2, 1.0, 6)  # runs agree, tasks differ a lot
    runs_only = stats.stratified_bootstrap_ci(scores, stats.aggregate_mean, n_resamples=2000, seed=0)
    with_tasks = stats.stratified_bootstrap_ci(scores, stats.aggregate_mean, n_resamples=2000, seed=0,
                                               task_bootstrap=True)
    assert with_tasks.point == runs_only.point
    assert (with_tasks.upper - with_tasks.lower) > 5 * (runs_only.upper - runs_only.lower)


def test_profiles_and_interval_estimates_take_the_method_and_task_bootstrap(scores):
    taus = np.linspace(0.0, 1.5, 16)
    for method in METHODS:
        profile, lo, hi = stats.performance_profile_ci(scores, taus, n_resamples=500, seed=0, method=method,
                                                       task_bootstrap=True)
        assert np.all(lo <= profile) and np.all(profile <= hi)
        assert profile == pytest.approx(rly.score_distributions(scores, taus), abs=1e-15)
    est = stats.interval_estimates({"a": scores, "b": scores + 0.1}, ["iqm", "mean"], n_resamples=500, seed=0,
                                   method="bca", task_bootstrap=True)
    assert est["b"]["mean"].point == pytest.approx(est["a"]["mean"].point + 0.1)
    assert all(e.lower <= e.point <= e.upper for by in est.values() for e in by.values())


def test_a_user_function_sees_no_nan_padding_under_the_task_bootstrap():
    """Tasks of 3 and 5 runs: a resampled slot holds one task's runs, never the padding."""
    seen = []

    def mean_of_all(by_task: dict) -> float:
        values = np.concatenate(list(by_task.values()))
        seen.append(np.isnan(values).any())
        return float(values.mean())

    stats.stratified_bootstrap_ci({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0, 7.0, 8.0]}, mean_of_all,
                                  n_resamples=50, seed=0, task_bootstrap=True, method="bca")
    assert seen and not any(seen)


def test_bias_that_cannot_be_corrected_is_refused_in_one_line():
    with pytest.raises(stats.StatsError, match="undefined.*percentile"):
        stats.stratified_bootstrap_ci(np.array([1.0, 2.0, 3.0, 4.0]), functools.partial(np.min, axis=-1),
                                      n_resamples=200, seed=0, method="bc", vectorized=True)
    with pytest.raises(stats.StatsError, match="unknown interval method 'student'"):
        stats.stratified_bootstrap_ci(np.ones(3), stats.aggregate_mean, seed=0, method="student")
