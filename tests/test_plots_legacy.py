"""The 0.2 call forms of alfred.utils.plots, as COMPAT.md lists them: every name, every listed
call form, and what 0.2 callers rely on (return values, what is drawn where)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from PIL import Image

from alfred.utils import plots
from alfred.utils.plots import (
    bar_chart,
    create_fig,
    plot_curves,
    plot_sampled_hyperparams,
    plot_vertical_densities,
    smooth_out,
)

plt.switch_backend("Agg")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _points(coll) -> set[tuple[float, float]]:
    """The vertices of a filled band (a PolyCollection) as a set of rounded (x, y) points."""
    return {(round(float(x), 9), round(float(y), 9)) for path in coll.get_paths() for x, y in path.vertices}


# ----------------------------------------------------------------------------- signatures

_EMPTY = inspect.Parameter.empty
COMPAT_FORMS = {  # the call forms of tag v0.2 (COMPAT.md's, where they agree): (name, default) in positional order
    "create_fig": [("axes_shape", _EMPTY), ("figsize", None)],
    "plot_curves": [("ax", _EMPTY), ("ys", _EMPTY), ("xs", None), ("colors", None), ("markers", None),
                    ("markersize", 15), ("markevery", None), ("labels", None), ("xlabel", ""), ("ylabel", ""),
                    ("xlim", (None, None)), ("ylim", (None, None)), ("axis_font_size", 22), ("tick_font_size", 18),
                    ("n_x_ticks", 4), ("n_y_ticks", 4), ("title", ""), ("title_font_size", 24),
                    ("fill_up", None), ("fill_down", None), ("alpha_fill", 0.1), ("error_up", None),
                    ("error_down", None), ("smooth", False), ("add_legend", True), ("legend_outside", False),
                    ("legend_font_size", 20), ("legend_pos", (0.5, -0.2)), ("legend_loc", "upper center"),
                    ("legend_n_columns", 1), ("legend_marker_first", True), ("hlines", None)],
    "bar_chart": [("ax", _EMPTY), ("scores", _EMPTY), ("err_up", None), ("err_down", None), ("capsize", 10.),
                  ("colors", None), ("group_names", None), ("xlabel", ""), ("ylabel", ""), ("title", ""),
                  ("cmap", "viridis")],
    "plot_vertical_densities": [("ax", _EMPTY), ("ys", _EMPTY), ("colors", None), ("labels", None), ("xlabel", ""),
                                ("ylabel", ""), ("axis_font_size", 22), ("tick_font_size", 18), ("title", ""),
                                ("title_font_size", 24), ("make_boxplot", False), ("whis", (0, 99)),
                                ("hlines", None)],
    "plot_sampled_hyperparams": [("ax", _EMPTY), ("param_samples", _EMPTY), ("log_params", ())],
    "smooth_out": [("data_serie", _EMPTY), ("smooth_factor", 0.2)],
}


@pytest.mark.parametrize("name", sorted(COMPAT_FORMS))
def test_signature_is_the_02_call_form(name: str) -> None:
    params = list(inspect.signature(getattr(plots, name)).parameters.values())
    positional = [(p.name, p.default) for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == COMPAT_FORMS[name]
    assert all(p.kind is p.KEYWORD_ONLY and p.default is not _EMPTY for p in params[len(positional):])


# ----------------------------------------------------------------------------- create_fig


@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (3, 1), (2, 2)])
def test_create_fig_returns_what_subplots_returns(shape: tuple[int, int]) -> None:
    fig, axes = create_fig(shape)
    ref_fig, ref_axes = plt.subplots(*shape)
    assert isinstance(fig, Figure)
    assert type(axes) is type(ref_axes)
    if isinstance(ref_axes, np.ndarray):
        assert axes.shape == ref_axes.shape
        assert all(isinstance(ax, Axes) for ax in axes.ravel())
        assert all(ax.figure is fig for ax in axes.ravel())
    else:
        assert isinstance(axes, Axes) and axes.figure is fig
    rows, cols = shape
    assert tuple(fig.get_size_inches()) == pytest.approx((8.0 * cols, 5.0 * rows))  # 8 in per column, 5 per row
    assert len(fig.axes) == rows * cols


def test_create_fig_call_forms() -> None:
    fig, ax = create_fig((1, 1), (3.0, 2.0))  # figsize positional
    assert isinstance(ax, Axes) and tuple(fig.get_size_inches()) == pytest.approx((3.0, 2.0))
    fig, axes = create_fig(axes_shape=(1, 2), figsize=(6.0, 2.5))
    assert axes.shape == (2,) and tuple(fig.get_size_inches()) == pytest.approx((6.0, 2.5))
    fig, axes = create_fig([2, 3])  # any pair
    assert axes.shape == (2, 3)
    fig.tight_layout()  # what 0.2 callers do next; no layout engine to conflict with


@pytest.mark.parametrize("shape", [(0, 1), (1,), (1, 2, 3), (1.5, 1), (True, 1)])
def test_create_fig_rejects_bad_shapes(shape: tuple) -> None:
    with pytest.raises(ValueError, match="axes_shape"):
        create_fig(shape)


# ----------------------------------------------------------------------------- smooth_out


def _ema_reference(y: np.ndarray, f: float) -> np.ndarray:
    """Closed form of the EMA: s_t = f^t y_0 + (1 - f) * sum_{k=1..t} f^(t-k) y_k."""
    t = np.arange(len(y))
    weights = np.where(t[:, None] >= t[None, :], f ** np.clip(t[:, None] - t[None, :], 0, None), 0.0) * (1 - f)
    weights[:, 0] = f ** t
    return weights @ y


@pytest.mark.parametrize("factor", [0.2, 0.5, 0.9])
def test_smooth_out_is_an_exponential_moving_average(factor: float) -> None:
    y = np.random.default_rng(0).normal(size=40)
    out = smooth_out(y, factor) if factor != 0.2 else smooth_out(y)
    assert isinstance(out, list) and len(out) == len(y)
    np.testing.assert_allclose(out, _ema_reference(y, factor), rtol=1e-12, atol=1e-12)
    assert smooth_out(data_serie=list(y), smooth_factor=factor) == pytest.approx(out)


def test_smooth_out_larger_factor_is_smoother() -> None:
    y = np.random.default_rng(1).normal(size=500)
    roughness = [np.abs(np.diff(smooth_out(y, f))).mean() for f in (0.1, 0.5, 0.9)]
    assert roughness[0] > roughness[1] > roughness[2]


def test_smooth_out_keeps_gaps() -> None:
    out = smooth_out([1.0, None, 3.0, float("nan"), 5.0], 0.5)
    assert out[0] == 1.0 and out[1] is None and out[2] == pytest.approx(2.0)
    assert np.isnan(out[3]) and out[4] == pytest.approx(3.5)  # the average goes on after a gap
    assert smooth_out([]) == []


@pytest.mark.parametrize("factor", [0.0, 1.0, -0.1, 1.5])
def test_smooth_out_rejects_factors_outside_0_1(factor: float) -> None:
    with pytest.raises(ValueError, match="smooth_factor"):
        smooth_out([1.0, 2.0], factor)


# ----------------------------------------------------------------------------- plot_curves


def test_plot_curves_positional_form_draws_each_curve() -> None:
    fig, ax = create_fig((1, 1))
    ys = [np.arange(5.0), np.arange(5.0) ** 2]
    xs = [np.arange(5.0) * 10, np.arange(5.0) * 20]
    assert plot_curves(ax, ys, xs) is None  # 0.2 returned nothing
    lines = ax.get_lines()
    assert len(lines) == 2
    for line, x, y in zip(lines, xs, ys):
        np.testing.assert_array_equal(line.get_xdata(), x)
        np.testing.assert_array_equal(line.get_ydata(), y)
    assert lines[0].get_color() != lines[1].get_color()
    assert ax.get_legend() is None  # no label, no legend


def test_plot_curves_default_xs_and_lists_with_nones() -> None:
    _, ax = create_fig((1, 1))
    plot_curves(ax, ys=[[1.0, None, 3.0]])  # a recorder's tape may hold None
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
    assert np.isnan(line.get_ydata()[1])


def test_plot_curves_fills_at_the_given_distances() -> None:
    _, axes = create_fig((1, 3))
    x = np.arange(6.0)
    ys = [np.sin(x), np.cos(x) + 3]
    ups, downs = [np.full(6, 0.5), np.linspace(0.1, 0.6, 6)], [np.full(6, 0.2), 0.3 * np.ones(6)]
    plot_curves(axes[1], ys, xs=[x, x], fill_up=ups, fill_down=downs, alpha_fill=0.3, labels=["a", "b"])
    ax = axes[1]
    assert len(ax.collections) == 2
    for coll, line, y, up, down in zip(ax.collections, ax.get_lines(), ys, ups, downs):
        pts = _points(coll)
        assert {(round(a, 9), round(b, 9)) for a, b in zip(x, y + up)} <= pts  # upper edge: y + fill_up
        assert {(round(a, 9), round(b, 9)) for a, b in zip(x, y - down)} <= pts  # lower edge: y - fill_down
        assert coll.get_alpha() == pytest.approx(0.3)
        assert to_rgba(coll.get_facecolor()[0], 1.0) == pytest.approx(to_rgba(line.get_color()))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert not axes[0].get_lines() and not axes[2].get_lines()


def test_plot_curves_every_keyword() -> None:
    _, ax = create_fig((1, 1))
    y = np.linspace(0.0, 1.0, 50)
    plot_curves(ax, ys=[y], xs=[np.arange(50)], colors=["red"], markers=["o"], markersize=7, markevery=5,
                labels=["run"], xlabel="episode", ylabel="return", axis_font_size=11, tick_font_size=9,
                title="T", title_font_size=13, fill_up=[0.1], fill_down=[0.2], alpha_fill=0.2, smooth=False,
                add_legend=True, legend_underneath=True, legend_font_size=8, legend_pos=(0.1, -0.3))
    (line,) = ax.get_lines()
    assert line.get_marker() == "o" and line.get_markersize() == 7 and line.get_markevery() == 5
    assert to_rgba(line.get_color()) == to_rgba("red")
    assert ax.get_title() == "T" and ax.title.get_fontsize() == 13
    assert ax.get_xlabel() == "episode" and ax.xaxis.label.get_fontsize() == 11
    assert ax.get_ylabel() == "return" and ax.yaxis.label.get_fontsize() == 11
    assert ax.get_xticklabels()[0].get_fontsize() == 9
    band = _points(ax.collections[0])
    assert (0.0, round(-0.2, 9)) in band and (49.0, round(1.1, 9)) in band  # scalar distances broadcast
    legend = ax.get_legend()
    assert legend.get_texts()[0].get_fontsize() == 8
    anchor = legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert (anchor.x0, anchor.y0) == pytest.approx((0.1, -0.3))  # outside the axes, where asked


def test_plot_curves_default_marker_spacing_and_no_legend() -> None:
    _, ax = create_fig((1, 1))
    plot_curves(ax, [np.arange(30.0)], markers=["s"], labels=["x"], add_legend=False)
    assert ax.get_lines()[0].get_markevery() == 3  # every tenth of the curve
    assert ax.get_legend() is None


def test_plot_curves_smooth_draws_raw_faint_and_ema_labelled() -> None:
    _, ax = create_fig((1, 1))
    y = np.random.default_rng(0).normal(size=100)
    plot_curves(ax, [y], smooth=True, labels=["noisy"])
    raw, smoothed = ax.get_lines()
    np.testing.assert_array_equal(raw.get_ydata(), y)
    np.testing.assert_allclose(smoothed.get_ydata(), smooth_out(y))
    assert raw.get_alpha() < 1 and raw.get_color() == smoothed.get_color()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["noisy"]


def test_plot_curves_rejects_mismatches() -> None:
    _, ax = create_fig((1, 1))
    with pytest.raises(ValueError, match="fill_up"):
        plot_curves(ax, [np.arange(3.0)], fill_up=[np.ones(3)])
    with pytest.raises(ValueError):
        plot_curves(ax, [np.arange(3.0)], xs=[np.arange(4.0)])
    with pytest.raises(ValueError, match="labels"):
        plot_curves(ax, [np.arange(3.0)], labels=["a", "b"])


# ----------------------------------------------------------------------------- bar_chart


SCORES = {"ppo": {"walker": 3.0, "hopper": 1.0, "ant": 2.0}, "sac": {"walker": 4.0, "hopper": 0.5, "ant": 2.5}}
UP = {"ppo": {"walker": 0.3, "hopper": 0.1, "ant": 0.2}, "sac": {"walker": 0.4, "hopper": 0.05, "ant": 0.25}}
DOWN = {"ppo": {"walker": 0.6, "hopper": 0.2, "ant": 0.4}, "sac": {"walker": 0.8, "hopper": 0.1, "ant": 0.5}}


def _bars(ax: Axes) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def test_bar_chart_grouped_heights_positions_and_error_bars() -> None:
    _, ax = create_fig((1, 1))
    assert bar_chart(ax, SCORES, UP, DOWN, 4.0) is None
    containers = _bars(ax)
    assert len(containers) == 2  # one per series
    groups = ["walker", "hopper", "ant"]
    for container, series in zip(containers, SCORES):
        assert [p.get_height() for p in container.patches] == pytest.approx([SCORES[series][g] for g in groups])
        segments = container.errorbar.lines[2][0].get_segments()
        for seg, g in zip(segments, groups):
            h = SCORES[series][g]
            assert sorted(seg[:, 1]) == pytest.approx([h - DOWN[series][g], h + UP[series][g]])
        caps = container.errorbar.lines[1]
        assert caps and caps[0].get_markersize() == pytest.approx(2 * 4.0)  # capsize in points
    centres = [[p.get_x() + p.get_width() / 2 for p in c.patches] for c in containers]
    for j in range(3):  # the bars of group j sit side by side around x = j, series in order
        assert centres[0][j] < centres[1][j]
        assert (centres[0][j] + centres[1][j]) / 2 == pytest.approx(j)
    assert [t.get_text() for t in ax.get_xticklabels()] == groups  # no group_names: the keys
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ppo", "sac"]


def test_bar_chart_keywords() -> None:
    _, ax = create_fig((1, 1))
    bar_chart(ax, scores=SCORES, err_up=UP, err_down=DOWN, capsize=2., colors={"ppo": "red", "sac": "blue"},
              group_names=["W", "H", "A"], xlabel="task", ylabel="return", title="Average Return", cmap="magma")
    ppo, sac = _bars(ax)
    assert all(to_rgba(p.get_facecolor()) == to_rgba("red") for p in ppo.patches)
    assert all(to_rgba(p.get_facecolor()) == to_rgba("blue") for p in sac.patches)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["W", "H", "A"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("task", "return", "Average Return")


def test_bar_chart_without_errors_colours_from_cmap() -> None:
    _, ax = create_fig((1, 1))
    bar_chart(ax, {"a": {"g": 1.0}, "b": {"g": 2.0}, "c": {"g": 3.0}}, cmap="viridis")
    containers = _bars(ax)
    assert all(c.errorbar is None for c in containers)
    colours = [to_rgba(c.patches[0].get_facecolor()) for c in containers]
    assert len(set(colours)) == 3
    assert colours[0] == pytest.approx(to_rgba(plt.get_cmap("viridis")(0.0)))


def test_bar_chart_missing_group_and_bad_input() -> None:
    _, ax = create_fig((1, 1))
    bar_chart(ax, {"a": {"g1": 1.0, "g2": 2.0}, "b": {"g1": 3.0}})
    assert np.isnan(_bars(ax)[1].patches[1].get_height())  # b has no g2: no bar
    with pytest.raises(ValueError, match="empty"):
        bar_chart(ax, {})
    with pytest.raises(ValueError, match="group_names"):
        bar_chart(ax, SCORES, group_names=["only one"])
    with pytest.raises(ValueError, match="err_up"):
        bar_chart(ax, SCORES, err_up={"ppo": UP["ppo"]})


# ----------------------------------------------------------------------------- plot_vertical_densities


def test_plot_vertical_densities_points_at_their_group() -> None:
    _, ax = create_fig((1, 1))
    ys = [np.array([1.0, 2.0, 3.0]), np.array([5.0, np.nan, 6.0])]
    assert plot_vertical_densities(ax, ys, ["red", "blue"], ["ppo", "sac"]) is None
    a, b = ax.get_lines()
    np.testing.assert_array_equal(a.get_xdata(), [1, 1, 1])
    np.testing.assert_array_equal(a.get_ydata(), ys[0])
    np.testing.assert_array_equal(b.get_xdata(), [2, 2])  # the NaN is left out
    assert to_rgba(b.get_color()) == to_rgba("blue")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ppo", "sac"]
    assert ax.get_xlim() == pytest.approx((0.5, 2.5))


def test_plot_vertical_densities_boxplot_whiskers_at_percentiles() -> None:
    _, ax = create_fig((1, 1))
    rng = np.random.default_rng(0)
    ys = [rng.normal(size=200), rng.normal(3.0, 2.0, size=200)]
    plot_vertical_densities(ax, ys=ys, colors=None, labels=["a", "b"], xlabel="alg", ylabel="score",
                            axis_font_size=10, tick_font_size=8, title="final", title_font_size=12,
                            make_boxplot=True, whis=(0, 99))
    assert len(ax.patches) == 2  # one box per group
    vertical = [line for line in ax.get_lines() if len(line.get_xdata()) == 2 and line.get_linestyle() != "None"
                and line.get_xdata()[0] == line.get_xdata()[1]]  # the whiskers (fliers are markers only)
    ends = [float(v) for line in vertical for v in line.get_ydata()]
    for y in ys:  # whiskers reach the data points at the 0th and 99th percentiles
        assert any(v == pytest.approx(y.min()) for v in ends)
        assert any(v == pytest.approx(y[y <= np.percentile(y, 99)].max()) for v in ends)
        assert not any(v == pytest.approx(y.max()) for v in ends)  # the top 1% are outliers
    assert ax.get_title() == "final" and ax.title.get_fontsize() == 12
    assert ax.xaxis.label.get_fontsize() == 10 and ax.get_ylabel() == "score"


def test_plot_vertical_densities_without_labels() -> None:
    _, ax = create_fig((1, 1))
    plot_vertical_densities(ax, [np.arange(3.0)] * 3)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    with pytest.raises(ValueError):
        plot_vertical_densities(ax, [])


# ----------------------------------------------------------------------------- plot_sampled_hyperparams


def test_plot_sampled_hyperparams_one_axes_per_param() -> None:
    rng = np.random.default_rng(0)
    samples = {"lr": 10 ** rng.uniform(-5, -1, 30), "batch_size": rng.choice([32, 64, 128], 30),
               "optimizer": list(rng.choice(["adam", "sgd"], 30))}
    fig, axes = create_fig((3, 1))
    assert plot_sampled_hyperparams(axes, samples, ["lr"]) is None
    for ax, (name, values) in zip(axes, samples.items()):
        (line,) = ax.get_lines()
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [name]
        assert len(line.get_xdata()) == 30 and not np.any(np.asarray(line.get_ydata(), dtype=float))
        assert list(ax.get_yticks()) == []
    np.testing.assert_allclose(axes[0].get_lines()[0].get_xdata(), samples["lr"])
    assert axes[0].get_xscale() == "log" and axes[1].get_xscale() == "linear"


def test_plot_sampled_hyperparams_call_forms() -> None:
    _, ax = create_fig((1, 1))
    plot_sampled_hyperparams(ax=ax, param_samples={"gamma": [0.9, 0.99, 0.95]}, log_params=[])
    assert ax.get_xscale() == "linear"
    _, axes = create_fig((2, 1))
    plot_sampled_hyperparams(axes, {"a": [1, 2], "b": [3, 4]})  # the earliest form: no log_params
    with pytest.raises(ValueError, match="axes"):
        plot_sampled_hyperparams(axes, {"a": [1], "b": [2], "c": [3]}, [])


# ----------------------------------------------------------------------------- a 0.2 project's figures


def test_a_02_project_figure_saves(tmp_path) -> None:
    """What 0.2 projects do in main(): create_fig, plot_curves per panel, savefig, close."""
    tape = {"episode": list(range(1, 101)), "eval_return": list(np.cumsum(np.random.default_rng(0).normal(size=100))),
            "loss": [None if i % 7 == 0 else 1 / i for i in range(1, 101)]}
    fig, axes = create_fig((1, 2))
    plot_curves(axes[0], xs=[tape["episode"]], ys=[tape["eval_return"]], xlabel="episode", ylabel="eval_return",
                smooth=True, labels=["eval"])
    plot_curves(axes[1], xs=[tape["episode"]], ys=[tape["loss"]], xlabel="episode", ylabel="loss")
    fig.savefig(tmp_path / "graphs.png")
    plt.close(fig)
    with Image.open(tmp_path / "graphs.png") as image:
        assert image.size == (1600, 500)  # 16 x 5 inches at matplotlib's default 100 dpi
    assert plots.create_fig is create_fig and plots.smooth_out is smooth_out
