"""Scores of a search: one number per seed, an estimate and an interval per experiment, a ranking.

The performance of a seed is its performance_metric curve reduced by
performance_aggregation; an experiment's performance is the mean over its seeds (the median
with y_error_bars 10th_quantile), its interval a 95% percentile bootstrap of that mean
(bootstrapped_CI), mean +- 1.96 standard errors (stderr) or the 10%-90% quantiles.
Everything here computes and returns values; nothing is drawn or written.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alfred.protocol.layout import StorageDir, experiment_num_of
from alfred.results.labels import varied_keys
from alfred.results.loading import LoadReport, iter_curves
from alfred.results.seed_scores import load_seed_scores, recorded_steps
from alfred.results.settings import ResultsSettings, resolve_settings
from alfred.utils.misc import AlfredError

__all__ = ["SearchScores", "CurveBand", "CONFIDENCE", "REL_TOL", "band_name", "compute_search_scores",
           "curve_bands", "interval", "score_resolution", "select_best"]

CONFIDENCE = 0.95
REL_TOL = 1e-9  # two bounds closer than this share of the scores' magnitude touch: float noise, not a gap
NAME_KEYS = ("alg_name", "task_name", "desc")  # in every config_unique, varied or not


@dataclass
class SearchScores:
    """An experiment-level view of one storage dir. Arrays are aligned with ``experiments``."""

    storage_dir: Path
    settings: ResultsSettings
    experiments: list[int]
    configs: dict[int, dict]
    seed_scores: dict[int, dict[int, float]]  # experiment -> seed -> score
    point: np.ndarray  # (n_experiments,)
    lower: np.ndarray  # NaN for experiments with fewer than 2 scored seeds: no interval
    upper: np.ndarray
    mean_curves: dict[int, tuple[np.ndarray, np.ndarray]]  # experiment -> (x, mean y) of y_metric
    report: LoadReport
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # best first
    # P(best): share of bootstrap resamples of the seeds in which each experiment has the
    # best mean (alfred.utils.stats.probability_of_best); NaN where undefined (one seed)
    # or not computed (p_best_note says why).
    p_best: np.ndarray = field(default_factory=lambda: np.zeros(0))
    p_best_note: str = ""
    n_resamples: int = 0  # of every bootstrap here: intervals and P(best)
    seed: int = 0
    # Experiments of the storage dir with no scored seed (every seed crashed, unfinished, ...),
    # experiment -> why; they are not ranked.
    unscored: dict[int, str] = field(default_factory=dict)
    # An adaptive search (alfred.search.rung_view.AdaptiveRanking): ranked only among the experiments
    # that reached the highest rung reached; None otherwise.
    adaptive: Any = None

    @functools.cached_property
    def tolerance(self) -> float:
        """How far apart two bounds may be and still touch: REL_TOL of the largest score or bound."""
        values = np.concatenate([self.point, self.lower, self.upper])
        values = np.abs(values[np.isfinite(values)])
        return REL_TOL * float(values.max()) if values.size and values.max() > 0 else 0.0

    def all_equal(self, experiment: int) -> bool:
        """Whether an experiment's 2 or more scored seeds all scored the same (a zero-width
        interval: no spread seen, which is not certainty)."""
        v = np.array([x for x in self.seed_scores[experiment].values() if x == x])
        return v.size >= 2 and float(v.max() - v.min()) <= self.tolerance

    @functools.cached_property
    def resolution(self) -> float | None:
        """The step of the seed scores when they take few values on a grid (e.g. accuracy on a
        test set of 200 examples: 0.005), else None. See :func:`score_resolution`."""
        return score_resolution(np.array([v for e in self.experiments for v in self.seed_scores[e].values()]))

    @functools.cached_property
    def varied(self) -> list[str]:
        """Config keys that differ between the experiments (alg_name and task_name excluded)."""
        return varied_keys(self.configs, exclude=NAME_KEYS)

    @property
    def best(self) -> int:
        return self.experiments[int(self.order[0])]

    def n_seeds(self, experiment: int) -> int:
        """Seeds of an experiment with a score (not NaN)."""
        return sum(1 for v in self.seed_scores[experiment].values() if v == v)

    def overlapping(self) -> list[int]:
        """Experiments (other than the best) whose interval overlaps the best one's."""
        b = int(self.order[0])
        if np.isnan(self.lower[b]) or np.isnan(self.upper[b]):
            return []
        tol = self.tolerance  # touching intervals overlap, whatever the last bits of their bounds say
        return [self.experiments[i] for i in self.order[1:]
                if np.isfinite(self.point[i]) and self.lower[i] <= self.upper[b] + tol
                and self.upper[i] >= self.lower[b] - tol]

    def single_seed(self) -> list[int]:
        """Ranked experiments with one scored seed: no interval, they cannot be compared."""
        return [self.experiments[i] for i in self.order
                if np.isfinite(self.point[i]) and self.n_seeds(self.experiments[i]) < 2]

    def p_best_top(self, k: int = 5) -> list[tuple[int, float]]:
        """The (at most ``k``) experiments with the highest P(best) above 0, as (experiment, P(best))."""
        if not self.p_best.size or np.isnan(self.p_best).all():
            return []
        idx = np.argsort(-np.nan_to_num(self.p_best, nan=-1.0), kind="stable")[:k]
        return [(self.experiments[i], float(self.p_best[i])) for i in idx if self.p_best[i] > 0]


