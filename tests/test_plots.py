"""Tests of alfred.utils.plots (alfred's own figures): shapes, limits, files written and figures closed.

The 0.2 call forms (create_fig, plot_curves, bar_chart...) are tested in test_plots_legacy.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from PIL import Image

from alfred.utils import plots

plt.switch_backend("Agg")  # no screen needed


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """Close every figure a test leaves open, so tests stay independent."""
    yield
    plt.close("all")


def _visible_axes(fig: Figure) -> list[Axes]:
    """Return the visible panels of ``fig`` (colour bars excluded)."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


# ----------------------------------------------------------------------------- new_figure


@pytest.mark.parametrize(("n_rows", "n_cols"), [(1, 1), (1, 3), (3, 1), (2, 4)])
def test_new_figure_always_returns_2d_axes(n_rows: int, n_cols: int) -> None:
    fig, axes = plots.new_figure(n_rows, n_cols)
    assert isinstance(fig, Figure)
    assert isinstance(axes, np.ndarray)
    assert axes.shape == (n_rows, n_cols)
    assert all(isinstance(ax, Axes) for ax in axes.ravel())


def test_new_figure_panel_size_when_small() -> None:
    fig, _ = plots.new_figure(2, 3, panel_size=(4.0, 3.0))
    assert tuple(fig.get_size_inches()) == pytest.approx((12.0, 6.0))


@pytest.mark.parametrize(("n_rows", "n_cols"), [(10, 10), (1, 30), (30, 1)])
def test_new_figure_caps_figure_size(n_rows: int, n_cols: int) -> None:
    fig, axes = plots.new_figure(n_rows, n_cols, max_size=(24.0, 18.0))
    width, height = fig.get_size_inches()
    assert width <= 24.0 and height <= 18.0
    assert width == pytest.approx(min(4.0 * n_cols, 24.0))
    assert height == pytest.approx(min(3.0 * n_rows, 18.0))
    assert axes.shape == (n_rows, n_cols)


@pytest.mark.parametrize(("n_rows", "n_cols"), [(1000, 1), (40, 25), (11, 10)])
def test_new_figure_refuses_too_many_panels(n_rows: int, n_cols: int) -> None:
    before = plt.get_fignums()
    with pytest.raises(ValueError, match="top-k"):
        plots.new_figure(n_rows, n_cols)
    assert plt.get_fignums() == before  # no figure was created


@pytest.mark.parametrize(("n_rows", "n_cols"), [(0, 1), (1, 0), (-1, 2)])
def test_new_figure_rejects_empty_grid(n_rows: int, n_cols: int) -> None:
    with pytest.raises(ValueError):
        plots.new_figure(n_rows, n_cols)


# ----------------------------------------------------------------------------- moving_average


def test_moving_average_window_one_is_identity() -> None:
    y = np.array([3.0, -1.0, np.nan, 7.5, 2.0])
    out = plots.moving_average(y, 1)
    np.testing.assert_array_equal(out, y)
    assert out is not y


@pytest.mark.parametrize("window", [2, 3, 10, 50])
def test_moving_average_keeps_constant_and_length(window: int) -> None:
    y = np.full(37, 0.123456789)
    out = plots.moving_average(y, window)
    assert out.shape == y.shape
    np.testing.assert_allclose(out, y, rtol=0, atol=1e-15)


def test_moving_average_centred_mean_with_edges() -> None:
    out = plots.moving_average([0.0, 1.0, 2.0, 3.0, 4.0], 3)
    np.testing.assert_allclose(out, [0.5, 1.0, 2.0, 3.0, 3.5])


def test_moving_average_ignores_nans() -> None:
    out = plots.moving_average([1.0, np.nan, 3.0, np.nan, np.nan, np.nan, 5.0], 3)
    assert out.shape == (7,)
    np.testing.assert_allclose(out[:3], [1.0, 2.0, 3.0])
    assert out[3] == pytest.approx(3.0)
    assert np.isnan(out[4])  # its whole window is NaN
    assert out[6] == pytest.approx(5.0)


