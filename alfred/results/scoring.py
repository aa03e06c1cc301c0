"""Scores of a search: one number per seed, an estimate and an interval per experiment, a ranking.

The performance of a seed is its performance_metric curve reduced by
performance_aggregation; an experiment's performance is the mean over its seeds (the median
with y_error_bars 10th_quantile), its interval a 95% percentile bootstrap of that mean
(bootstrapped_CI), mean +- 1.96 standard errors (stderr) or the 10%-90% quantiles.
Everything here computes and returns values; nothing is drawn or written.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from alfred.protocol.layout import StorageDir
from alfred.results.labels import varied_keys
from alfred.results.loading import LoadReport, iter_curves
from alfred.results.settings import ResultsSettings, resolve_settings
from alfred.utils.misc import AlfredError

__all__ = ["SearchScores", "CurveBand", "CONFIDENCE", "band_name", "compute_search_scores", "curve_bands",
           "interval", "select_best"]

CONFIDENCE = 0.95
_BATCH_ROWS = 4096  # seeds' curves reduced together (32 MB at 1,000 steps)
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
        return [self.experiments[i] for i in self.order[1:]
                if np.isfinite(self.point[i]) and self.lower[i] <= self.upper[b] and self.upper[i] >= self.lower[b]]

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


def _stacked(arrays: list[np.ndarray]) -> np.ndarray:
    """(sum of rows, max columns) array of 2-D arrays, NaN-padded on the right."""
    out = np.full((sum(len(a) for a in arrays), max(a.shape[1] for a in arrays)), np.nan)
    row = 0
    for a in arrays:
        out[row : row + len(a), : a.shape[1]] = a
        row += len(a)
    return out


def _reduce_batch(batch: list, settings: ResultsSettings, seed_scores: dict, mean_curves: dict, bad: list) -> None:
    """Seed scores and mean y curves of a batch of experiments' Curves, in a few array operations
    (per experiment, numpy's overhead on small arrays would cost more than the arithmetic)."""
    from alfred.utils.stats import aggregate_scores

    if not batch:
        return
    perf = settings.perf_metric
    y = _stacked([c.y for c in batch])
    p = y if perf == settings.y_metric else _stacked([c.others[perf] for c in batch])
    starts = np.cumsum([0] + [len(c.seeds) for c in batch])
    for metric, values in {settings.y_metric: y, perf: p}.items():
        rows = np.flatnonzero(np.isinf(values).any(axis=1))
        for r in rows:
            j = int(np.searchsorted(starts, r, side="right")) - 1
            bad.append(f"exp{batch[j].experiment}/seed{batch[j].seeds[r - starts[j]]} ({metric})")
    scores = aggregate_scores(p, settings.performance_aggregation).tolist()
    valid = ~np.isnan(y)
    filled = np.where(valid, y, 0.0)
    sums, counts = np.empty((len(batch), y.shape[1])), np.empty((len(batch), y.shape[1]))
    j = 0
    while j < len(batch):  # runs of experiments with as many seeds: one (k, n_seeds, n_steps) sum each
        n = len(batch[j].seeds)
        k = next((i for i in range(j, len(batch)) if len(batch[i].seeds) != n), len(batch)) - j
        rows = slice(starts[j], starts[j] + k * n)
        sums[j : j + k] = filled[rows].reshape(k, n, -1).sum(axis=1)
        counts[j : j + k] = valid[rows].reshape(k, n, -1).sum(axis=1)
        j += k
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts  # NaN at a step no seed reached
    for j, c in enumerate(batch):
        mean = means[j, : c.y.shape[1]]
        recorded = _recorded_steps(mean)
        mean_curves[c.experiment] = (c.x[recorded], mean[recorded])
        seed_scores[c.experiment] = dict(zip(c.seeds, scores[starts[j]: starts[j + 1]]))


def compute_search_scores(storage_dir: Path, settings: ResultsSettings, *, n_resamples: int = 10_000,
                          seed: int = 0) -> SearchScores:
    """Score every seed and experiment of a storage dir; AlfredError when nothing can be scored.

    Every recorder is read once: the y_metric curves (their per-experiment means) and the
    performance metric (one score per seed) come from the same read.
    """
    storage_dir = Path(storage_dir)
    report = LoadReport()
    experiments, configs, seed_scores, mean_curves = [], {}, {}, {}
    bad: list[str] = []
    perf = settings.perf_metric
    also = () if perf == settings.y_metric else (perf,)
    batch: list = []
    n_rows = 0
    for c in iter_curves(storage_dir, y_metric=settings.y_metric, x_metric=settings.x_metric,
                         recorder_name=settings.recorder_name, report=report, also=also):
        experiments.append(c.experiment)
        configs[c.experiment] = c.config
        batch.append(c)
        n_rows += len(c.seeds)
        if n_rows >= _BATCH_ROWS:
            _reduce_batch(batch, settings, seed_scores, mean_curves, bad)
            batch, n_rows = [], 0
    _reduce_batch(batch, settings, seed_scores, mean_curves, bad)
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
                          mean_curves, report, order, n_resamples=n_resamples, seed=seed)
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
    """Per experiment (in the order given), the y_metric curve's estimate and interval over seeds."""
    found = {}
    for c in iter_curves(storage_dir, y_metric=settings.y_metric, x_metric=settings.x_metric,
                         recorder_name=settings.recorder_name, experiments=set(experiments)):
        m, lo, hi = (np.atleast_1d(a) for a in interval(c.y, settings.y_error_bars, n_resamples=n_resamples,
                                                         seed=seed))
        recorded = _recorded_steps(m)
        found[c.experiment] = CurveBand(c.experiment, c.x[recorded], m[recorded], lo[recorded], hi[recorded],
                                        len(c.seeds))
    return [found[e] for e in experiments if e in found]


def _recorded_steps(point: np.ndarray) -> np.ndarray | slice:
    """The entries a curve is drawn through: all, unless no seed recorded the metric at some of them
    (a metric written every k-th entry is None in between, which would leave only isolated points)."""
    finite = np.isfinite(point)
    return slice(None) if finite.all() or not finite.any() else finite
