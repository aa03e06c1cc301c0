"""alfred.utils.stats per-step statistics of curves, and the 0.2 names, against scipy and by hand.

Scores across tasks (stratified bootstrap, aggregates, profiles, improvement, P(best)) are
tested in test_stats_tasks.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from alfred.utils import stats
from alfred.utils.stats import (
    aggregate_scores,
    bootstrap_mean_ci,
    curves,
    iqm,
    mean_and_stderr_ci,
    performance_profile_ci,
    quantile_band,
    stratified_bootstrap_ci,
)


def _ragged_curves(rng: np.random.Generator, n_runs: int = 60, n_steps: int = 8) -> np.ndarray:
    """(n_runs, n_steps) curves NaN-padded at the end, lengths 1..n_steps, last step full."""
    x = rng.normal(loc=np.arange(n_steps), scale=1.0 + np.arange(n_steps), size=(n_runs, n_steps))
    lengths = rng.integers(1, n_steps + 1, size=n_runs)
    lengths[:3] = n_steps
    x[np.arange(n_steps) >= lengths[:, None]] = np.nan
    return x


def _iqm_flat(s: np.ndarray) -> float:
    return float(iqm(s, axis=None))


def _iqm_batched(s: np.ndarray) -> np.ndarray:
    return iqm(s.reshape(len(s), -1), axis=1)


# --------------------------------------------------------------------------- references
@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_mean_and_stderr_ci_matches_scipy_normal_interval(confidence: float) -> None:
    x = _ragged_curves(np.random.default_rng(0))
    mean, lower, upper = mean_and_stderr_ci(x, confidence=confidence)
    for j in range(x.shape[1]):
        col = x[~np.isnan(x[:, j]), j]
        if col.size < 2:
            continue
        ref = scipy.stats.norm.interval(confidence, loc=col.mean(), scale=scipy.stats.sem(col))
        np.testing.assert_allclose([mean[j], lower[j], upper[j]], [col.mean(), *ref], rtol=1e-12)


def test_mean_and_stderr_ci_along_axis_1_and_degenerate_columns() -> None:
    x = np.random.default_rng(1).normal(size=(4, 30))
    mean, lower, upper = mean_and_stderr_ci(x, axis=1)
    half = scipy.stats.norm.ppf(0.975) * scipy.stats.sem(x, axis=1)
    np.testing.assert_allclose(upper - mean, half, rtol=1e-12)
    np.testing.assert_allclose(mean - lower, half, rtol=1e-12)
    one_run = np.array([[1.0, np.nan], [np.nan, np.nan]])
    mean, lower, upper = mean_and_stderr_ci(one_run)
    assert mean[0] == 1.0 and np.isnan([lower[0], upper[0]]).all()
    assert np.isnan([mean[1], lower[1], upper[1]]).all()


@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 0.5])
def test_quantile_band_matches_nanquantile(q: float) -> None:
    x = _ragged_curves(np.random.default_rng(2), n_runs=23)
    for axis, data in [(0, x), (1, x.T), (0, x.reshape(23, 2, 4))]:
        median, lower, upper = quantile_band(data, q, axis=axis)
        ref = np.nanquantile(data, [0.5, q, 1 - q], axis=axis)
        np.testing.assert_allclose(np.stack([median, lower, upper]), ref, rtol=1e-12, atol=1e-12)


def test_quantile_band_validates_q() -> None:
    with pytest.raises(ValueError, match="q must be in"):
        quantile_band(np.ones(3), q=0.7)


@pytest.mark.parametrize("n", range(1, 14))
def test_iqm_matches_trim_mean_1d(n: int) -> None:
    x = np.random.default_rng(n).standard_cauchy(n)
    np.testing.assert_allclose(iqm(x), scipy.stats.trim_mean(x, 0.25), rtol=1e-12)


def test_iqm_matches_trim_mean_along_axes_and_ignores_nan() -> None:
    x = np.random.default_rng(3).exponential(size=(17, 5, 6))
    for axis in (0, 1, 2, None):
        ref = scipy.stats.trim_mean(x, 0.25, axis=axis)
        np.testing.assert_allclose(iqm(x, axis=axis), ref, rtol=1e-12)
    curves = _ragged_curves(np.random.default_rng(4))
    expected = [scipy.stats.trim_mean(c[~np.isnan(c)], 0.25) for c in curves.T]
    np.testing.assert_allclose(iqm(curves), expected, rtol=1e-12)


def test_bootstrap_mean_ci_matches_scipy_percentile_bootstrap() -> None:
    x = np.random.default_rng(5).exponential(size=(40, 6)) * np.arange(1, 7)  # skewed
    mean, lower, upper = bootstrap_mean_ci(x, n_resamples=20_000, seed=0)
    ref = scipy.stats.bootstrap(
        (x,), np.mean, axis=0, n_resamples=20_000, method="percentile", rng=np.random.default_rng(1)
    )
    width = ref.confidence_interval.high - ref.confidence_interval.low
    np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-12)
    # Monte-Carlo error of each endpoint is ~0.5% of the width at 20k resamples.
    assert np.all(np.abs(lower - ref.confidence_interval.low) < 0.03 * width)
    assert np.all(np.abs(upper - ref.confidence_interval.high) < 0.03 * width)


def test_bootstrap_mean_ci_rejects_a_per_column_bootstrap() -> None:
    """Same resampled runs for every step: an affine copy of a column gets the affine interval."""
    base = np.random.default_rng(6).normal(size=200)
    x = np.stack([base, 2 * base + 5, base[::-1]], axis=1)
    _, lower, upper = bootstrap_mean_ci(x, n_resamples=2000, seed=1)
    np.testing.assert_allclose([lower[1], upper[1]], [2 * lower[0] + 5, 2 * upper[0] + 5],
                               rtol=1e-5)
    # Reversing the runs changes which run each count applies to, so that interval differs.
    assert not np.isclose(lower[2], lower[0], rtol=1e-5)


def test_bootstrap_mean_ci_is_the_same_with_column_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _ragged_curves(np.random.default_rng(7), n_runs=50, n_steps=9)
    expected = bootstrap_mean_ci(x, n_resamples=500, seed=3)
    monkeypatch.setattr(curves, "_MEANS_BLOCK_BYTES", 4 * 500 * 2)  # 2 columns per block
    blocked = bootstrap_mean_ci(x, n_resamples=500, seed=3)
    np.testing.assert_allclose(np.stack(blocked), np.stack(expected), rtol=1e-5, atol=1e-6)
    single = bootstrap_mean_ci(x[:, [4]], n_resamples=500, seed=3)
    np.testing.assert_allclose(np.ravel(single), np.stack(expected)[:, 4], rtol=1e-5, atol=1e-6)


def test_bootstrap_mean_ci_with_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(curves, "_COUNTS_CHUNK_BYTES", 4 * 30 * 7)  # 7 resamples per chunk
    monkeypatch.setattr(curves, "_DRAWS_BYTES", 16 * 30 * 3)  # 3 rows of draws at a time
    x = np.random.default_rng(8).normal(size=(30, 4))
    mean, lower, upper = bootstrap_mean_ci(x, n_resamples=4000, seed=0)
    ref = scipy.stats.bootstrap((x,), np.mean, n_resamples=4000, method="percentile", rng=1)
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert np.all(np.abs(lower - ref.confidence_interval.low) < 0.08 * width)
    assert np.all(np.abs(upper - ref.confidence_interval.high) < 0.08 * width)


def test_bootstrap_mean_ci_nan_padding_matches_present_runs() -> None:
    rng = np.random.default_rng(9)
    full = rng.normal(size=(400, 6)) * [1, 2, 3, 4, 5, 6]
    ragged = full.copy()
    ragged[200:, 3:] = np.nan  # half of the runs stop after 3 steps
    mean, lower, upper = bootstrap_mean_ci(ragged, n_resamples=4000, seed=2)
    np.testing.assert_allclose(mean[3:], full[:200, 3:].mean(axis=0), rtol=1e-12)
    # Fully observed steps see exactly the same resamples as without padding.
    ref_full = bootstrap_mean_ci(full[:, :3], n_resamples=4000, seed=2)
    np.testing.assert_allclose(np.stack([mean, lower, upper])[:, :3], np.stack(ref_full), rtol=1e-5)
    # Padded steps: close to bootstrapping only the runs that reached them.
    _, ref_lo, ref_hi = bootstrap_mean_ci(full[:200, 3:], n_resamples=4000, seed=3)
    width = ref_hi - ref_lo
    assert np.all(np.abs(lower[3:] - ref_lo) < 0.1 * width)
    assert np.all(np.abs(upper[3:] - ref_hi) < 0.1 * width)


def test_bootstrap_mean_ci_degenerate_inputs() -> None:
    mean, lower, upper = bootstrap_mean_ci(np.array([[2.0, np.nan]]), n_resamples=100, seed=0)
    assert mean[0] == 2.0 and np.isnan([lower[0], upper[0]]).all()  # one run: no interval
    assert np.isnan([mean[1], lower[1], upper[1]]).all()
    mean, lower, upper = bootstrap_mean_ci([[1.0, 5.0], [3.0, np.nan]], n_resamples=100, seed=0)
    assert lower[0] < mean[0] == 2.0 < upper[0] and mean[1] == 5.0 and np.isnan([lower[1], upper[1]]).all()
    point, lower, upper = bootstrap_mean_ci(np.arange(10.0), n_resamples=100, seed=0)
    assert np.ndim(point) == 0 and lower < point < upper
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_mean_ci(np.ones(5), confidence=95, seed=0)
    with pytest.raises(TypeError, match="seed"):
        bootstrap_mean_ci(np.ones(5), seed=None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- invariants
def _all_intervals(x: np.ndarray, seed: int = 0) -> dict[str, tuple]:
    return {
        "stderr": mean_and_stderr_ci(x),
        "quantile": quantile_band(x),
        "bootstrap": bootstrap_mean_ci(x, n_resamples=1000, seed=seed),
        "stratified_iqm": stratified_bootstrap_ci(
            x, _iqm_batched, n_resamples=500, seed=seed, vectorized=True
        ),
    }


def test_lower_le_point_le_upper() -> None:
    rng = np.random.default_rng(10)
    for x in (rng.normal(size=(25, 12)), rng.exponential(size=(40, 5)), _ragged_curves(rng)):
        x = np.nan_to_num(x, nan=0.0)
        for name, (point, lower, upper) in _all_intervals(x).items():
            assert np.all(lower <= point) and np.all(point <= upper), name


@pytest.mark.parametrize("value", [0.1, 0.3, 0.7, 1 / 3])
@pytest.mark.parametrize("shape", [(7,), (10, 1), (6, 4)])
def test_constant_data_point_lies_in_its_interval(value: float, shape: tuple) -> None:
    """Rounding once put the point 2e-16 outside [lower, upper] here (e.g. 0.7, (6, 4))."""
    x = np.full(shape, value)
    for name, (point, lower, upper) in _all_intervals(x).items():
        assert np.all(lower <= point) and np.all(point <= upper), name
        np.testing.assert_allclose([lower, upper], [point, point], rtol=0, atol=1e-15, err_msg=name)


def test_intervals_shrink_with_more_runs() -> None:
    rng = np.random.default_rng(11)
    few, many = rng.normal(size=(10, 4)), rng.normal(size=(1000, 4))
    small, large = _all_intervals(few), _all_intervals(many)
    for name in small:
        if name == "quantile":  # the spread of the runs does not shrink, only its noise
            continue
        width_many, width_few = large[name][2] - large[name][1], small[name][2] - small[name][1]
        assert np.all(width_many < 0.5 * width_few), name


@pytest.mark.parametrize(
    "call",
    [
        lambda x, seed: bootstrap_mean_ci(x, n_resamples=200, seed=seed),
        lambda x, seed: stratified_bootstrap_ci(x, _iqm_flat, n_resamples=200, seed=seed),
        lambda x, seed: performance_profile_ci(x, [-0.5, 0.0, 0.5], n_resamples=200, seed=seed),
    ],
    ids=["bootstrap_mean_ci", "stratified_bootstrap_ci", "performance_profile_ci"],
)
def test_seed_is_used(call) -> None:
    x = np.random.default_rng(12).normal(size=(15, 3))
    first, again, other = call(x, 0), call(x, 0), call(x, 1)
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(np.stack(first), np.stack(other))
    gen = np.random.default_rng(0)
    state = gen.bit_generator.state
    from_gen = call(x, gen)
    assert gen.bit_generator.state != state  # the Generator passed in advanced
    np.testing.assert_array_equal(np.stack(from_gen), np.stack(first))
    assert not np.array_equal(np.stack(call(x, gen)), np.stack(from_gen))


def test_nan_padded_curves_equal_per_step_computation() -> None:
    x = _ragged_curves(np.random.default_rng(13), n_runs=40)
    per_step = [c[~np.isnan(c)] for c in x.T]
    for fn in (mean_and_stderr_ci, quantile_band, iqm):
        got = np.atleast_2d(np.stack(np.atleast_1d(fn(x))))
        ref = np.stack([np.atleast_1d(np.stack(np.atleast_1d(fn(c)))) for c in per_step], axis=-1)
        np.testing.assert_allclose(got, ref, rtol=1e-12, err_msg=fn.__name__)


# ------------------------------------------------------------------------ run scores
def test_aggregate_scores_modes_on_ragged_curves() -> None:
    x = np.array(
        [
            [1.0, 5.0, 2.0, 4.0, np.nan, np.nan],
            [3.0, np.nan, 0.0, 6.0, 8.0, 7.0],  # an interior NaN is skipped, not padding
            [np.nan] * 6,
        ]
    )
    np.testing.assert_allclose(aggregate_scores(x, "min"), [1.0, 0.0, np.nan])
    np.testing.assert_allclose(aggregate_scores(x, "max"), [5.0, 8.0, np.nan])
    np.testing.assert_allclose(aggregate_scores(x, "avg"), [3.0, 4.8, np.nan])
    np.testing.assert_allclose(aggregate_scores(x, "last"), [4.0, 7.0, np.nan])
    np.testing.assert_allclose(aggregate_scores(x, "last_50%"), [3.0, 7.0, np.nan])  # 2 and 3 steps
    np.testing.assert_allclose(aggregate_scores(x, "last_1%"), [4.0, 7.0, np.nan])  # >= 1 step
    np.testing.assert_allclose(aggregate_scores(x, "last_100%"), aggregate_scores(x, "avg"))
    assert aggregate_scores(x[0], "last") == 4.0


def test_aggregate_scores_last_percent_counts_steps_exactly() -> None:
    curve = np.arange(100.0)
    for k in (7, 29, 57, 12.5):  # 0.29 * 100 == 28.999999999999996 in floating point
        n_last = int(k * 100 // 100)
        assert aggregate_scores(curve, f"last_{k}%") == pytest.approx(curve[-n_last:].mean())


@pytest.mark.parametrize(
    "mode", ["mean", "last_0%", "last_150%", "last_ten%", "last10%", "LAST", None]
)
def test_aggregate_scores_rejects_invalid_modes(mode: object) -> None:
    with pytest.raises(ValueError) as info:
        aggregate_scores(np.ones((2, 3)), mode)  # type: ignore[arg-type]
    for valid in ("'min'", "'max'", "'avg'", "'last'", "'last_<k>%'"):
        assert valid in str(info.value)


# ------------------------------------------------------------------- the 0.2 names (COMPAT)
def test_get_95_confidence_interval_stderr_gives_distances_from_the_mean() -> None:
    x = np.random.default_rng(20).exponential(size=12)
    mean, err_up, err_down = stats.get_95_confidence_interval(x, "stderr")
    half = scipy.stats.norm.ppf(0.975) * scipy.stats.sem(x)
    np.testing.assert_allclose([mean, err_up, err_down], [x.mean(), half, half], rtol=1e-12)
    hand = stats.get_95_confidence_interval([1.0, 2.0, 3.0], "stderr")  # sem = 1 / sqrt(3)
    np.testing.assert_allclose(hand, [2.0, 1.959963984540054 / np.sqrt(3), 1.959963984540054 / np.sqrt(3)])


def test_get_95_confidence_interval_bootstrap_matches_scipy() -> None:
    x = np.random.default_rng(21).exponential(size=30)  # skewed: err_up > err_down
    mean, err_up, err_down = stats.get_95_confidence_interval(x, "bootstrapped_CI")
    ref = scipy.stats.bootstrap((x,), np.mean, n_resamples=10_000, method="percentile", rng=2)
    low, high = ref.confidence_interval
    assert mean == pytest.approx(x.mean(), rel=1e-12)
    assert err_up > err_down > 0
    # Monte-Carlo error of an endpoint at 10k resamples is ~1% of the width.
    assert abs((mean + err_up) - high) < 0.05 * (high - low)
    assert abs((mean - err_down) - low) < 0.05 * (high - low)
    assert stats.get_95_confidence_interval(x, "bootstrapped_CI") == (mean, err_up, err_down)  # seed 0


@pytest.mark.parametrize("method", ["stderr", "bootstrapped_CI"])
def test_get_95_confidence_interval_of_sequence_is_per_step(method: str) -> None:
    seqs = np.random.default_rng(22).normal(size=(6, 9)) * np.arange(1, 7)[:, None]  # (steps, samples)
    mean, up, down = stats.get_95_confidence_interval_of_sequence(seqs, method)
    assert mean.shape == up.shape == down.shape == (6,)
    np.testing.assert_allclose(mean, seqs.mean(axis=1), rtol=1e-12)
    assert np.all(up > 0) and np.all(down > 0)
    if method == "stderr":
        for j, row in enumerate(seqs):
            assert up[j] == pytest.approx(scipy.stats.norm.ppf(0.975) * scipy.stats.sem(row), rel=1e-12)
    # Rows of unequal lengths: missing samples; one sample leaves no interval (NaN distances).
    ragged = [[1.0, 2.0, 3.0], [4.0, 6.0], [5.0]]
    mean, up, down = stats.get_95_confidence_interval_of_sequence(ragged, method)
    np.testing.assert_allclose(mean, [2.0, 5.0, 5.0])
    assert np.all(np.isfinite(up[:2])) and np.isnan(up[2]) and np.isnan(down[2])


def test_get_95_confidence_interval_rejects_unknown_methods() -> None:
    with pytest.raises(stats.StatsError, match=r"'stderr' or 'bootstrapped_CI', got '10th_quantile'"):
        stats.get_95_confidence_interval([1.0, 2.0], "10th_quantile")  # type: ignore[arg-type]
    for method in ("stderr", "bootstrapped_CI"):  # one sample: no interval
        assert np.isnan(stats.get_95_confidence_interval([1.0], method)[1:]).all()


# ------------------------------------------------------------------------------ the package
def test_every_public_name_is_importable_from_the_package() -> None:
    for name in stats.__all__:
        assert callable(getattr(stats, name)) or name == "DEFAULT_N_RESAMPLES", name
    assert issubclass(stats.StatsError, ValueError)
    from alfred.utils.misc import AlfredError

    assert issubclass(stats.StatsError, AlfredError)


def test_import_is_pure_numpy_and_modules_are_small() -> None:
    code = ("import sys, alfred.utils.stats; "
            "print([m for m in ('scipy', 'pandas', 'matplotlib', 'seaborn') if m in sys.modules])")
    repo = Path(__file__).resolve().parents[1]  # this checkout's alfred, whatever the cwd
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)})
    assert out.stdout.strip() == "[]"
    for module in Path(stats.__file__).parent.glob("*.py"):
        assert len(module.read_text().splitlines()) <= 400, module.name
