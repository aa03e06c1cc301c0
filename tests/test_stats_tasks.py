"""alfred.utils.stats on scores across tasks (rliable's metrics), against scipy and by hand.

References are scipy (trim_mean, mannwhitneyu, bootstrap), plain numpy written out here,
or numbers worked out by hand in the comments; Monte-Carlo tolerances are stated where
resampled intervals are compared.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.stats

from alfred.utils.misc import AlfredError
from alfred.utils.stats import (
    StatsError,
    aggregate_iqm,
    aggregate_mean,
    aggregate_median,
    aggregate_optimality_gap,
    interval_estimates,
    iqm,
    performance_profile,
    performance_profile_ci,
    probability_of_improvement,
    stratified_bootstrap_ci,
)


def _iqm_flat(s: np.ndarray) -> float:
    return float(iqm(s, axis=None))


def _iqm_batched(s: np.ndarray) -> np.ndarray:
    return iqm(s.reshape(len(s), -1), axis=1)


def _padded(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A (12, 4) runs x tasks matrix with 12, 7, 5 and 3 real runs, and the same runs as a mapping."""
    m = rng.gamma(2.0, size=(12, 4))
    m[9:, 1], m[5:, 2], m[3:, 3] = np.nan, np.nan, np.nan
    m[[2, 6], 1] = np.nan  # NaN may sit anywhere in a column, not only at its end
    return m, {f"task{j}": m[~np.isnan(m[:, j]), j] for j in range(4)}


def _reference_stratified(tasks: list[np.ndarray], stat, n_resamples: int, seed: int) -> tuple[float, float]:
    """A plain stratified percentile bootstrap: ``stat`` gets per-task (n_resamples, n_runs_task) draws."""
    rng = np.random.default_rng(seed)
    values = stat([t[rng.integers(0, t.size, size=(n_resamples, t.size))] for t in tasks])
    return tuple(np.percentile(values, [2.5, 97.5]))


# ----------------------------------------------------------------- stratified bootstrap
def test_stratified_bootstrap_one_task_matches_scipy() -> None:
    x = np.random.default_rng(14).gamma(2.0, size=60)
    point, lower, upper = stratified_bootstrap_ci(
        x, lambda s: iqm(s, axis=-1), n_resamples=10_000, seed=0, vectorized=True
    )
    ref = scipy.stats.bootstrap(
        (x,), lambda s, axis: scipy.stats.trim_mean(s, 0.25, axis=axis),
        n_resamples=10_000, method="percentile", rng=1,
    ).confidence_interval
    width = ref.high - ref.low
    assert point == pytest.approx(scipy.stats.trim_mean(x, 0.25), rel=1e-12)
    assert abs(lower - ref.low) < 0.06 * width and abs(upper - ref.high) < 0.06 * width


def test_nan_padding_is_never_resampled() -> None:
    """6 real runs padded to 20: the interval is scipy's on those 6 runs (padding once gave NaN)."""
    rng = np.random.default_rng(23)
    x = np.full(20, np.nan)
    x[:6] = rng.normal(size=6)
    point, lower, upper = stratified_bootstrap_ci(
        x, lambda s: np.nanmean(s, axis=-1), n_resamples=10_000, seed=0, vectorized=True)
    ref = scipy.stats.bootstrap((x[:6],), np.mean, n_resamples=10_000, method="percentile", rng=1)
    low, high = ref.confidence_interval
    assert point == pytest.approx(x[:6].mean(), rel=1e-12)
    assert abs(lower - low) < 0.05 * (high - low) and abs(upper - high) < 0.05 * (high - low)


@pytest.mark.parametrize("aggregate", [aggregate_iqm, aggregate_mean, aggregate_median,
                                       functools.partial(aggregate_optimality_gap, threshold=2.0)])
