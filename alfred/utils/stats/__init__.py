"""Statistics for learning curves and final scores: error bars, bootstrap intervals, rliable metrics.

Conventions shared by every function of this package:

* **NaN means missing**, everywhere: a run that stopped early (curves NaN-padded at the
  end), a task some algorithm was not run on for some seeds (a NaN-padded runs x tasks
  matrix), a seed that produced nothing. NaN values are left out, never counted as a
  score or a failure: a statistic uses the values that exist, a bootstrap resamples only
  them (a task keeps its own number of real runs). A curve column without any value
  gives NaN; a task without any run is refused, as no aggregate over tasks can use it.
* Per-step functions take runs along ``axis`` (0 by default) and treat the other axes
  (typically time steps) as independent columns, in one vectorised pass.
* Scores across tasks come as an (n_runs, n_tasks) matrix, an (n_runs,) array for one
  task, or a mapping ``{task: (n_runs_task,) runs}`` (unequal numbers of runs allowed). A
  mapping with 2-D values, e.g. rliable's ``{algorithm: (n_runs, n_tasks)}`` where
  ``{task: runs}`` is expected, is refused with one line, never flattened.
* Randomness comes from an explicit ``seed: int | np.random.Generator``; a Generator
  passed in is advanced, so two calls with the same Generator give different draws.
  Every bootstrap defaults to ``DEFAULT_N_RESAMPLES`` (10,000) resamples.
* Intervals are ``IntervalEstimate(point, lower, upper)`` named tuples (unpack them as
  ``point, lower, upper = ...``) with ``lower <= point <= upper`` always, so error bars
  ``point - lower`` and ``upper - point`` are never negative. The bootstraps over tasks
  take rliable's ``method`` ('percentile', 'basic', 'bc', 'bca') and ``task_bootstrap``.
* Invalid inputs raise ``StatsError``, both an ``AlfredError`` (one line for scripts)
  and a ``ValueError``.

Modules: ``curves`` (per-step intervals, IQM, curves to run scores), ``bootstrap``
(stratified bootstrap over tasks, rliable's task bootstrap), ``intervals`` (percentile,
basic, bias-corrected and BCa bounds from resampled statistics), ``aggregates`` (mean, median, IQM, optimality gap over
tasks; ``interval_estimates``), ``profiles`` (performance profiles), ``improvement``
(probability of improvement), ``ranking`` (P(best) of a search's experiments) and
``legacy`` (the 0.2 names). Pure numpy: no scipy, pandas or plotting import.
"""

from __future__ import annotations

from alfred.utils.stats._common import DEFAULT_N_RESAMPLES, IntervalEstimate, StatsError
from alfred.utils.stats.aggregates import (
                                           aggregate_iqm,
                                           aggregate_mean,
                                           aggregate_median,
                                           aggregate_optimality_gap,
                                           interval_estimates,
)
from alfred.utils.stats.bootstrap import stratified_bootstrap_ci
from alfred.utils.stats.curves import aggregate_scores, bootstrap_mean_ci, iqm, mean_and_stderr_ci, quantile_band
from alfred.utils.stats.improvement import probability_of_improvement, probability_of_improvement_ci
from alfred.utils.stats.legacy import get_95_confidence_interval, get_95_confidence_interval_of_sequence
from alfred.utils.stats.profiles import performance_profile, performance_profile_ci
from alfred.utils.stats.ranking import probability_of_best

__all__ = [
    "DEFAULT_N_RESAMPLES", "IntervalEstimate", "StatsError",
    "aggregate_iqm", "aggregate_mean", "aggregate_median", "aggregate_optimality_gap", "aggregate_scores",
    "bootstrap_mean_ci", "get_95_confidence_interval", "get_95_confidence_interval_of_sequence",
    "interval_estimates", "iqm", "mean_and_stderr_ci", "performance_profile", "performance_profile_ci",
    "probability_of_best", "probability_of_improvement", "probability_of_improvement_ci",
    "quantile_band", "stratified_bootstrap_ci",
]