def test_moving_average_all_nan_and_empty() -> None:
    assert np.isnan(plots.moving_average([np.nan, np.nan], 5)).all()
    assert plots.moving_average([], 3).shape == (0,)


def test_moving_average_window_longer_than_curve_gives_global_mean() -> None:
    out = plots.moving_average([1.0, 2.0, 3.0, 6.0], 100)
    np.testing.assert_allclose(out, 3.0)


@pytest.mark.parametrize("window", [0, -2, 1.5, True])
def test_moving_average_rejects_bad_window(window: object) -> None:
    with pytest.raises(ValueError):
        plots.moving_average([1.0, 2.0], window)  # type: ignore[arg-type]


def test_moving_average_rejects_2d() -> None:
    with pytest.raises(ValueError):
        plots.moving_average(np.ones((2, 3)), 2)


# ----------------------------------------------------------------------------- draw_curves


def test_draw_curves_each_seed_thin_lines() -> None:
    rng = np.random.default_rng(0)
    ys = [rng.normal(size=50) for _ in range(4)]
    ax = plots.draw_curves(xs=np.arange(50), ys=ys, labels=["exp"] * 4, xlabel="step", ylabel="return")
    assert isinstance(ax, Axes)
    assert len(ax.get_lines()) == 4
    assert all(line.get_linewidth() == 1.0 for line in ax.get_lines())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exp"]  # one entry per label
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "return"
    assert len(ax.collections) == 0  # no band


def test_draw_curves_mean_with_bands_on_given_ax() -> None:
    _, axes = plots.new_figure(1, 2)
    x = np.linspace(0, 1, 30)
    means = [np.sin(x), np.cos(x)]
    ax = plots.draw_curves(
        axes[0, 1], x, means,
        lowers=[m - 0.1 for m in means], uppers=[m + 0.1 for m in means],
        labels=["a", "b"], smooth=5, title="bands",
    )
    assert ax is axes[0, 1]
    assert len(ax.get_lines()) == 2
    assert len(ax.collections) == 2  # one shaded band per curve
    assert all(c.get_alpha() == pytest.approx(0.25) for c in ax.collections)
    assert ax.get_title() == "bands"
    assert len(axes[0, 0].get_lines()) == 0


def test_draw_curves_ragged_curves_default_x() -> None:
    ax = plots.draw_curves(ys=[np.arange(5.0), np.arange(8.0)], legend=False)
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [5, 8]
    assert ax.get_legend() is None


def test_draw_curves_validates_inputs() -> None:
    with pytest.raises(ValueError):
        plots.draw_curves(xs=[np.arange(3)], ys=[np.arange(4.0)])
    with pytest.raises(ValueError, match="lowers"):
        plots.draw_curves(ys=[np.arange(4.0)], lowers=[np.arange(4.0)])
    with pytest.raises(ValueError):
        plots.draw_curves(ys=[np.arange(4.0)], labels=["a", "b"])
    with pytest.raises(ValueError):
        plots.draw_curves()


# ----------------------------------------------------------------------------- draw_ranked_bars


def test_draw_ranked_bars_sorted_best_first_with_error_bars() -> None:
    scores = {"a": 0.2, "b": 0.9, "c": 0.5}
    ax = plots.draw_ranked_bars(
        scores=scores,
        lowers={"a": 0.1, "b": 0.8, "c": 0.45},
        uppers={"a": 0.3, "b": 0.95, "c": 0.6},
        ylabel="return",
    )
    assert isinstance(ax, Axes)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "c", "a"]
    assert [p.get_width() for p in ax.patches] == pytest.approx([0.9, 0.5, 0.2])
    assert ax.get_xlabel() == "return"
    bars = next(c for c in ax.containers if isinstance(c, BarContainer))
    segments = bars.errorbar.lines[2][0].get_segments()
    assert [tuple(seg[:, 0]) for seg in segments] == [
        pytest.approx((0.8, 0.95)), pytest.approx((0.45, 0.6)), pytest.approx((0.1, 0.3))]