def test_nan_padded_matrix_equals_mapping_of_the_same_runs(aggregate) -> None:
    matrix, mapping = _padded(np.random.default_rng(24))
    from_matrix = stratified_bootstrap_ci(matrix, aggregate, n_resamples=500, seed=3)
    from_mapping = stratified_bootstrap_ci(mapping, aggregate, n_resamples=500, seed=3)
    np.testing.assert_array_equal(np.stack(from_matrix), np.stack(from_mapping))


def test_nan_padded_matrix_equals_mapping_for_user_functions_and_profiles() -> None:
    matrix, mapping = _padded(np.random.default_rng(25))
    loop_matrix = stratified_bootstrap_ci(matrix, _iqm_flat, n_resamples=200, seed=4)
    loop_mapping = stratified_bootstrap_ci(
        mapping, lambda d: scipy.stats.trim_mean(np.concatenate(list(d.values())), 0.25),
        n_resamples=200, seed=4)
    np.testing.assert_allclose(np.stack(loop_matrix), np.stack(loop_mapping), rtol=1e-12)
    taus = np.linspace(0, 6, 13)
    np.testing.assert_array_equal(np.stack(performance_profile_ci(matrix, taus, n_resamples=300, seed=5)),
                                  np.stack(performance_profile_ci(mapping, taus, n_resamples=300, seed=5)))


def test_stratified_bootstrap_resamples_within_tasks() -> None:
    rng = np.random.default_rng(15)
    scores = {"easy": rng.uniform(100, 101, size=7), "hard": rng.uniform(0, 1, size=3)}

    def share_of_high_scores(s: dict[str, np.ndarray]) -> float:
        return float(np.mean(np.concatenate(list(s.values())) > 50))

    point, lower, upper = stratified_bootstrap_ci(scores, share_of_high_scores, n_resamples=300, seed=0)
    assert point == lower == upper == 0.7  # a pooled bootstrap would vary this share
    _, lower, upper = stratified_bootstrap_ci(scores, lambda s: np.mean(s["hard"]), n_resamples=300, seed=0)
    assert scores["hard"].min() <= lower < upper <= scores["hard"].max()


def test_stratified_bootstrap_layouts_and_vectorization_agree() -> None:
    x = np.random.default_rng(16).normal(size=(9, 4))
    loop = stratified_bootstrap_ci(x, _iqm_flat, n_resamples=300, seed=5)
    batched = stratified_bootstrap_ci(x, _iqm_batched, n_resamples=300, seed=5, vectorized=True)
    builtin = stratified_bootstrap_ci(x, aggregate_iqm, n_resamples=300, seed=5)
    as_dict = stratified_bootstrap_ci(
        {f"task{j}": x[:, j] for j in range(4)},
        lambda d: iqm(np.stack(list(d.values()), axis=-1), axis=None),
        n_resamples=300, seed=5,
    )
    for other in (batched, builtin, as_dict):
        np.testing.assert_allclose(np.stack(other), np.stack(loop), rtol=1e-12)


def test_stratified_bootstrap_vector_valued_aggregate_and_unequal_runs() -> None:
    rng = np.random.default_rng(17)
    scores = {"a": rng.normal(size=5), "b": rng.normal(3.0, size=50)}
    point, lower, upper = stratified_bootstrap_ci(
        scores, lambda d: np.array([d["a"].mean(), d["b"].mean()]), n_resamples=500, seed=1
    )
    np.testing.assert_allclose(point, [scores["a"].mean(), scores["b"].mean()])
    assert point.shape == lower.shape == upper.shape == (2,)
    assert upper[1] - lower[1] < upper[0] - lower[0]  # 50 runs: narrower than 5 runs


def test_interval_is_widened_to_hold_a_biased_point() -> None:
    """Minus the number of distinct runs: every resample has as many or fewer, so all lie >= point."""
    x = np.arange(10.0)
    point, lower, upper = stratified_bootstrap_ci(x, lambda s: -np.unique(s).size, n_resamples=300, seed=0)
    assert point == lower == -10 and upper > point


