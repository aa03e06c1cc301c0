"""What a reviewer checks in alfred's figures, read off real matplotlib figures: axes zoomed to
the data, log axes for log-spaced values, violins cut at the data, legends without empty
entries, identical curves told apart, continuous samples as histograms, headings, and
rliable's interval, profile and improvement figures.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.figure import Figure

from alfred.utils import plots
from alfred.utils.stats import IntervalEstimate

plt.switch_backend("Agg")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _panels(fig: Figure) -> list[Axes]:
    """Visible panels, colour bars excluded."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def _legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def _has_data(artist) -> bool:
    """Whether a legend handle stands for something drawn (points, lines, patches with area)."""
    if isinstance(artist, PathCollection):
        return len(artist.get_offsets()) > 0
    if hasattr(artist, "get_xdata"):
        return len(artist.get_xdata()) > 0
    return True


# ----------------------------------------------------------------------------- log spacing


@pytest.mark.parametrize(("values", "log"), [
    ([0.03, 0.3, 1.0], True),              # the demo's learning rates
    ([16, 32, 64, 128, 256], True),        # powers of two
    ([1.0, 10.0], True),                   # two values a decade apart
    (list(range(1, 21)), False),           # evenly spaced
    ([4, 16], False),                      # less than a decade
    ([0.0, 0.1, 1.0], False),              # zero: no log axis
    ([-1.0, 1.0, 10.0], False),
])
def test_is_log_spaced(values: list[float], log: bool) -> None:
    assert plots.is_log_spaced(values) is log


def test_is_log_spaced_samples() -> None:
    rng = np.random.default_rng(0)
    assert plots.is_log_spaced(10 ** rng.uniform(-5, -1, 200))          # log-uniform learning rates
    assert not plots.is_log_spaced(rng.uniform(0.01, 1.0, 200))         # uniform, min near zero