def test_draw_ranked_bars_ascending_and_sequence_input() -> None:
    ax = plots.draw_ranked_bars(scores=[3.0, 1.0, 2.0], labels=["x", "y", "z"], sort="ascending")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["y", "z", "x"]
    ax = plots.draw_ranked_bars(scores=[3.0, 1.0, 2.0], labels=["x", "y", "z"], sort="none")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y", "z"]


def test_draw_ranked_bars_highlight_legend() -> None:
    ax = plots.draw_ranked_bars(scores={"a": 1.0, "b": 0.9, "c": 0.1}, highlight={"a", "b"},
                         highlight_label="overlaps best")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "overlaps best" in texts
    colours = [p.get_facecolor() for p in ax.patches]
    assert colours[0] == colours[1] != colours[2]


def test_draw_ranked_bars_1000_entries_stays_legible(tmp_path) -> None:
    rng = np.random.default_rng(0)
    n = 1000
    scores = {f"experiment_{i:04d}_lr={10 ** rng.uniform(-5, -1):.2e}": float(rng.normal()) for i in range(n)}
    ax = plots.draw_ranked_bars(scores=scores, top_k=30, ylabel="score", title="1,000 experiments")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 31  # 30 bars and the summary
    assert labels[0] == max(scores, key=scores.get)
    rest = sorted(scores.values())[: n - 30]
    assert labels[-1].startswith("970 others")
    assert f"median {np.median(rest):.3g}" in labels[-1]
    assert f"[{min(rest):.3g}, {max(rest):.3g}]" in labels[-1]
    png, = plots.save_fig(ax.figure, tmp_path / "bars", formats=("png",), dpi=150)
    with Image.open(png) as image:
        width, height = image.size
    assert width < 4000 and height < 4000


@pytest.mark.parametrize("kwargs", [
    {"sort": "best"},
    {"top_k": 0},
    {"top_k": 1000},
    {"labels": ["a"]},
    {"lowers": {"a": 0.0, "b": 0.0}},
])
def test_draw_ranked_bars_rejects_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        plots.draw_ranked_bars(scores={"a": 1.0, "b": 2.0}, **kwargs)


def test_draw_ranked_bars_sequence_needs_labels() -> None:
    with pytest.raises(ValueError, match="labels"):
        plots.draw_ranked_bars(scores=[1.0, 2.0])


# ----------------------------------------------------------------------------- sampled hyperparameters


def _samples(n: int = 200) -> dict[str, list]:
    rng = np.random.default_rng(0)
    return {
        "lr": list(10 ** rng.uniform(-6, -1, n)),
        "dropout": list(rng.uniform(0.0, 1.0, n)),
        "optimizer": list(rng.choice(["adam", "sgd"], n)),
        "batch_size": rng.choice([32, 64, 128], n).tolist(),
        "layer_norm": [bool(b) for b in rng.integers(0, 2, n)],
    }


def test_draw_sampled_hyperparams_panels_and_scales() -> None:
    samples = _samples()
    fig = plots.draw_sampled_hyperparams(samples=samples, title="variations")
    assert isinstance(fig, Figure)
    axes = _visible_axes(fig)
    assert [ax.get_title() for ax in axes] == list(samples)
    by_name = {ax.get_title(): ax for ax in axes}
    assert by_name["lr"].get_xscale() == "log"  # log-uniform over 5 decades
    assert by_name["dropout"].get_xscale() == "linear"
    assert [t.get_text() for t in by_name["optimizer"].get_xticklabels()] == ["adam", "sgd"]
    assert sum(p.get_height() for p in by_name["optimizer"].patches) == len(samples["optimizer"])
    assert [t.get_text() for t in by_name["batch_size"].get_xticklabels()] == ["32", "64", "128"]


def test_draw_sampled_hyperparams_on_given_axes() -> None:
    fig, axes = plots.new_figure(2, 3)
    out = plots.draw_sampled_hyperparams(axes, samples=_samples(50))
    assert out is fig
    assert len(_visible_axes(fig)) == 5  # the spare panel is hidden
    with pytest.raises(ValueError):
        plots.draw_sampled_hyperparams(axes[0, :2], samples=_samples(10))
    with pytest.raises(ValueError):
        plots.draw_sampled_hyperparams(samples={})