# ------------------------------------------------------------------------ refused inputs
@pytest.mark.parametrize("call", [
    lambda s: stratified_bootstrap_ci(s, aggregate_iqm, n_resamples=10, seed=0),
    lambda s: performance_profile(s, [0.5]),
    lambda s: performance_profile_ci(s, [0.5], n_resamples=10, seed=0),
    lambda s: aggregate_iqm(s),
    lambda s: probability_of_improvement(s, s),
], ids=["stratified_bootstrap_ci", "performance_profile", "performance_profile_ci", "aggregate_iqm",
        "probability_of_improvement"])
def test_algorithm_to_matrix_mapping_is_refused_in_one_line(call) -> None:
    rliable_layout = {"ppo": np.ones((5, 3)), "dqn": np.zeros((5, 3))}
    with pytest.raises(StatsError) as info:
        call(rliable_layout)
    message = str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AlfredError)
    assert "\n" not in message and "'ppo'" in message and "(5, 3)" in message
    assert "{task: (n_runs,) scores}" in message


def test_other_unusable_scores_are_refused() -> None:
    with pytest.raises(StatsError, match=r"task 'a' has no run"):
        stratified_bootstrap_ci({"a": [], "b": [1.0]}, np.mean, seed=0)
    with pytest.raises(StatsError, match=r"task column 1 has no run"):
        aggregate_mean(np.array([[1.0, np.nan], [2.0, np.nan]]))
    with pytest.raises(StatsError, match=r"got an array of shape \(2, 2, 2\)"):
        aggregate_mean(np.ones((2, 2, 2)))
    with pytest.raises(StatsError, match=r"scores_by_algorithm\['a'\]\['t'\] has shape \(2, 2\)"):
        interval_estimates({"a": {"t": np.ones((2, 2))}}, seed=0)
    with pytest.raises(StatsError, match=r"unknown aggregate 'IQM'; valid names: \['iqm', 'mean'"):
        interval_estimates({"a": np.ones(3)}, ["IQM"], seed=0)
    with pytest.raises(StatsError, match="n_resamples must be an integer >= 1"):
        interval_estimates({"a": np.ones(3)}, n_resamples=0, seed=0)


# ------------------------------------------------------------------ performance profiles
def test_performance_profile_matches_direct_count_and_is_monotone() -> None:
    rng = np.random.default_rng(18)
    x = rng.normal(size=(12, 5))
    taus = np.linspace(-3, 3, 41)
    profile = performance_profile(x, taus)
    np.testing.assert_allclose(profile, [(x > t).mean() for t in taus])
    assert np.all(np.diff(profile) <= 0) and profile[0] == 1.0 and profile[-1] == 0.0
    unequal = {"a": np.array([0.0, 1.0]), "b": np.array([0.0, 0.0, 0.0, 1.0])}
    np.testing.assert_allclose(performance_profile(unequal, [0.5]), [(1 / 2 + 1 / 4) / 2])
    shuffled = np.array([0.5, -3.0, x[0, 0], 3.0, 0.0, x[0, 0], -0.2])  # unsorted, repeated, on a score
    np.testing.assert_allclose(performance_profile(x, shuffled), [(x > t).mean() for t in shuffled])


def test_performance_profile_ignores_nan_like_iqm() -> None:
    # Task 0 has runs {0, 1}, task 1 has {1}: above 0.5 are 1/2 and 1/1 -> 0.75 (NaN as a
    # failure would give (1/3 + 1/3) / 2).
    x = np.array([[0.0, 1.0], [1.0, np.nan], [np.nan, np.nan]])
    np.testing.assert_allclose(performance_profile(x, [0.5, -1.0, 2.0]), [0.75, 1.0, 0.0])
    assert aggregate_iqm(x) == pytest.approx(scipy.stats.trim_mean([0.0, 1.0, 1.0], 0.25))


