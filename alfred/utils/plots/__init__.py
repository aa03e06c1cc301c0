"""Figures for hyperparameter searches, one module per figure family.

===============  ==================================================================
module           what it draws / holds
===============  ==================================================================
``style``        the shared look (style context, palette, ``ranked_colors``), ``new_figure``,
                 ``save_fig``, labels never cut inside a word or item (``wrap_words``,
                 ``shorten_items``, ``short_value``), the limits ``MAX_PANELS`` and ``MAX_BARS``
``presets``      figure styles: ``screen``, ``paper`` (a paper's text width, 8 pt),
                 ``paper_column`` (one column, 7 pt); ``use_style``, ``figure_style``
``axes``         ``head_figure`` (titles), ``is_log_spaced`` and ``value_axis`` (log axes,
                 one tick per grid value)
``curves``       learning curves, thin per seed or means with interval bands, identical
                 ones told apart; ``draw_curve_spread`` (many curves summarised);
                 ``moving_average``
``forest``       experiments ranked as dots with intervals, on an axis zoomed to the data
``rankings``     experiments ranked as bars from zero
``densities``    score distributions as violins cut at the data
``hyperparams``  sampled hyperparameters of random searches (histograms, counts)
``sensitivity``  score vs each hyperparameter, coloured by another one
``aggregates``   rliable's figures: aggregate estimates with intervals per algorithm,
                 performance profiles, probability of improvement
``legacy``       the 0.2 call forms: ``create_fig``, ``plot_curves``, ``smooth_out``;
                 ``legacy_charts``: ``bar_chart``, ``plot_vertical_densities``,
                 ``plot_sampled_hyperparams``
===============  ==================================================================

Every name is importable from here (``from alfred.utils import plots; plots.draw_curves``
or ``from alfred.utils.plots import create_fig``) and is loaded on first use: importing
this package, or taking ``MAX_PANELS`` or ``short_value`` from it, does not import
matplotlib. Figure functions draw values computed elsewhere (points, intervals); none loads
results or resamples. None changes global matplotlib state: alfred's style applies inside
each function. Close figures with :func:`save_fig` (or ``plt.close(fig)``) so that many
calls do not accumulate open figures.
"""

from __future__ import annotations

from alfred.utils.misc import lazy_exports

_EXPORTS = {
    "FigureStyle": "presets",
    "STYLES": "presets",
    "current_style": "presets",
    "figure_style": "presets",
    "use_style": "presets",
    "output_formats": "presets",
    "ranked_colors": "style",
    "shorten_items": "style",
    "wrap_words": "style",
    "number_formatter": "axes",
    "is_log_spaced_with_zero": "axes",
    "zoom_past_transient": "curves",
    "legend_below": "curves",
    "MAX_BARS": "style",
    "MAX_PANELS": "style",
    "head_figure": "axes",
    "heading_lines": "axes",
    "is_log_spaced": "axes",
    "new_figure": "style",
    "save_fig": "style",
    "short_value": "style",
    "value_axis": "axes",
    "draw_curve_spread": "curves",
    "draw_curves": "curves",
    "draw_thin_curves": "curves",
    "moving_average": "curves",
    "draw_densities": "densities",
    "draw_ranked_bars": "rankings",
    "draw_ranked_intervals": "forest",
    "draw_sampled_hyperparams": "hyperparams",
    "plot_sampled_hyperparams_figures": "hyperparams",
    "plot_sensitivity": "sensitivity",
    "plot_interval_estimates": "aggregates",
    "plot_performance_profiles": "aggregates",
    "plot_probability_of_improvement": "aggregates",
    "bar_chart": "legacy_charts",
    "create_fig": "legacy",
    "plot_curves": "legacy",
    "plot_sampled_hyperparams": "legacy_charts",
    "plot_vertical_densities": "legacy_charts",
    "smooth_out": "legacy",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(globals(), {name: f"{__name__}.{module}" for name, module in _EXPORTS.items()})