def test_draw_sampled_hyperparams_unset_values() -> None:
    fig = plots.draw_sampled_hyperparams(samples={"dropout": [None, 0.1, 0.2, None, 0.3]})
    assert _visible_axes(fig)[0].get_title() == "dropout (2 unset)"


def test_plot_sampled_hyperparams_figures_splits() -> None:
    rng = np.random.default_rng(0)
    samples = {f"hp{i}": list(rng.uniform(size=20)) for i in range(26)}
    figs = plots.plot_sampled_hyperparams_figures(samples, per_fig=12)
    assert len(figs) == 3
    assert [len(_visible_axes(f)) for f in figs] == [12, 12, 2]
    assert [t.get_text() for t in figs[0].texts][0].endswith("(1/3)")  # the heading (head_figure)
    with pytest.raises(ValueError):
        plots.plot_sampled_hyperparams_figures(samples, per_fig=0)


# ----------------------------------------------------------------------------- vertical densities


def test_draw_densities() -> None:
    rng = np.random.default_rng(0)
    dists = {"many": rng.normal(size=500), "few": rng.normal(size=8), "constant": np.ones(3),
             "nan": np.array([np.nan])}
    ax = plots.draw_densities(distributions=dists, ylabel="return", title="seeds")
    assert isinstance(ax, Axes)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["many\n(n=500)", "few\n(n=8)", "constant\n(n=3)", "nan\n(n=0)"]
    assert ax.get_ylabel() == "return"
    # points drawn for "few" and "constant" only (strip), never the 500 values
    strip_sizes = sorted(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_sizes")
                         and len(c.get_offsets()) and c.get_sizes().size)
    assert 8 in strip_sizes and 3 in strip_sizes and 500 not in strip_sizes


def test_draw_densities_limits() -> None:
    with pytest.raises(ValueError):
        plots.draw_densities(distributions={})
    with pytest.raises(ValueError, match="top-k"):
        plots.draw_densities(distributions={str(i): [1.0, 2.0] for i in range(101)})


# ----------------------------------------------------------------------------- sensitivity


def test_plot_sensitivity_panels() -> None:
    rng = np.random.default_rng(0)
    n = 40
    hyperparams = {
        "lr": list(10 ** rng.uniform(-5, -1, n)),
        "gamma": list(rng.uniform(0.9, 0.99, n)),
        "optimizer": list(rng.choice(["adam", "sgd", "rmsprop"], n)),
        "fixed": [7] * n,  # not varied: no panel
    }
    scores = rng.normal(size=n)
    fig = plots.plot_sensitivity(scores, hyperparams, ylabel="return", lowers=scores - 0.1,
                                 uppers=scores + 0.2, title="sensitivity")
    assert isinstance(fig, Figure)
    axes = _visible_axes(fig)
    assert [ax.get_xlabel() for ax in axes] == ["lr", "gamma", "optimizer"]
    assert axes[0].get_xscale() == "log" and axes[1].get_xscale() == "linear"
    assert [t.get_text() for t in axes[2].get_xticklabels()] == ["adam", "rmsprop", "sgd"]
    assert axes[0].get_ylabel() == "return"


def test_plot_sensitivity_limits() -> None:
    scores = np.arange(5.0)
    with pytest.raises(ValueError, match="max_panels"):
        plots.plot_sensitivity(scores, {f"h{i}": list(range(5)) for i in range(13)}, max_panels=12)
    with pytest.raises(ValueError):
        plots.plot_sensitivity(scores, {"h": [1, 2]})
    with pytest.raises(ValueError):
        plots.plot_sensitivity(scores, {"h": list(range(5))}, lowers=scores)
    fig = plots.plot_sensitivity(scores, {"fixed": [1] * 5})
    assert isinstance(fig, Figure)  # nothing varies: a figure that says so


# ----------------------------------------------------------------------------- save_fig and state