def score_resolution(values: np.ndarray, *, max_divisor: int = 10) -> float | None:
    """The grid step of scores that take few distinct values on a grid, else None.

    Scores such as an accuracy on a fixed test set move by steps (1/200 on 200 examples): a
    difference smaller than one step is less than one example. Found when at least 4 finite
    scores repeat some value (fewer distinct values than scores) and every distinct value is
    a whole number of steps from the smallest, for a step of the smallest gap between
    distinct values divided by 1 to ``max_divisor`` (the largest such step is returned).
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    distinct = np.unique(v)
    if v.size < 4 or distinct.size < 2 or distinct.size >= v.size:
        return None
    gap = float(np.diff(distinct).min())
    span = float(distinct[-1] - distinct[0])
    if gap <= REL_TOL * max(abs(distinct).max(), span):
        return None
    for m in range(1, max_divisor + 1):
        step = gap / m
        k = (distinct - distinct[0]) / step
        if np.all(np.abs(k - np.round(k)) < 1e-6 * max(1.0, float(k.max()))):
            return step
    return None


def interval(values: np.ndarray, mode: str, *, n_resamples: int, seed: int) -> tuple[np.ndarray, ...]:
    """(point, lower, upper) over axis 0 of (n_runs, n_columns) NaN-padded values; a column
    with fewer than 2 values gets NaN bounds in every mode (one value shows no spread)."""
    from alfred.utils import stats

    if mode == "bootstrapped_CI":
        point, lower, upper = stats.bootstrap_mean_ci(values, n_resamples=n_resamples, confidence=CONFIDENCE,
                                                      seed=seed)
    elif mode == "stderr":
        point, lower, upper = stats.mean_and_stderr_ci(values, confidence=CONFIDENCE)
    elif mode == "10th_quantile":
        point, lower, upper = stats.quantile_band(values, q=0.1)
    else:
        with np.errstate(invalid="ignore"):
            point = np.nanmean(values, axis=0) if values.shape[0] else np.full(values.shape[1:], np.nan)
        return point, np.full_like(point, np.nan), np.full_like(point, np.nan)
    few = (~np.isnan(values)).sum(axis=0) < 2
    return point, np.where(few, np.nan, lower), np.where(few, np.nan, upper)


def _p_best(scores: SearchScores) -> None:
    """Fill ``scores.p_best`` (and its note) from the seed scores."""
    from alfred.utils.stats import probability_of_best

    s = scores.settings
    scores.p_best = np.full(len(scores.experiments), np.nan)
    if s.y_error_bars == "none":
        scores.p_best_note = "not computed: --y_error_bars none asks for no uncertainty estimate"
    elif s.y_error_bars == "10th_quantile":
        scores.p_best_note = "not computed: P(best) compares means, and this ranking uses medians (10th_quantile)"
    elif all(scores.n_seeds(e) < 2 for e in scores.experiments):
        scores.p_best_note = "cannot tell: no experiment has 2 scored seeds"
    else:
        runs = [np.fromiter(scores.seed_scores[e].values(), dtype=np.float64) for e in scores.experiments]
        scores.p_best = np.asarray(probability_of_best(runs, lower_is_better=s.lower_is_better,
                                                       n_resamples=scores.n_resamples, seed=scores.seed))


def _unscored(storage_dir: Path, scored: set[int], report: LoadReport) -> dict[int, str]:
    """Experiments of the storage dir without a scored seed, and why (``3 crashed``, ...)."""
    from alfred.protocol.listing import list_experiment_dirs

    missing = [n for n, _ in list_experiment_dirs(storage_dir) if n not in scored]
    if not missing:
        return {}
    why: dict[int, dict[str, int]] = {n: {} for n in missing}
    for label, items in (("crashed", report.crashed), ("unfinished", report.unfinished),
                         ("without recorder", report.missing_recorder), ("unreadable", report.unreadable),
                         ("empty", report.empty)):
        for item in items:
            try:
                n = experiment_num_of(item.split("/", 1)[0])  # items read "experiment<N>/seed<S>..."
            except ValueError:
                continue
            if n in why:
                why[n][label] = why[n].get(label, 0) + 1
    return {n: ", ".join(f"{k} {label}" for label, k in counts.items()) or "no seed" for n, counts in why.items()}


def compute_search_scores(storage_dir: Path, settings: ResultsSettings, *, n_resamples: int = 10_000,
                          seed: int = 0, experiments: set[int] | None = None,
                          meanwhile: Callable[[], object] | None = None) -> SearchScores:
    """Score every seed and experiment of a storage dir (or only ``experiments``); AlfredError
    when nothing can be scored.

    Every recorder is read once: the y_metric curves (their per-experiment means) and the
    performance metric (one score per seed) come from the same read, in forked processes
    when there are many; ``meanwhile`` is called in this process during the read.
    """
    only = experiments
    storage_dir = Path(storage_dir)
    ranking = None
    if only is None:  # an adaptive search is ranked among the runs that went furthest
        from alfred.search.rung_view import adaptive_ranking

        ranking = adaptive_ranking(storage_dir)
    experiments, configs, seed_scores, mean_curves, report, bad = load_seed_scores(
        storage_dir, settings, set(ranking.experiments) if ranking else only, meanwhile)
    perf = settings.perf_metric
    if bad:
        raise AlfredError(f"non-finite (inf) values in {len(bad)} seed(s) of {storage_dir.name}, e.g. "
                          f"{', '.join(bad[:3])}: fix or remove those runs")
    if not experiments:
        if report.n_seeds == 0:
            raise AlfredError(f"{storage_dir.name} holds no seed folder: an empty search has nothing to summarise")
        raise AlfredError(f"no seed of {storage_dir.name} could be scored: {report.describe()}".replace("\n", ";"))
    n_max = max(len(seed_scores[e]) for e in experiments)
    table = np.full((n_max, len(experiments)), np.nan)
    for j, e in enumerate(experiments):
        vals = list(seed_scores[e].values())
        table[: len(vals), j] = vals
    if np.isnan(table).all():
        raise AlfredError(f"every seed score of {storage_dir.name} is NaN ({perf!r} never recorded a number)")
    point, lower, upper = (np.atleast_1d(np.asarray(a, dtype=float))
                           for a in interval(table, settings.y_error_bars, n_resamples=n_resamples, seed=seed))
    key = np.where(np.isnan(point), np.inf, point if settings.lower_is_better else -point)
    order = np.argsort(key, kind="stable")
    scores = SearchScores(storage_dir, settings, experiments, configs, seed_scores, point, lower, upper,
                          mean_curves, report, order, n_resamples=n_resamples, seed=seed,
                          unscored=_unscored(storage_dir, set(experiments), report) if only is None else {},
                          adaptive=ranking)
    if ranking is not None:
        for n in scores.unscored:
            if n not in ranking.experiments:
                scores.unscored[n] = f"did not reach step {ranking.step} (adaptive search)"
    _p_best(scores)
    return scores


def select_best(storage_dir: Path, overrides: dict | None = None, *, n_resamples: int = 10_000,
                seed: int = 0) -> tuple[int, dict, SearchScores]:
    """(best experiment number, its config_unique without seed, the scores) -- no files written."""
    StorageDir(storage_dir).require_kind()
    settings = resolve_settings(storage_dir, overrides)
    scores = compute_search_scores(storage_dir, settings, n_resamples=n_resamples, seed=seed)
    return scores.best, scores.configs[scores.best], scores


def band_name(y_error_bars: str, n_resamples: int) -> str:
    """How an interval over seeds was made, for figure labels and summary.txt."""
    return {"bootstrapped_CI": f"mean, 95% bootstrap CI ({n_resamples} resamples)",
            "stderr": "mean, 95% normal CI (1.96 stderr)",
            "10th_quantile": "median, 10%-90% quantiles", "none": "mean"}[y_error_bars]


@dataclass
class CurveBand:
    """One experiment's learning curve over seeds: estimate and interval at each x."""

    experiment: int
    x: np.ndarray  # (n_steps,)
    point: np.ndarray  # (n_steps,)
    lower: np.ndarray
    upper: np.ndarray
    n_seeds: int


