"""What every figure draws, read off the rendered figure: no text clipped or overlapping another
(the renderer's bounding boxes), tick labels written as in a config (never ``2×10⁰``), and, in
the paper styles, the column width, the font sizes and TrueType (Type 42) fonts in the PDF.
Then each fix of issue 19's figures: bands of the top 3 only, a colour per rank that is never
the others' grey, legend entries never cut inside a name, the y-axis past the first steps, a
symlog axis for 0 / 0.001 / 0.01, a probability of 0.0 that shows, plot arrays of three
hyperparameters laid out as their grid, headings cut only between words.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text
from test_results import make_search

from alfred.results import comparison, comparison_figures, figures
from alfred.results.plot_arrays import draw_plot_array
from alfred.results.retrain_view import draw_retrain_figure
from alfred.results.scoring import compute_search_scores, curve_bands
from alfred.results.settings import ResultsSettings, resolve_settings
from alfred.utils import plots

plt.switch_backend("Agg")
N = 200
STYLES = ["screen", "paper", "paper_column"]


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


# ----------------------------------------------------------------------------- reading a drawn figure
def drawn_texts(fig: Figure) -> list[Text]:
    """Every text the renderer draws: tick labels of the ticks in view, titles, labels, legends,
    annotations, headings (empty and invisible ones left out)."""
    fig.canvas.draw()
    tick_labels, shown = set(), []
    for ax in fig.axes:
        if not ax.get_visible():  # a hidden spare panel: its ticks are not drawn
            for axis in (ax.xaxis, ax.yaxis):
                for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                    tick_labels.update((id(tick.label1), id(tick.label2)))
            continue
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_labels.update((id(tick.label1), id(tick.label2)))
            for tick in axis._update_ticks():  # the ticks drawn: those in view
                shown += [t for t in (tick.label1, tick.label2) if t.get_visible()]
    others = [t for t in fig.findobj(Text) if id(t) not in tick_labels]
    return [t for t in shown + others if t.get_visible() and t.get_text().strip() and _on_canvas(t)]


def _on_canvas(text: Text) -> bool:
    ax = text.axes
    return ax is None or ax.get_visible()


def boxes(texts: list[Text]):
    renderer = texts[0].figure.canvas.get_renderer() if texts else None
    return [t.get_window_extent(renderer) for t in texts]


def assert_nothing_clipped_or_overlapping(fig: Figure, what: str) -> None:
    texts = drawn_texts(fig)
    frame = fig.bbox
    for t, b in zip(texts, boxes(texts)):
        assert b.x0 >= frame.x0 - 1.5 and b.x1 <= frame.x1 + 1.5 and b.y0 >= frame.y0 - 1.5 and \
            b.y1 <= frame.y1 + 1.5, f"{what}: {t.get_text()!r} is clipped by the figure's edge ({b} vs {frame})"
        label = t.get_text()
        assert "times" not in label and "×10" not in label and "10^" not in label, f"{what}: tick {label!r}"
    for ax in fig.axes:  # tick labels along one axis never overlap each other
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            ticks = [t.label1 for t in axis._update_ticks() if t.label1.get_visible() and t.label1.get_text()]
            ticks += [t.label2 for t in axis._update_ticks() if t.label2.get_visible() and t.label2.get_text()]
            bb = boxes(ticks)
            for i in range(len(bb)):
                for j in range(i + 1, len(bb)):
                    overlap = bb[i].overlaps(bb[j]) and ticks[i].get_text() != ticks[j].get_text()
                    inter_w = min(bb[i].x1, bb[j].x1) - max(bb[i].x0, bb[j].x0)
                    inter_h = min(bb[i].y1, bb[j].y1) - max(bb[i].y0, bb[j].y0)
                    assert not (overlap and inter_w > 1 and inter_h > 1), \
                        f"{what}: tick labels {ticks[i].get_text()!r} and {ticks[j].get_text()!r} overlap"


# ----------------------------------------------------------------------------- the figures
def tape(values) -> dict:
    return {"step": list(range(0, 10 * len(values), 10)), "score": list(values)}


def grid_search(root: Path, *, name: str = "Te1_nogit_algA_taskA_grid_drawn", shift: float = 0.0) -> Path:
    """12 experiments (l2 0/0.001/0.01 x learning_rate 0.03/0.3 x width 16/64), 3 seeds: a start at
    0.1 (a transient), then 0.80-0.99."""
    rng = np.random.default_rng(0)
    params, exps = {}, {}
    grid = [(l2, lr, w) for l2 in (0, 0.001, 0.01) for lr in (0.03, 0.3) for w in (16, 64)]
    for e, (l2, lr, w) in enumerate(grid, start=1):
        params[e] = {"l2": l2, "learning_rate": lr, "width_of_the_hidden_layers": w}
        level = 0.8 + 0.015 * e + shift
        exps[e] = {s: tape([0.1, *(level + 0.01 * rng.standard_normal(29))]) for s in (1, 2, 3)}
    storage = make_search(root, exps, name=name, params=params)
    (storage / "variations.json").write_text(json.dumps({"l2": [0, 0.001, 0.01], "learning_rate": [0.03, 0.3],
                                                         "width_of_the_hidden_layers": [16, 64]}))
    return storage


def summary_figures(storage: Path) -> dict[str, Callable[[], Figure]]:
    settings = resolve_settings(storage, {"y_metric": "score"})
    scores = compute_search_scores(storage, settings, n_resamples=N)
    top = [scores.experiments[i] for i in scores.order[:10]]
    bands = curve_bands(storage, settings, top, n_resamples=N, seed=0)
    retrain = {"storage": storage.name, "experiment": 12, "score": 0.99, "lower": 0.98, "upper": 1.0, "n_seeds": 3,
               "n_experiments": 12, "all_seeds_equal": False, "changed": {"n_steps": [100, 200]}, "source": ""}
    return {
        "learning curves": lambda: figures.draw_curve_figure(scores, bands),
        "performance": lambda: figures.draw_bar_figure(scores),
        "sensitivity": lambda: figures.draw_sensitivity_figure(scores),
        "retrain": lambda: draw_retrain_figure(scores, retrain),
        "plot array": lambda: draw_plot_array(storage, "step", "score"),
    }


def other_figures(root: Path) -> dict[str, Callable[[], Figure]]:
    rng = np.random.default_rng(1)
    samples = {"learning_rate": list(10 ** rng.uniform(-2, -0.9, 40)),
               "weight_decay_of_the_critic_network_in_adam": list(10 ** rng.uniform(-5, -3.5, 40)),
               "activation": list(rng.choice(["relu", "tanh", "gelu"], 40)), "batch_size": [32, 64] * 20}
    settings = ResultsSettings(x_metric="step", y_metric="score", performance_metric="score")
    runs = {"never better": {"taskA": rng.normal(0.1, 0.01, 5), "taskB": rng.normal(10, 1, 5)},
            "algorithm with a long name": {"taskA": rng.normal(0.9, 0.02, 5), "taskB": rng.normal(80, 2, 5)},
            "baseline": {"taskA": rng.normal(0.5, 0.02, 5), "taskB": rng.normal(40, 2, 5)}}
    agg = comparison.model_aggregates(runs, lower_is_better=False, n_resamples=N, seed=0)
    aggregate_figs = lambda: comparison_figures.draw_aggregate_figures(agg, settings, heading="h", small="s")  # noqa: E731
    a, b = grid_search(root, name="Te2_nogit_algA_taskA_grid_a"), grid_search(root, name="Te3_nogit_algA_taskB_grid_a")
    sa, sb = (compute_search_scores(d, resolve_settings(d, {"y_metric": "score"}), n_resamples=N) for d in (a, b))
    (band_a,), (band_b,) = (curve_bands(d, s.settings, [s.best], n_resamples=N, seed=0) for d, s in ((a, sa), (b, sb)))
    return {
        "variations": lambda: plots.plot_sampled_hyperparams_figures(samples, title="algA · taskA · random_demo: "
                                                                                    "40 sampled experiments")[0],
        "compare searches": lambda: comparison_figures.draw_searches_figure(
            {"taskA": sa.point, "taskB": sb.point}, sa.settings, heading="algA · grid_a", small=f"{a.name}, {b.name}"),
        "compare models": lambda: comparison_figures.draw_models_figure(
            {"taskA": [("algA (n=3)", band_a)], "taskB": [("algA (n=3)", band_b)]}, ["taskA", "taskB"], sa.settings,
            heading="1 algorithm on 2 tasks", small="s", n_resamples=N),
        "aggregates": lambda: aggregate_figs()["aggregates"],
        "profiles": lambda: aggregate_figs()["profiles"],
        "improvement": lambda: aggregate_figs()["improvement"],
    }


@pytest.fixture(scope="module")
def every_figure(tmp_path_factory) -> dict[str, Callable[[], Figure]]:
    root = tmp_path_factory.mktemp("drawn")
    return {**summary_figures(grid_search(root)), **other_figures(root)}


# ----------------------------------------------------------------------------- every figure, every style
@pytest.mark.parametrize("style", STYLES)
def test_no_figure_clips_or_overlaps_its_text(every_figure, style):
    with plots.use_style(style):
        for what, make in every_figure.items():
            fig = make()
            assert_nothing_clipped_or_overlapping(fig, f"{what} ({style})")
            plt.close(fig)


@pytest.mark.parametrize("style, width, tick_pt", [("paper", 5.5, 7.0), ("paper_column", 3.25, 6.0)])
def test_paper_figures_fit_the_column_with_print_fonts_and_truetype(every_figure, tmp_path, style, width, tick_pt):
    with plots.use_style(style):
        for what, make in every_figure.items():
            fig = make()
            assert fig.get_size_inches()[0] == pytest.approx(width), what
            assert fig.get_size_inches()[1] <= plots.STYLES[style].max_height_in + 1e-9, what
            fig.canvas.draw()
            sizes = {t.get_fontsize() for ax in fig.axes if ax.get_visible() for t in ax.get_xticklabels()
                     if t.get_text()}
            assert sizes <= {tick_pt}, (what, sizes)
            assert not plots.heading_lines(fig), what  # the caption says it
            (pdf, png) = plots.save_fig(fig, tmp_path / what.replace(" ", "_"), formats=None)
            data = pdf.read_bytes()
            assert pdf.suffix == ".pdf" and png.suffix == ".png"
            assert b"/Type3" not in data and b"/FontFile2" in data, f"{what}: fonts must be TrueType (Type 42)"


def test_screen_pdfs_embed_truetype_fonts_too(every_figure, tmp_path):
    (pdf,) = plots.save_fig(every_figure["performance"](), tmp_path / "performance", formats=("pdf",))
    data = pdf.read_bytes()
    assert b"/Type3" not in data and b"/FontFile2" in data


# ----------------------------------------------------------------------------- learning curves
def test_learning_curves_bands_colours_labels_and_range(every_figure):
    fig = every_figure["learning curves"]()
    ax = fig.axes[0]
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3  # bands of the top 3 only
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert len(lines) == 10
    colours = [tuple(np.round(plt.matplotlib.colors.to_rgb(ln.get_color()), 3)) for ln in lines]
    assert len(set(colours[:9])) == 9 and colours[9] == colours[0] and lines[9].get_linestyle() == "--"
    assert all(max(c) - min(c) > 0.1 for c in colours)  # no grey: grey is for the experiments not ranked
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    ranked = [t for t in legend if t.startswith("#")]
    assert ranked[0].startswith("#1 exp12:") and ranked[0].endswith("(n=3)")
    items = [i.strip() for t in ranked for i in t.split("\n")[0].split(":", 1)[-1].replace("\n", " ").split(",")]
    names = {"l2", "learning_rate", "width_of_the_hidden_layers"}
    for text in ranked:  # every k=v whole: a name is never cut
        for item in text.replace("\n", " ").split(":", 1)[1].rsplit("(n=", 1)[0].split(","):
            key = item.strip().split("=")[0]
            assert key in names, (key, text)
    assert items
    lo, hi = ax.get_ylim()
    assert lo > 0.5 and hi < 1.1  # the 0.1 of step 0 does not set the range
    assert "the first steps leave it" in plots.heading_lines(fig)[-1]


# ----------------------------------------------------------------------------- sensitivity
def test_sensitivity_zero_and_log_spaced_values_on_a_symlog_axis(every_figure):
    fig = every_figure["sensitivity"]()
    (l2,) = [ax for ax in fig.axes if ax.get_xlabel() == "l2"]
    assert l2.get_xscale() == "symlog"
    fig.canvas.draw()
    x = {t.get_text(): t.get_window_extent().x0 for t in l2.get_xticklabels() if t.get_text()}
    assert list(x) == ["0", "0.001", "0.01"]
    assert x["0.001"] - x["0"] > 0.3 * (x["0.01"] - x["0.001"])  # 0 and 0.001 apart, not on top of each other


def test_a_probability_of_improvement_of_zero_shows_its_dot_and_numbers(every_figure):
    fig = every_figure["improvement"]()
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert -0.05 < lo < 0 and 1 < hi < 1.05  # the whole range of a probability
    texts = [t.get_text() for t in ax.texts]
    assert "0.00 [0.00, 0.00]" in texts and "1.00 [1.00, 1.00]" in texts
    dots = ax.collections[-1].get_offsets()
    assert len(dots) == 3 and min(dots[:, 0]) == 0.0 and not ax.collections[-1].get_clip_on()


# ----------------------------------------------------------------------------- plot arrays, headings
def test_a_plot_array_of_three_hyperparameters_follows_its_grid(every_figure):
    fig = every_figure["plot array"]()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 12
    grid = {}
    for ax in panels:
        spec = ax.get_subplotspec()
        grid[spec.rowspan.start, spec.colspan.start] = ax.get_title().replace("\n", " ")
    assert max(r for r, _ in grid) == 5 and max(c for _, c in grid) == 1  # 3 x 2 rows, 2 columns
    for (row, col), title in grid.items():
        l2, lr = (0, 0.001, 0.01)[row // 2], (0.03, 0.3)[row % 2]
        width = (16, 64)[col]
        assert f"l2={l2}," in title and f"learning_rate={lr}," in title and f"width_of_the_hidden_layers={width}" \
            in title, ((row, col), title)


def test_headings_are_cut_between_words_only():
    heading = ("a_very_long_algorithm_name_for_a_paper · an_even_longer_task_name_from_a_benchmark_suite · "
               "grid_search_of_the_learning_rate_and_the_width")
    fig, _ = plots.new_figure(1, 1, panel_size=(4.0, 3.0))
    plots.head_figure(fig, heading, small="Se1_nogit_x", subtitle="one point per experiment: mean, 95% bootstrap CI")
    lines = plots.heading_lines(fig)
    pieces = heading.replace(" ", "_ ").split()
    for line in lines[:2]:  # the heading: on two lines, each made of whole words or identifier parts
        for word in line.replace("…", "").split():
            assert any(word.rstrip("_") in p for p in pieces), (word, line)
    assert_nothing_clipped_or_overlapping(fig, "long heading")


def test_variations_titles_and_log_ticks(every_figure):
    fig = every_figure["variations"]()
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    (long,) = [t for t in titles if t.startswith("weight_decay")]
    assert long.replace("\n", "") == "weight_decay_of_the_critic_network_in_adam"  # whole, wrapped, not cut
    assert "\n" in long and all(line.endswith("_") for line in long.split("\n")[:-1])
    log_axes = [ax for ax in fig.axes if ax.get_xscale() == "log"]
    assert len(log_axes) == 2
    for ax in log_axes:
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert len(labels) >= 2 and all(lab.replace(".", "").replace("e-", "").isdigit() for lab in labels), labels


def test_profiles_take_rliable_s_non_linear_tau_axis_and_a_log_one():
    rng = np.random.default_rng(0)
    runs = np.concatenate([rng.uniform(0.0, 0.1, 45), rng.uniform(0.1, 1.0, 5)])  # 90% of the runs below 0.1
    taus = np.linspace(0.0, 1.0, 101)
    profile = (runs[:, None] > taus).mean(axis=0)
    fig = plots.plot_performance_profiles(taus, {"a": (profile, profile, profile)}, tau_scale="runs",
                                          figsize=(3.25, 2.4), font_size=7, labels={"a": "algorithm A"})
    ax = fig.axes[0]
    assert ax.get_xscale() == "function" and tuple(fig.get_size_inches()) == pytest.approx((3.25, 2.4))
    # equal distances hold equal shares of runs: 0 to 0.1 takes about 90% of the axis' length
    x0, x1 = (ax.transData.transform([[t, 0.5]])[0, 0] for t in (0.0, 1.0))
    x_tenth = ax.transData.transform([[0.1, 0.5]])[0, 0]
    assert 0.8 < (x_tenth - x0) / (x1 - x0) < 0.95
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["algorithm A"]
    assert [t.get_fontsize() for t in ax.get_xticklabels()] == pytest.approx([7 * 0.875] * len(ax.get_xticklabels()),
                                                                             abs=0.01)
    assert_nothing_clipped_or_overlapping(fig, "profiles, runs scale")
    log_fig = plots.plot_performance_profiles(taus[1:], {"a": (profile[1:],) * 3}, tau_scale="log")
    assert log_fig.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="tau_scale='log' needs positive taus"):
        plots.plot_performance_profiles(taus, {"a": (profile,) * 3}, tau_scale="log")


def test_interval_and_improvement_figures_take_size_fonts_and_labels():
    est = {"ppo_v2": {"iqm": (0.5, 0.4, 0.6), "mean": (0.55, 0.45, 0.62)},
           "dqn": {"iqm": (0.3, 0.2, 0.4), "mean": (0.35, 0.3, 0.41)}}
    fig = plots.plot_interval_estimates(est, labels={"ppo_v2": "PPO"}, metric_names={"iqm": "IQM of return"},
                                        figsize=(4.0, 1.8), font_size=9, xlabel="human-normalised score")
    assert tuple(fig.get_size_inches()) == pytest.approx((4.0, 1.8))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["PPO", "dqn"] and ax.get_title() == "IQM of return"
    assert ax.yaxis.get_ticklabels()[0].get_fontsize() == pytest.approx(9 * 0.875, abs=0.01)
    fig = plots.plot_probability_of_improvement({("ppo_v2", "dqn"): (0.7, 0.6, 0.8)}, labels={"ppo_v2": "PPO"},
                                                xlabel="P(PPO > DQN)", style="paper_column")
    assert fig.get_size_inches()[0] == pytest.approx(3.25) and fig.axes[0].get_xlabel() == "P(PPO > DQN)"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["PPO"]