def test_value_axis_log_with_a_tick_per_grid_value() -> None:
    fig, axes = plots.new_figure(1, 1)
    ax = axes[0, 0]
    ax.plot([0.03, 0.3, 1.0], [0.9, 0.95, 0.985], "o")
    assert plots.value_axis(ax, "x", [0.03, 0.3, 1.0])
    fig.canvas.draw()
    assert ax.get_xscale() == "log"
    assert list(ax.get_xticks()) == pytest.approx([0.03, 0.3, 1.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.03", "0.3", "1"]


# ----------------------------------------------------------------------------- forest plot


def _demo_scores() -> dict:
    """The moons search of the demo: scores 0.90-0.985, one interval overlapping the best's."""
    points = [0.985, 0.9839, 0.9572, 0.945, 0.9239, 0.9022]
    lowers = [0.985, 0.9817, 0.9467, 0.935, 0.92, 0.8617]
    uppers = [0.985, 0.985, 0.965, 0.965, 0.93, 0.93]
    names = [f"exp{6 - i}" for i in range(6)]
    return {"scores": dict(zip(names, points)), "lowers": dict(zip(names, lowers)),
            "uppers": dict(zip(names, uppers))}


def test_ranked_intervals_zoomed_to_the_data() -> None:
    d = _demo_scores()
    ax = plots.draw_ranked_intervals(**d, categories={"exp6": "best", "exp5": "overlaps"}, reference="exp6")
    lo, hi = ax.get_xlim()
    assert 0.85 < lo < 0.8617 and 0.985 < hi < 1.0  # not from 0: the differences are readable
    intervals = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert sum(len(c.get_segments()) for c in intervals) == 6  # one interval per experiment
    assert [t.get_text() for t in ax.get_yticklabels()] == list(d["scores"])  # best on top
    values = [t.get_text() for t in ax.figure.axes[-1].get_yticklabels()]
    assert values[1] == "0.9839 [0.9817, 0.9850]"


def test_ranked_intervals_legend_has_only_drawn_categories() -> None:
    d = _demo_scores()
    ax = plots.draw_ranked_intervals(**d, categories={"exp6": "best", "exp5": "overlaps"})
    legend = ax.get_legend()
    assert _legend_texts(ax) == ["best", "overlaps", "other"]
    assert all(_has_data(h) for h in legend.legend_handles)
    ax = plots.draw_ranked_intervals(**d, categories={k: "best" if k == "exp6" else "overlaps" for k in d["scores"]})
    assert _legend_texts(ax) == ["best", "overlaps"]  # no "other" entry: no such row


def test_ranked_intervals_one_experiment_like_a_retrain() -> None:
    ax = plots.draw_ranked_intervals(scores={"exp1": 0.985}, lowers={"exp1": 0.98}, uppers={"exp1": 0.99},
                                     categories={"exp1": "best"}, points={"exp1": [0.98, 0.985, 0.99]})
    assert ax.get_legend() is None  # one kind of row: nothing to tell apart
    assert len(ax.get_yticklabels()) == 1
    lo, hi = ax.get_xlim()
    assert 0.97 < lo < 0.98 and 0.99 < hi < 1.0


def test_ranked_intervals_without_interval_says_so() -> None:
    ax = plots.draw_ranked_intervals(scores={"a": 0.9, "b": 0.8}, lowers={"a": 0.85, "b": np.nan},
                                     uppers={"a": 0.95, "b": np.nan})
    values = [t.get_text() for t in ax.figure.axes[-1].get_yticklabels()]
    assert values[1].endswith("(no interval)")
    hollow = [c for c in ax.collections if isinstance(c, PathCollection)
              and np.allclose(c.get_facecolor()[0][:3], 1.0)]
    assert len(hollow) == 1 and len(hollow[0].get_offsets()) == 1


def test_ranked_intervals_1000_entries_zoom_on_the_rows_shown() -> None:
    rng = np.random.default_rng(0)
    points = {f"exp{i}": float(v) for i, v in enumerate(rng.uniform(0.0, 1.0, 1000))}
    ax = plots.draw_ranked_intervals(scores=points, lowers={k: v - 0.01 for k, v in points.items()},
                                     uppers={k: v + 0.01 for k, v in points.items()}, top_k=30)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 31 and labels[-1].startswith("970 others")
    top = sorted(points.values())[-30:]
    lo, hi = ax.get_xlim()
    assert min(top) - 0.02 < lo < min(top) - 0.01 and hi < 1.02


# ----------------------------------------------------------------------------- violins


def test_violins_are_cut_at_the_data() -> None:
    rng = np.random.default_rng(1)
    data = {"moons": rng.uniform(0.90, 0.985, 6), "blobs": rng.uniform(0.96, 0.975, 6)}
    ax = plots.draw_densities(distributions=data)
    violins = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(violins) == 2
    for violin, values in zip(violins, data.values()):
        y = violin.get_paths()[0].vertices[:, 1]
        assert y.max() <= values.max() + 1e-12 and y.min() >= values.min() - 1e-12


# ----------------------------------------------------------------------------- curves


def test_identical_curves_are_dashed_and_noted() -> None:
    x = np.arange(50.0)
    y = 1 - np.exp(-x / 10)
    ax = plots.draw_curves(xs=x, ys=[y, 0.5 * y, y.copy()], labels=["exp3", "exp5", "exp7"])
    styles = [line.get_linestyle() for line in ax.get_lines()]
    assert styles[0] == "-" and styles[1] == "-" and styles[2] == "--"
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["identical curves (dashed over each other):\nexp3 and exp7"]
    ax = plots.draw_curves(xs=x, ys=[y, 0.5 * y])
    assert len(ax.texts) == 0


def test_thin_curves_and_spread_are_one_artist_each() -> None:
    _, axes = plots.new_figure(1, 1)
    ax = axes[0, 0]
    x = np.arange(1000.0)
    plots.draw_thin_curves(ax, [x] * 20, [np.sin(x / 50 + k) for k in range(20)], label="20 others")
    assert len(ax.collections) == 1 and len(ax.collections[0].get_segments()) == 20
    assert all(len(seg) <= 500 for seg in ax.collections[0].get_segments())
    plots.draw_curve_spread(ax, x, np.zeros(1000), -np.ones(1000), np.ones(1000), label="990 others")
    assert ax.get_legend_handles_labels()[1] == ["20 others", "990 others"]


# ----------------------------------------------------------------------------- sensitivity


def _grid() -> tuple[np.ndarray, dict]:
    lr = [0.03, 0.03, 0.3, 0.3, 1.0, 1.0]
    hidden = [4, 16, 4, 16, 4, 16]
    scores = np.array([0.9022, 0.9239, 0.945, 0.9572, 0.9839, 0.985])
    return scores, {"learning_rate": lr, "hidden_size": hidden}


def test_sensitivity_log_axis_and_colours_by_the_other_hyperparameter() -> None:
    scores, hyper = _grid()
    fig = plots.plot_sensitivity(scores, hyper, lowers=scores - 0.01, uppers=scores + 0.01,
                                 color_by={"learning_rate": "hidden_size", "hidden_size": "learning_rate"})
    lr_ax, hidden_ax = _panels(fig)
    assert lr_ax.get_xscale() == "log" and hidden_ax.get_xscale() == "linear"
    assert _legend_texts(lr_ax) == ["hidden_size:", "4", "16"]
    assert _legend_texts(hidden_ax) == ["learning_rate:", "0.03", "0.3", "1"]
    points = [c for c in lr_ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in points] == [3, 3]  # one colour per hidden size
    assert not np.allclose(points[0].get_facecolor(), points[1].get_facecolor())
    assert all(_has_data(h) for h in lr_ax.get_legend().legend_handles[1:])
    lo, hi = lr_ax.get_ylim()
    assert 0.85 < lo < 0.8922 and 0.995 < hi < 1.02


def test_sensitivity_many_values_get_a_colour_bar() -> None:
    rng = np.random.default_rng(0)
    lr = list(10 ** rng.uniform(-4, -1, 40))
    wd = list(rng.uniform(0, 0.1, 40))
    fig = plots.plot_sensitivity(rng.normal(size=40), {"lr": lr, "wd": wd}, color_by={"lr": "wd", "wd": "lr"})
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 2
    assert sorted(b.get_xlabel() for b in bars) == ["lr", "wd"]
    fig.canvas.draw()
    for panel in _panels(fig):  # each bar right above its own panel, labelled by the hyperparameter colouring it
        box = panel.get_window_extent()
        (bar,) = [b for b in bars if box.x0 - 1 <= b.get_window_extent().x0 and b.get_window_extent().x1 <= box.x1 + 1]
        assert bar.get_window_extent().y0 >= box.y1 and bar.get_xlabel() == ("wd" if panel.get_xlabel() == "lr"
                                                                             else "lr")
        ticks = [t.get_text() for t in bar.get_xticklabels() if t.get_text()]
        assert ticks and not any("10^" in t or "times" in t or "×" in t for t in ticks), ticks
    with pytest.raises(ValueError, match="color_by"):
        plots.plot_sensitivity(np.arange(40.0), {"lr": lr, "wd": wd}, color_by={"lr": "momentum"})


# ----------------------------------------------------------------------------- sampled values


def test_continuous_samples_are_a_histogram_with_log_bins() -> None:
    rng = np.random.default_rng(2024)
    samples = {"learning_rate": list(10 ** rng.uniform(-2, 0.3, 8)),  # the random demo: 8 draws
               "weight_decay": list(rng.choice([0.0, 1e-4, 1e-3], 8))}
    fig = plots.draw_sampled_hyperparams(samples=samples)
    lr_ax, wd_ax = _panels(fig)
    assert lr_ax.get_xscale() == "log"
    heights = [p.get_height() for p in lr_ax.patches]
    assert sum(heights) == 8 and len(heights) < 8  # bins, not one bar of height 1 per sample
    rug = [c for c in lr_ax.collections if isinstance(c, PathCollection)]
    assert len(rug[0].get_offsets()) == 8  # every sample marked
    assert sorted(t.get_text() for t in wd_ax.get_xticklabels()) == sorted(
        {plots.short_value(float(v)) if v else "0" for v in samples["weight_decay"]})


# ----------------------------------------------------------------------------- headings


def test_head_figure_titles_and_grows_the_figure() -> None:
    fig, _ = plots.new_figure(1, 1, panel_size=(6.0, 3.0))
    plots.head_figure(fig, "mlp · moons · grid_demo", small="Se1_nogit_mlp_moons_grid_demo",
                      subtitle="higher is better\nbest: exp6")
    assert plots.heading_lines(fig) == ["mlp · moons · grid_demo", "Se1_nogit_mlp_moons_grid_demo",
                                        "higher is better", "best: exp6"]
    height = fig.get_size_inches()[1]
    assert height > 3.0
    plots.head_figure(fig, "again")  # replaces, and the figure does not keep growing
    assert plots.heading_lines(fig) == ["again"]
    assert fig.get_size_inches()[1] < height


# ----------------------------------------------------------------------------- rliable's figures


def test_interval_estimates_one_panel_per_aggregate_zoomed() -> None:
    est = {"algA": {"iqm": IntervalEstimate(0.6, 0.55, 0.65), "optimality_gap": IntervalEstimate(0.3, 0.2, 0.4)},
           "algB": {"iqm": IntervalEstimate(0.7, 0.68, 0.72), "optimality_gap": IntervalEstimate(0.2, 0.1, 0.25)}}
    fig = plots.plot_interval_estimates(est, xlabel="normalised score", title="two algorithms")
    iqm, gap = _panels(fig)
    assert iqm.get_title() == "IQM" and gap.get_title() == "Optimality gap\n(lower is better)"
    lo, hi = iqm.get_xlim()
    assert 0.5 < lo < 0.55 and 0.72 < hi < 0.8
    assert [t.get_text() for t in iqm.get_yticklabels()] == ["algA", "algB"]
    assert [p.get_width() for p in iqm.patches] == pytest.approx([0.1, 0.04])
    with pytest.raises(ValueError, match="median"):
        plots.plot_interval_estimates(est, metrics=["median"])


def test_probability_of_improvement_figure() -> None:
    fig = plots.plot_probability_of_improvement({("algB", "algA"): (0.8, 0.7, 0.9), ("algC", "algA"): (0.4, 0.3, 0.55)})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["algB", "algC"]
    assert [t.get_text() for t in fig.axes[-1].get_yticklabels()] == ["algA", "algA"]
    lo, hi = ax.get_xlim()
    assert -0.05 < lo < 0 and 1.0 < hi < 1.05  # all of [0, 1], a dot at either end shown whole
    assert any(np.allclose(line.get_xdata(), 0.5) for line in ax.get_lines())  # no-difference line


def test_performance_profiles_figure() -> None:
    taus = np.linspace(0, 1, 11)
    prof = {"algA": (1 - taus, np.clip(0.9 - taus, 0, 1), np.clip(1.1 - taus, 0, 1)), "algB": (1 - taus**2,) * 3}
    fig = plots.plot_performance_profiles(taus, prof)
    ax = fig.axes[0]
    assert ax.get_ylim() == pytest.approx((-0.02, 1.02))
    assert _legend_texts(ax) == ["algA", "algB"]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2  # a band each
    with pytest.raises(ValueError, match="len"):
        plots.plot_performance_profiles(taus[:5], prof)


# ----------------------------------------------------------------------------- the plotting stack


def test_drawing_imports_no_seaborn() -> None:
    code = ("import sys; from alfred.utils import plots; import numpy as np; "
            "ax = plots.draw_ranked_intervals(scores={'a': 1.0, 'b': 2.0}); "
            "plots.plot_sensitivity(np.arange(3.0), {'lr': [0.01, 0.1, 1.0]}); "
            "print(sorted(m for m in ('seaborn', 'scipy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