def curve_bands(storage_dir: Path, settings: ResultsSettings, experiments: list[int], *, n_resamples: int,
                seed: int) -> list[CurveBand]:
    """Per experiment (in the order given), the y_metric curve's estimate and interval over seeds;
    shared among forked processes (alfred.results.parallel) from 3 experiments on: a bootstrap of
    100 seeds x 1,000 steps takes a core a quarter of a second."""
    from alfred.results.parallel import fork_map, n_workers

    workers = n_workers(len(experiments)) if len(experiments) >= 3 else 1
    if workers > 1:
        parts = fork_map([functools.partial(_curve_bands, storage_dir, settings, list(part), n_resamples=n_resamples,
                                            seed=seed) for part in np.array_split(np.array(experiments), workers)])
        found = {b.experiment: b for part in parts for b in part}
        return [found[e] for e in experiments if e in found]
    return _curve_bands(storage_dir, settings, experiments, n_resamples=n_resamples, seed=seed)


def _curve_bands(storage_dir: Path, settings: ResultsSettings, experiments: list[int], *, n_resamples: int,
                 seed: int) -> list[CurveBand]:
    found = {}
    for c in iter_curves(storage_dir, y_metric=settings.y_metric, x_metric=settings.x_metric,
                         recorder_name=settings.recorder_name, experiments=set(experiments)):
        m, lo, hi = (np.atleast_1d(a) for a in interval(c.y, settings.y_error_bars, n_resamples=n_resamples,
                                                         seed=seed))
        recorded = recorded_steps(m)
        found[c.experiment] = CurveBand(c.experiment, c.x[recorded], m[recorded], lo[recorded], hi[recorded],
                                        len(c.seeds))
    return [found[e] for e in experiments if e in found]