def test_save_fig_writes_png_and_pdf_and_closes(tmp_path) -> None:
    ax = plots.draw_curves(ys=[np.arange(10.0)])
    assert plt.get_fignums()
    paths = plots.save_fig(ax.figure, tmp_path / "sub" / "dir" / "curves_lr=0.1")
    assert [p.name for p in paths] == ["curves_lr=0.1.png", "curves_lr=0.1.pdf"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    assert plt.get_fignums() == []


def test_save_fig_many_calls_leak_no_figure(tmp_path) -> None:
    for i in range(5):
        fig, _ = plots.new_figure(1, 1, panel_size=(2.0, 1.5))
        plots.save_fig(fig, tmp_path / f"f{i}", formats=("png",), dpi=30)
    assert plt.get_fignums() == []


def test_save_fig_bad_format_still_closes(tmp_path) -> None:
    fig, _ = plots.new_figure(1, 1)
    with pytest.raises(ValueError):
        plots.save_fig(fig, tmp_path / "x", formats=("docx",))
    assert plt.get_fignums() == []
    assert not list(tmp_path.iterdir())


def test_plotting_leaves_global_style_unchanged() -> None:
    before = {k: plt.rcParams[k] for k in ("axes.facecolor", "axes.grid", "font.size", "axes.prop_cycle")}
    plots.draw_ranked_bars(scores={"a": 1.0})
    plots.draw_curves(ys=[np.arange(3.0)])
    after = {k: plt.rcParams[k] for k in before}
    assert after == before


def test_limits_are_the_exported_constants() -> None:
    fig, axes = plots.new_figure(plots.MAX_PANELS // 10, 10)
    assert axes.size == plots.MAX_PANELS  # the cap itself is allowed
    plt.close(fig)
    with pytest.raises(ValueError, match=str(plots.MAX_PANELS)):
        plots.new_figure(plots.MAX_PANELS + 1, 1)
    with pytest.raises(ValueError, match=str(plots.MAX_PANELS)):
        plots.draw_densities(distributions={str(i): [1.0, 2.0] for i in range(plots.MAX_PANELS + 1)})
    scores = {f"e{i}": float(i) for i in range(plots.MAX_BARS + 5)}
    ax = plots.draw_ranked_bars(scores=scores, top_k=plots.MAX_BARS)
    assert len(ax.get_yticklabels()) == plots.MAX_BARS + 1  # the bars and the summary of the rest
    with pytest.raises(ValueError, match=str(plots.MAX_BARS)):
        plots.draw_ranked_bars(scores=scores, top_k=plots.MAX_BARS + 1)


# ----------------------------------------------------------------------------- the package


@pytest.mark.parametrize(("value", "text"), [
    (0.000123456, "0.000123"), (1e-05, "1e-05"), (3.14159, "3.14"), (np.float32(0.5), "0.5"),
    (64, "64"), (np.int64(7), "7"), (True, "True"), ("adam", "adam"), (None, "None"), ([1, 2], "[1, 2]"),
])
def test_short_value(value: object, text: str) -> None:
    assert plots.short_value(value) == text


def test_every_exported_name_resolves() -> None:
    namespace: dict = {}
    exec("from alfred.utils.plots import *", namespace)
    assert set(plots.__all__) <= set(namespace)
    for name in plots.__all__:
        assert getattr(plots, name) is namespace[name]
    with pytest.raises(AttributeError, match="no_such_figure"):
        plots.no_such_figure  # noqa: B018


def test_package_modules_stay_small() -> None:
    package = Path(plots.__file__).parent
    sizes = {f.name: len(f.read_text(encoding="utf-8").splitlines()) for f in package.glob("*.py")}
    assert {"style.py", "curves.py", "rankings.py", "hyperparams.py", "legacy.py"} <= set(sizes)
    assert max(sizes.values()) <= 400, sizes


def test_limits_and_labels_import_no_plotting_stack() -> None:
    code = ("import sys; from alfred.utils.plots import MAX_PANELS, MAX_BARS, short_value; "
            "print(sorted(m for m in ('numpy', 'matplotlib', 'seaborn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