def test_performance_profile_ci_is_ordered_monotone_and_in_unit_interval() -> None:
    rng = np.random.default_rng(19)
    scores = {"a": rng.normal(size=8), "b": rng.normal(1.0, size=20), "c": rng.normal(size=3)}
    taus = np.linspace(-2, 3, 26)
    profile, lower, upper = performance_profile_ci(scores, taus, n_resamples=400, seed=0)
    np.testing.assert_allclose(profile, performance_profile(scores, taus))
    for curve in (profile, lower, upper):
        assert np.all(np.diff(curve) <= 0) and np.all((0 <= curve) & (curve <= 1))
    assert np.all(lower <= profile) and np.all(profile <= upper) and np.any(lower < upper)


# ------------------------------------------------------------------ aggregates over tasks
def test_aggregates_match_scipy_and_numpy_on_a_full_matrix() -> None:
    x = np.random.default_rng(26).gamma(1.5, size=(10, 6))
    assert aggregate_iqm(x) == pytest.approx(scipy.stats.trim_mean(x, 0.25, axis=None), rel=1e-12)
    assert aggregate_mean(x) == pytest.approx(x.mean(), rel=1e-12)
    assert aggregate_median(x) == pytest.approx(np.median(x.mean(axis=0)), rel=1e-12)
    assert aggregate_optimality_gap(x) == pytest.approx(1 - np.minimum(x, 1).mean(), rel=1e-12)
    assert aggregate_optimality_gap(x, 0.5) == pytest.approx(0.5 - np.minimum(x, 0.5).mean(), rel=1e-12)


def test_aggregates_by_hand_with_unequal_runs() -> None:
    scores = {"a": [0.0, 1.0], "b": [2.0, 3.0, 4.0, 7.0], "c": [10.0]}
    matrix = np.full((4, 3), np.nan)
    for j, runs in enumerate(scores.values()):
        matrix[: len(runs), j] = runs
    for s in (scores, matrix):
        assert aggregate_mean(s) == pytest.approx((0.5 + 4.0 + 10.0) / 3)  # task means 0.5, 4, 10
        assert aggregate_median(s) == pytest.approx(4.0)
        assert aggregate_iqm(s) == pytest.approx((1 + 2 + 3 + 4 + 7) / 5)  # 7 pooled runs, 1 cut each end
        # min(score, 3) per task: means 0.5, (2 + 3 + 3 + 3) / 4 = 2.75, 3
        assert aggregate_optimality_gap(s, threshold=3.0) == pytest.approx(3.0 - (0.5 + 2.75 + 3.0) / 3)


def _scipy_aggregates() -> dict:
    """The four aggregates written with scipy / numpy, on a mapping task -> runs."""
    def task_means(d: dict) -> list[float]:
        return [np.mean(v) for v in d.values()]

    return {
        "iqm": lambda d: scipy.stats.trim_mean(np.concatenate(list(d.values())), 0.25),
        "mean": lambda d: np.mean(task_means(d)),
        "median": lambda d: np.median(task_means(d)),
        "optimality_gap": lambda d: 1.0 - np.mean([np.minimum(v, 1.0).mean() for v in d.values()]),
    }


def test_interval_estimates_equal_scipy_aggregates_on_the_same_resamples() -> None:
    """The vectorised aggregates against scipy/numpy evaluated once per resample, same seed."""
    rng = np.random.default_rng(27)
    by_alg = {"ppo": {"t1": rng.gamma(2, size=6), "t2": rng.gamma(2, size=4), "t3": rng.gamma(1, size=5)},
              "dqn": {"t1": rng.gamma(1, size=3), "t2": rng.gamma(3, size=7), "t3": rng.gamma(1, size=2)}}
    ours = interval_estimates(by_alg, ["iqm", "mean", "median", "optimality_gap"], n_resamples=300, seed=8)
    ref = interval_estimates(by_alg, _scipy_aggregates(), n_resamples=300, seed=8)
    assert list(ours) == ["ppo", "dqn"] and list(ours["ppo"]) == ["iqm", "mean", "median", "optimality_gap"]
    for alg in by_alg:
        for name, est in ours[alg].items():
            np.testing.assert_allclose(est, ref[alg][name], rtol=1e-12, err_msg=f"{alg} {name}")
            assert est.lower <= est.point <= est.upper and est.lower < est.upper
            assert all(isinstance(v, float) for v in est)


def test_interval_estimates_against_a_plain_stratified_bootstrap() -> None:
    rng = np.random.default_rng(28)
    matrix = rng.normal(size=(8, 3)) + [0.0, 1.0, 3.0]
    matrix[5:, 2] = np.nan
    est = interval_estimates({"alg": matrix}, ["iqm"], n_resamples=4000, seed=0)["alg"]["iqm"]
    tasks = [c[~np.isnan(c)] for c in matrix.T]
    low, high = _reference_stratified(
        tasks, lambda p: scipy.stats.trim_mean(np.concatenate(p, axis=1), 0.25, axis=1), 4000, seed=1)
    assert est.point == pytest.approx(scipy.stats.trim_mean(matrix[~np.isnan(matrix)], 0.25), rel=1e-12)
    # Endpoints of two independent 4k-resample runs differ by ~3% of the width (1 sd).
    assert abs(est.lower - low) < 0.12 * (high - low) and abs(est.upper - high) < 0.12 * (high - low)


def test_interval_estimates_seed_order_and_custom_thresholds() -> None:
    rng = np.random.default_rng(29)
    by_alg = {"a": rng.normal(size=(6, 2)), "b": rng.normal(size=(9, 2))}
    fns = {"gap@0.5": functools.partial(aggregate_optimality_gap, threshold=0.5), "IQM": aggregate_iqm}
    est = interval_estimates(by_alg, fns, n_resamples=200, seed=3)
    first = stratified_bootstrap_ci(by_alg["a"], fns["IQM"], n_resamples=200, seed=3)
    np.testing.assert_allclose(est["a"]["IQM"], first, rtol=1e-12)  # algorithms use the seed in order
    assert est["b"]["gap@0.5"].point == pytest.approx(0.5 - np.minimum(by_alg["b"], 0.5).mean())


def test_tasks_of_one_algorithm_given_as_algorithms_warn() -> None:
    """``{game: runs}`` where ``{algorithm: ...}`` is expected: every "algorithm" has one task."""
    games = {"pong": np.array([1.0, 2.0, 3.0]), "breakout": np.array([4.0, 5.0, 6.0])}
    with pytest.warns(UserWarning, match=r"one task's runs.*\{algorithm: \{task: runs\}\}"):
        interval_estimates(games, ["mean"], n_resamples=20, seed=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # algorithms with several tasks each: no warning
        interval_estimates({"ppo": games, "dqn": games}, ["mean"], n_resamples=20, seed=0)


def test_probability_of_improvement_refusals_speak_of_the_layout() -> None:
    with pytest.raises(StatsError, match=r"two algorithms and must hold the same tasks.*rliable's layout"):
        probability_of_improvement({"ppo": [1.0, 2.0]}, {"dqn": [1.0, 2.0]})
    with pytest.raises(StatsError, match=r"pass x\['ppo'\] as x and x\['dqn'\] as y"):
        probability_of_improvement({"ppo": np.ones((3, 2)), "dqn": np.zeros((3, 2))}, np.ones((3, 2)))


def test_probability_of_improvement_jackknife_leaves_each_run_out_with_unequal_runs() -> None:
    from alfred.utils.stats.improvement import _jackknife, _pairs

    x = {"a": np.array([0.3, 0.9, 0.5]), "b": np.array([2.0, 1.0])}
    y = {"a": np.array([0.4, 0.1]), "b": np.array([1.5, 0.2, 3.0, 1.1])}
    expected = []
    for task in x:
        for side in ("x", "y"):
            runs = (x if side == "x" else y)[task]
            for i in range(runs.size):
                left = {**(x if side == "x" else y), task: np.delete(runs, i)}
                expected.append(probability_of_improvement(left, y) if side == "x" else
                                probability_of_improvement(x, left))
    assert _jackknife(_pairs(x, y)) == pytest.approx(expected, abs=1e-15)
