"""Summarise searches, and compare searches or models, from the seeds' recorders.

Without --benchmark_type, each storage dir gets a summary in <storage_dir>/summary/:
learning curves (mean and interval per experiment, the top ones coloured), a bar chart of
the experiments' performance (best first, with intervals), every seed's score (CSV and
JSON), bestConfig_exp<N>.json (the best experiment's config_unique without its seed) and
summary.txt / summary.json saying how sure the choice is: which experiments' intervals
overlap the best one's.

  --benchmark_type compare_searches   one figure: the distribution of every search's
                                      experiment scores (vertical densities + box plots)
  --benchmark_type compare_models     learning curves of the best experiment of each storage
                                      dir, one panel per task, with intervals

Comparisons are written to benchmark_<name>/ beside the list file (--from_file), or in the
root dir (--storage_names). Defaults for every metric choice come from the schedule's
RESULTS = {...} (stored in prepare_info.json); command-line flags override them.

The performance of a seed is its performance_metric curve reduced by
performance_aggregation; an experiment's performance is the mean over its seeds (the median
with --y_error_bars 10th_quantile), its interval a 95% percentile bootstrap of that mean
(bootstrapped_CI), mean +- 1.96 standard errors (stderr) or the 10%-90% quantiles.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from alfred.utils.config import load_dict_from_json
from alfred.utils.directory_tree import (GRID_SEARCH, RANDOM_SEARCH, RETRAIN_BEST, SUMMARY_COMPLETED, SUMMARY_DIR,
                                         SUMMARY_FAILED, SUMMARY_ONGOING, DirectoryTree, StorageName)
from alfred.utils.misc import AlfredError, cli_main
from alfred.utils.results import (ERROR_BARS, RESULTS_KEYS, LoadReport, check_aggregation, iter_curves,
                                  find_recorder, read_tape, validate_results_settings)
from alfred.utils.selection import select_storage_dirs

__all__ = ["ResultsSettings", "resolve_settings", "compute_search_scores", "summarize_search", "summarize_finished",
           "compare_searches", "compare_models", "select_best"]

PREPARE_INFO = "prepare_info.json"
SUMMARY_JSON = "summary.json"
TOP_K_CURVES = 10
CONFIDENCE = 0.95


# ----------------------------------------------------------------------------- settings
@dataclass
class ResultsSettings:
    x_metric: str | None = None
    y_metric: str | None = None
    performance_metric: str | None = None
    performance_aggregation: str = "last"
    y_error_bars: str = "bootstrapped_CI"
    lower_is_better: bool = False
    recorder_name: str = "train_recorder"

    @property
    def perf_metric(self) -> str:
        return self.performance_metric or self.y_metric

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in (*RESULTS_KEYS, "recorder_name")}


def storage_kind(storage_dir: Path) -> str:
    """'grid', 'random' or 'retrain'; AlfredError for a folder that is not a search's storage dir."""
    storage_dir = Path(storage_dir)
    if not storage_dir.is_dir():
        raise AlfredError(f"storage dir {storage_dir} does not exist")
    for flag, kind in ((GRID_SEARCH, "grid"), (RANDOM_SEARCH, "random"), (RETRAIN_BEST, "retrain")):
        if (storage_dir / flag).exists():
            return kind
    raise AlfredError(f"{storage_dir} is not a search's storage dir (it has no {GRID_SEARCH}, {RANDOM_SEARCH} "
                      f"or {RETRAIN_BEST} flag): pass a folder made by prepare_schedule or create_retrainbest")


def recorded_defaults(storage_dir: Path) -> dict:
    """The ``results`` settings prepare_schedule stored from the schedule's RESULTS (may be empty)."""
    path = Path(storage_dir) / PREPARE_INFO
    if not path.is_file():
        return {}
    return validate_results_settings(load_dict_from_json(path).get("results") or {}, f"{path} 'results'")


def _first_tape_metrics(storage_dir: Path, recorder_name: str) -> list[str]:
    for tree in DirectoryTree.iter_seed_trees(storage_dir):
        path = find_recorder(tree.recorders_dir, recorder_name)
        if path is not None:
            try:
                return list(read_tape(path))
            except Exception:
                continue
    return []


def resolve_settings(storage_dir: Path, overrides: dict | None = None) -> ResultsSettings:
    """Settings for one storage dir: RESULTS from prepare_info.json, then non-None ``overrides``.

    A missing y_metric is inferred when the recorder holds exactly one metric besides the
    x_metric (and 'step'); a missing x_metric is 'step' when recorded, else the entry index.
    """
    values = {**recorded_defaults(storage_dir), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    settings = ResultsSettings(**{k: v for k, v in values.items() if k in ResultsSettings.__dataclass_fields__})
    check_aggregation(settings.performance_aggregation)
    if settings.y_error_bars not in ERROR_BARS:
        raise AlfredError(f"y_error_bars {settings.y_error_bars!r} is not valid; use {', '.join(ERROR_BARS)}")
    if settings.y_metric is None or settings.x_metric is None:
        recorded = _first_tape_metrics(storage_dir, settings.recorder_name)
        if settings.x_metric is None and "step" in recorded:
            settings.x_metric = "step"
        if settings.y_metric is None:
            candidates = [m for m in recorded if m not in (settings.x_metric, "step")]
            if len(candidates) != 1:
                listed = ", ".join(recorded) if recorded else f"none (no {settings.recorder_name} recorder found)"
                raise AlfredError(f"no y_metric for {Path(storage_dir).name}: pass --y_metric or set RESULTS = "
                                  f"{{'y_metric': ...}} in the schedule; recorded metrics: {listed}")
            settings.y_metric = candidates[0]
    return settings


# ----------------------------------------------------------------------------- scores
@dataclass
class SearchScores:
    """An experiment-level view of one storage dir."""

    storage_dir: Path
    settings: ResultsSettings
    experiments: list[int]
    configs: dict[int, dict]
    seed_scores: dict[int, dict[int, float]]  # experiment -> seed -> score
    point: np.ndarray  # (n_experiments,)
    lower: np.ndarray
    upper: np.ndarray
    mean_curves: dict[int, tuple[np.ndarray, np.ndarray]]  # experiment -> (x, mean y) of y_metric
    report: LoadReport
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # best first

    @property
    def best(self) -> int:
        return self.experiments[int(self.order[0])]

    def overlapping(self) -> list[int]:
        """Experiments (other than the best) whose interval overlaps the best one's."""
        b = int(self.order[0])
        if np.isnan(self.lower[b]) or np.isnan(self.upper[b]):
            return []
        return [self.experiments[i] for i in self.order[1:]
                if np.isfinite(self.point[i]) and self.lower[i] <= self.upper[b] and self.upper[i] >= self.lower[b]]


def interval(values: np.ndarray, mode: str, *, n_resamples: int, seed: int) -> tuple[np.ndarray, ...]:
    """(point, lower, upper) over axis 0 of (n_runs, n_columns) NaN-padded values."""
    from alfred.utils import stats

    if mode == "bootstrapped_CI":
        return stats.bootstrap_mean_ci(values, n_resamples=n_resamples, confidence=CONFIDENCE, seed=seed)
    if mode == "stderr":
        return stats.mean_and_stderr_ci(values, confidence=CONFIDENCE)
    if mode == "10th_quantile":
        return stats.quantile_band(values, q=0.1)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(values, axis=0) if values.shape[0] else np.full(values.shape[1:], np.nan)
    nan = np.full_like(mean, np.nan)
    return mean, nan, nan


def compute_search_scores(storage_dir: Path, settings: ResultsSettings, *, n_resamples: int = 10_000,
                          seed: int = 0) -> SearchScores:
    """Score every seed and experiment of a storage dir; AlfredError when nothing can be scored."""
    from alfred.utils.stats import aggregate_scores

    storage_dir = Path(storage_dir)
    report = LoadReport()
    experiments, configs, seed_scores, mean_curves = [], {}, {}, {}
    bad = []
    same = settings.perf_metric == settings.y_metric
    for c in iter_curves(storage_dir, y_metric=settings.y_metric, x_metric=settings.x_metric,
                         recorder_name=settings.recorder_name, report=report):
        with np.errstate(invalid="ignore"):
            if np.isinf(c.y).any():
                bad.extend(f"exp{c.experiment}/seed{s}" for s, row in zip(c.seeds, c.y) if np.isinf(row).any())
            mean_curves[c.experiment] = (c.x, np.nanmean(np.where(np.isinf(c.y), np.nan, c.y), axis=0))
        experiments.append(c.experiment)
        configs[c.experiment] = c.config
        if same:
            scores = aggregate_scores(c.y, settings.performance_aggregation)
            seed_scores[c.experiment] = dict(zip(c.seeds, np.atleast_1d(scores).tolist()))
    if bad:
        raise AlfredError(f"non-finite (inf) values of {settings.y_metric!r} in {len(bad)} seed(s) of "
                          f"{storage_dir.name}, e.g. {', '.join(bad[:3])}: fix or remove those runs")
    if not same:
        perf_report = LoadReport()
        for c in iter_curves(storage_dir, y_metric=settings.perf_metric, x_metric=None,
                             recorder_name=settings.recorder_name, report=perf_report):
            if np.isinf(c.y).any():
                raise AlfredError(f"non-finite (inf) values of {settings.perf_metric!r} in experiment{c.experiment} "
                                  f"of {storage_dir.name}")
            scores = aggregate_scores(c.y, settings.performance_aggregation)
            seed_scores[c.experiment] = dict(zip(c.seeds, np.atleast_1d(scores).tolist()))
        experiments = [e for e in experiments if e in seed_scores]
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
        raise AlfredError(f"every seed score of {storage_dir.name} is NaN ({settings.perf_metric!r} never recorded "
                          "a number)")
    point, lower, upper = (np.atleast_1d(np.asarray(a, dtype=float))
                           for a in interval(table, settings.y_error_bars, n_resamples=n_resamples, seed=seed))
    key = np.where(np.isnan(point), np.inf, point if settings.lower_is_better else -point)
    order = np.argsort(key, kind="stable")
    return SearchScores(storage_dir, settings, experiments, configs, seed_scores, point, lower, upper,
                        mean_curves, report, order)


def select_best(storage_dir: Path, overrides: dict | None = None, *, n_resamples: int = 10_000,
                seed: int = 0) -> tuple[int, dict, SearchScores]:
    """(best experiment number, its config_unique without seed, the scores) -- no files written."""
    storage_kind(storage_dir)
    settings = resolve_settings(storage_dir, overrides)
    scores = compute_search_scores(storage_dir, settings, n_resamples=n_resamples, seed=seed)
    return scores.best, scores.configs[scores.best], scores


# ----------------------------------------------------------------------------- summary files
def _exp_label(scores: SearchScores, e: int, max_len: int = 60) -> str:
    cfg = {k: v for k, v in scores.configs.get(e, {}).items() if k not in ("alg_name", "task_name", "desc")}
    varied = _varied_keys(scores)
    text = ", ".join(f"{k}={_short(cfg[k])}" for k in varied if k in cfg)
    label = f"exp{e}" + (f": {text}" if text else "")
    return label if len(label) <= max_len else label[: max_len - 3] + "..."


def _short(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _varied_keys(scores: SearchScores) -> list[str]:
    cached = getattr(scores, "_varied", None)
    if cached is None:
        keys = list(dict.fromkeys(k for c in scores.configs.values() for k in c))
        cached = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c in scores.configs.values()}) > 1]
        scores._varied = cached
    return cached


def _band_name(settings: ResultsSettings, n_resamples: int) -> str:
    return {"bootstrapped_CI": f"mean, 95% bootstrap CI ({n_resamples} resamples)",
            "stderr": "mean, 95% normal CI (1.96 stderr)",
            "10th_quantile": "median, 10%-90% quantiles", "none": "mean"}[settings.y_error_bars]


def _curve_figure(scores: SearchScores, path: Path, *, n_resamples: int, seed: int, top_k: int) -> None:
    from alfred.utils import plots

    s = scores.settings
    top = [scores.experiments[i] for i in scores.order[:top_k] if np.isfinite(scores.point[i])]
    fig, axes = plots.create_fig(1, 1, panel_size=(9.0, 5.0))
    ax = axes[0, 0]
    others = [e for e in scores.experiments if e not in top]
    if others:  # every other experiment as a thin grey mean curve, behind: one LineCollection (fast)
        from matplotlib.collections import LineCollection

        segments = []
        for e in others:
            x, y = scores.mean_curves[e]
            stride = max(1, len(x) // 500)  # a background line needs no more than ~500 points
            segments.append(np.column_stack([x[::stride], y[::stride]]))
        ax.add_collection(LineCollection(segments, colors="0.8", linewidths=0.7, zorder=1))
        ax.plot([], [], color="0.8", lw=0.8)  # the legend's handle for them
        ax.autoscale_view()
    xs, ys, los, his, labels = [], [], [], [], []
    for c in iter_curves(scores.storage_dir, y_metric=s.y_metric, x_metric=s.x_metric, recorder_name=s.recorder_name,
                         experiments=set(top)):
        m, lo, hi = interval(c.y, s.y_error_bars, n_resamples=min(n_resamples, 2000), seed=seed)
        xs.append(c.x), ys.append(np.atleast_1d(m)), los.append(np.atleast_1d(lo)), his.append(np.atleast_1d(hi))
        labels.append(f"#{top.index(c.experiment) + 1} {_exp_label(scores, c.experiment, 45)} (n={len(c.seeds)})")
    rank = np.argsort([int(label.split()[0][1:]) for label in labels])
    pick = lambda a: [a[i] for i in rank]  # noqa: E731
    bands = s.y_error_bars != "none"
    single = [len(x) == 1 for x in xs]
    plots.plot_curves(ax, pick(xs), pick(ys), lowers=pick(los) if bands else None, uppers=pick(his) if bands else None,
                      labels=pick(labels), xlabel=s.x_metric or "entry index", ylabel=s.y_metric, legend=False)
    if any(single):  # one-point runs draw no line: mark them
        for x, y in zip(pick(xs), pick(ys)):
            if len(x) == 1:
                ax.plot(x, y, "o", color="0.3", ms=4)
    _legend(ax, labels=(([f"{len(others)} other experiments (means)"] if others else []) + pick(labels)),
            n_grey=1 if others else 0)
    shown = f"top {len(top)} of {len(scores.experiments)} experiments" if others else f"{len(top)} experiments"
    ax.set_title(f"{_title(scores.storage_dir)}\n{s.y_metric}: {_band_name(s, min(n_resamples, 2000))}; {shown} "
                 f"by {s.performance_aggregation} {s.perf_metric}", fontsize="medium")
    plots.save_fig(fig, path)


def _legend(ax, *, labels: list[str], n_grey: int) -> None:
    """A legend with one entry per labelled curve, outside the axes on the right."""
    lines = ax.get_lines()
    grey = [ln for ln in lines if ln.get_color() == "0.8"][:n_grey]
    colored = [ln for ln in lines if ln.get_color() != "0.8" and ln.get_linestyle() != "None"]
    handles = grey + colored[: len(labels) - len(grey)]
    ax.legend(handles, labels[: len(handles)], fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _title(storage_dir: Path) -> str:
    name = Path(storage_dir).name
    return name if len(name) <= 70 else name[:67] + "..."


def _bar_figure(scores: SearchScores, path: Path, n_resamples: int) -> None:
    from alfred.utils import plots

    s = scores.settings
    labels = [f"{_exp_label(scores, e, 50)} (n={len(scores.seed_scores[e])})" for e in scores.experiments]
    overlap = set(scores.overlapping())
    highlight = {labels[scores.experiments.index(e)] for e in overlap | {scores.best}}
    top_k = min(30, len(labels))
    bands = s.y_error_bars != "none"
    ax = plots.bar_chart(scores=scores.point, labels=labels, lowers=scores.lower if bands else None,
                         uppers=scores.upper if bands else None,
                         ylabel=f"{s.performance_aggregation} {s.perf_metric} ({_band_name(s, n_resamples)})",
                         title=f"{_title(scores.storage_dir)}\n"
                               f"{'lower' if s.lower_is_better else 'higher'} is better; best: exp{scores.best}",
                         top_k=top_k, sort="ascending" if s.lower_is_better else "descending",
                         highlight=highlight if bands else None,
                         highlight_label="best, and intervals overlapping it", max_label_len=60)
    legend = ax.get_legend()
    if legend is not None:  # outside the axes: inside, it can hide a bar
        handles = legend.legend_handles
        labels = [t.get_text() for t in legend.get_texts()]
        legend.remove()
        ax.legend(handles, labels, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        w, h = ax.figure.get_size_inches()
        ax.figure.set_size_inches(w + 2.5, h)
    plots.save_fig(ax.figure, path)


def _sensitivity_figure(scores: SearchScores, path: Path) -> bool:
    from alfred.utils import plots

    varied = [k for k in _varied_keys(scores) if k not in ("alg_name", "task_name")]
    if not varied or len(varied) > 12 or len(scores.experiments) < 3:
        return False
    hyper = {k: [scores.configs[e].get(k) for e in scores.experiments] for k in varied}
    hyper = {k: [tuple(v) if isinstance(v, list) else v for v in vals] for k, vals in hyper.items()}
    bands = scores.settings.y_error_bars != "none"
    fig = plots.plot_sensitivity(scores.point, hyper, ylabel=f"{scores.settings.performance_aggregation} "
                                                           f"{scores.settings.perf_metric}",
                                 lowers=scores.lower if bands else None, uppers=scores.upper if bands else None,
                                 title=_title(scores.storage_dir))
    plots.save_fig(fig, path)
    return True


def _fmt(v: float) -> str:
    return "nan" if not np.isfinite(v) else f"{v:.4g}"


def _summary_dict(scores: SearchScores, n_resamples: int, seed: int) -> dict:
    s = scores.settings
    b = scores.experiments.index(scores.best)
    overlap = scores.overlapping()
    n_ranked = int(np.isfinite(scores.point).sum())
    if s.y_error_bars == "none":
        confidence = "unknown: no intervals (--y_error_bars none)"
    elif not np.isfinite(scores.lower[b]):
        confidence = "unknown: the best experiment's interval is undefined (a single seed?)"
    elif overlap:
        confidence = (f"low: {len(overlap)} of {n_ranked - 1} other experiment(s) have intervals overlapping the "
                      "best one's, so the data cannot tell them apart; add seeds to separate them")
    else:
        confidence = "high: no other experiment's interval overlaps the best one's"
    return {
        "storage_dir": str(scores.storage_dir), "settings": s.to_dict(),
        "interval": _band_name(s, n_resamples), "n_resamples": n_resamples, "seed": seed,
        "best_experiment": scores.best, "best_config": scores.configs[scores.best],
        "best_score": float(scores.point[b]), "best_interval": [float(scores.lower[b]), float(scores.upper[b])],
        "overlapping_experiments": overlap, "confidence": confidence,
        "ranking": [{"experiment": scores.experiments[i], "score": float(scores.point[i]),
                     "lower": float(scores.lower[i]), "upper": float(scores.upper[i]),
                     "n_seeds": len(scores.seed_scores[scores.experiments[i]])} for i in scores.order],
        "load_report": scores.report.to_dict(),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _summary_text(d: dict, scores: SearchScores) -> str:
    s = scores.settings
    lines = [f"summary of {scores.storage_dir.name}",
             f"performance: {s.performance_aggregation} of {s.perf_metric} per seed "
             f"({'lower' if s.lower_is_better else 'higher'} is better), {d['interval']} over seeds",
             f"best: experiment{d['best_experiment']} with {_fmt(d['best_score'])} "
             f"[{_fmt(d['best_interval'][0])}, {_fmt(d['best_interval'][1])}]",
             f"config: {json.dumps(d['best_config'], sort_keys=True)}",
             f"confidence: {d['confidence']}"]
    if d["overlapping_experiments"]:
        lines.append("overlapping: " + ", ".join(f"experiment{e}" for e in d["overlapping_experiments"][:50])
                     + (" ..." if len(d["overlapping_experiments"]) > 50 else ""))
    lines.append("")
    lines.append(f"{'rank':>4}  {'experiment':>10}  {'score':>10}  {'lower':>10}  {'upper':>10}  {'seeds':>5}")
    for r, row in enumerate(d["ranking"][:30], start=1):
        lines.append(f"{r:>4}  {row['experiment']:>10}  {_fmt(row['score']):>10}  {_fmt(row['lower']):>10}  "
                     f"{_fmt(row['upper']):>10}  {row['n_seeds']:>5}")
    if len(d["ranking"]) > 30:
        lines.append(f"... {len(d['ranking']) - 30} more in summary.json")
    lines.append("")
    lines.append(scores.report.describe())
    return "\n".join(lines) + "\n"


def _write_scores(folder: Path, scores: SearchScores) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["experiment", "seed", "score"])
    for e in scores.experiments:
        for sd, v in scores.seed_scores[e].items():
            writer.writerow([e, sd, "" if not math.isfinite(v) else repr(float(v))])
    (folder / "seed_scores.csv").write_text(buf.getvalue(), encoding="utf-8")
    data = {f"experiment{e}": {f"seed{sd}": (v if math.isfinite(v) else None) for sd, v in scores.seed_scores[e].items()}
            for e in scores.experiments}
    (folder / "seed_scores.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def summary_dir(storage_dir: Path) -> Path:
    return Path(storage_dir) / SUMMARY_DIR


def summarize_search(storage_dir: str | os.PathLike, *, x_metric: str | None = None, y_metric: str | None = None,
                     performance_metric: str | None = None, performance_aggregation: str | None = None,
                     y_error_bars: str | None = None, lower_is_better: bool | None = None,
                     recorder_name: str | None = None, n_resamples: int = 10_000, seed: int = 0,
                     re_run_if_exists: bool = True, top_k: int = TOP_K_CURVES) -> dict:
    """Write ``<storage_dir>/summary/`` (see the module doc) and return the summary dict.

    The folder is built under a temporary name and swapped in by one rename, so a failed
    summary leaves no folder that looks complete. Arguments left None come from the
    storage dir's RESULTS defaults. With ``re_run_if_exists=False`` an existing summary is
    returned as it is.
    """
    storage_dir = Path(storage_dir)
    storage_kind(storage_dir)
    final = summary_dir(storage_dir)
    if not re_run_if_exists and (final / SUMMARY_JSON).is_file():
        return json.loads((final / SUMMARY_JSON).read_text(encoding="utf-8"))
    if n_resamples < 1:
        raise AlfredError(f"--n_resamples must be >= 1, got {n_resamples}")
    settings = resolve_settings(storage_dir, dict(
        x_metric=x_metric, y_metric=y_metric, performance_metric=performance_metric,
        performance_aggregation=performance_aggregation, y_error_bars=y_error_bars, lower_is_better=lower_is_better,
        recorder_name=recorder_name))
    scores = compute_search_scores(storage_dir, settings, n_resamples=n_resamples, seed=seed)
    tmp = storage_dir / f".{SUMMARY_DIR}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        summary = _summary_dict(scores, n_resamples, seed)
        _write_scores(tmp, scores)
        (tmp / f"bestConfig_exp{scores.best}.json").write_text(json.dumps(scores.configs[scores.best], indent=2) + "\n",
                                                              encoding="utf-8")
        _curve_figure(scores, tmp / f"learning_curves_{settings.y_metric}", n_resamples=n_resamples, seed=seed,
                      top_k=top_k)
        _bar_figure(scores, tmp / f"performance_{settings.perf_metric}", n_resamples)
        summary["figures"] = sorted(p.name for p in tmp.glob("*.png"))
        if _sensitivity_figure(scores, tmp / f"sensitivity_{settings.perf_metric}"):
            summary["figures"].append(f"sensitivity_{settings.perf_metric}.png")
        (tmp / "summary.txt").write_text(_summary_text(summary, scores), encoding="utf-8")
        (tmp / SUMMARY_JSON).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")  # written last
        _swap_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def _move_files_into(tmp: Path, out_dir: Path) -> None:
    """Move each file of the finished ``tmp`` folder into ``out_dir`` (rename: each appears whole)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in tmp.iterdir())
    names.sort(key=lambda n: n.endswith(".json"))  # the .json that marks a comparison complete goes last
    for name in names:
        os.replace(tmp / name, out_dir / name)
    tmp.rmdir()


def _swap_dir(tmp: Path, final: Path) -> None:
    """Put the finished ``tmp`` folder in place of ``final`` (the old one, if any, goes away)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(final, old)
        except FileNotFoundError:
            old = None
    os.rename(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _clear_summary(storage_dir: Path) -> None:
    """Remove a summary folder (e.g. left by a failed run) so it cannot pass for a current one."""
    final = summary_dir(storage_dir)
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(final, old)
            shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:
            pass


# ----------------------------------------------------------------------------- automatic summaries
@dataclass
class FinishedReport:
    storage_dir: Path
    action: str  # "summarized", "failed", "busy", "unfinished", "up to date", "skipped"
    message: str = ""


def _seed_counts(storage_dir: Path) -> tuple[int, int, int]:
    """(seeds still to run or running, completed, total) of a storage dir."""
    from alfred.utils.flags import SeedState, read_status

    from alfred.utils.directory_tree import COMPLETED

    pending = completed = total = 0
    for tree in DirectoryTree.iter_seed_trees(storage_dir):
        total += 1
        if os.path.exists(tree.flag_path(COMPLETED)):  # the common case: one stat, no listing
            completed += 1
            continue
        state = read_status(tree).state
        if state in (SeedState.UNHATCHED, SeedState.RUNNING, SeedState.INTERRUPTED):
            pending += 1
        elif state is SeedState.COMPLETED:
            completed += 1
    return pending, completed, total


def _done_for(storage_dir: Path, n_completed: int) -> str | None:
    """'completed'/'failed' when a summary (or failure) exists for this number of completed seeds."""
    from alfred.utils.summary_flags import read_flag

    for flag, word in ((SUMMARY_COMPLETED, "completed"), (SUMMARY_FAILED, "failed")):
        path = storage_dir / flag
        if path.exists() and read_flag(path).get("n_completed") == n_completed:
            return word
    return None


def summarize_finished(storage_dirs: list[Path], *, overrides: dict | None = None, n_resamples: int = 10_000,
                       seed: int = 0, stale_after_s: float | None = None, log=print) -> list[FinishedReport]:
    """Summarise each storage dir whose seeds are all done (none UNHATCHED, RUNNING or INTERRUPTED).

    Exactly one process does each summary: it claims SUMMARY_ONGOING (O_EXCL; a dead owner's
    flag is taken over), runs make_plot_arrays and summarize_search, then writes
    SUMMARY_COMPLETED (or SUMMARY_FAILED with the error) and removes SUMMARY_ONGOING. A
    summary is redone when more seeds completed since the last one.
    """
    from alfred.utils import summary_flags as sf

    stale = sf.STALE_S if stale_after_s is None else stale_after_s
    out = []
    for storage_dir in map(Path, storage_dirs):
        try:
            storage_kind(storage_dir)
        except AlfredError as e:
            out.append(FinishedReport(storage_dir, "skipped", str(e)))
            continue
        pending, completed, total = _seed_counts(storage_dir)
        if pending:
            out.append(FinishedReport(storage_dir, "unfinished", f"{pending} of {total} seed(s) not done"))
            continue
        if _done_for(storage_dir, completed):
            out.append(FinishedReport(storage_dir, "up to date", ""))
            continue
        claim = sf.claim_flag(storage_dir / SUMMARY_ONGOING, stale_after_s=stale,
                              extra={"n_completed": completed})
        if claim is None:
            out.append(FinishedReport(storage_dir, "busy", "another process is summarising it"))
            continue
        if _done_for(storage_dir, completed):  # finished by another process between check and claim
            sf.release_flag(claim)
            out.append(FinishedReport(storage_dir, "up to date", ""))
            continue
        for flag in (SUMMARY_COMPLETED, SUMMARY_FAILED):
            try:
                os.unlink(storage_dir / flag)
            except FileNotFoundError:
                pass
        try:
            settings = resolve_settings(storage_dir, overrides)
            from alfred.make_plot_arrays import make_plot_arrays

            # the summary first: it checks the data and fails with the clearest message
            summary = summarize_search(storage_dir, **{k: v for k, v in settings.to_dict().items()},
                                       n_resamples=n_resamples, seed=seed)
            sf.touch(claim)
            make_plot_arrays(storage_dir, x_metrics=[settings.x_metric], y_metrics=[settings.y_metric],
                             settings=settings)
        except Exception as e:
            message = f"{type(e).__name__}: {e}" if not isinstance(e, AlfredError) else str(e)
            _clear_summary(storage_dir)
            sf.finish_flag(claim, storage_dir / SUMMARY_FAILED, {"n_completed": completed, "error": message})
            log(f"summary of {storage_dir.name} failed: {message}")
            out.append(FinishedReport(storage_dir, "failed", message))
            continue
        sf.finish_flag(claim, storage_dir / SUMMARY_COMPLETED,
                       {"n_completed": completed, "best_experiment": summary["best_experiment"]})
        log(f"summary of {storage_dir.name}: best experiment{summary['best_experiment']} "
            f"({summary['confidence'].split(':')[0]} confidence) -> {summary_dir(storage_dir)}")
        try:  # the HTML report only shows these files: a problem with it never fails the summary
            from alfred.results.report import write_storage_report

            log(f"report of {storage_dir.name}: {write_storage_report(storage_dir)}")
        except Exception as e:
            log(f"report of {storage_dir.name} not written: {type(e).__name__}: {e}")
        out.append(FinishedReport(storage_dir, "summarized", str(summary_dir(storage_dir))))
    return out


# ----------------------------------------------------------------------------- comparisons
def _storage_label(storage_dir: Path) -> str:
    parsed = StorageName.parse(Path(storage_dir).name)
    if parsed is None:
        return Path(storage_dir).name
    return f"{parsed.storage_id} {parsed.alg_name} {parsed.desc}"


def _task_of(storage_dir: Path, scores: SearchScores | None = None) -> str:
    info = Path(storage_dir) / PREPARE_INFO
    if info.is_file():
        task = load_dict_from_json(info).get("task_name")
        if task:
            return str(task)
    if scores is not None:
        for c in scores.configs.values():
            if c.get("task_name"):
                return str(c["task_name"])
    parsed = StorageName.parse(Path(storage_dir).name)
    return parsed.task_name if parsed else "task"


def _alg_of(storage_dir: Path) -> str:
    info = Path(storage_dir) / PREPARE_INFO
    if info.is_file():
        alg = load_dict_from_json(info).get("alg_name")
        if alg:
            return str(alg)
    parsed = StorageName.parse(Path(storage_dir).name)
    return parsed.alg_name if parsed else Path(storage_dir).name


def compare_searches(storage_dirs: list[Path], out_dir: Path, overrides: dict | None = None, *,
                     n_resamples: int = 10_000, seed: int = 0) -> dict:
    """One figure: per search, the distribution of its experiments' scores (violin + box)."""
    from alfred.utils import plots

    distributions, data = {}, {}
    settings = None
    for d in storage_dirs:
        storage_kind(d)
        settings = resolve_settings(d, overrides)
        s = compute_search_scores(d, settings, n_resamples=min(n_resamples, 1000), seed=seed)
        label = _storage_label(d)
        if label in distributions:
            label = Path(d).name
        distributions[label] = s.point
        data[Path(d).name] = {f"experiment{e}": float(p) for e, p in zip(s.experiments, s.point)}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        ax = plots.plot_vertical_densities(
            distributions=distributions,
            ylabel=f"{settings.performance_aggregation} {settings.perf_metric} (mean over seeds)",
            title=f"{len(distributions)} search(es): one point per experiment")
        plots.save_fig(ax.figure, tmp / f"compare_searches_{settings.perf_metric}")
        (tmp / "compare_searches.json").write_text(json.dumps({"settings": settings.to_dict(), "scores": data},
                                                              indent=1) + "\n", encoding="utf-8")
        _move_files_into(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return data


def compare_models(storage_dirs: list[Path], out_dir: Path, overrides: dict | None = None, *,
                   n_resamples: int = 10_000, seed: int = 0) -> dict:
    """Learning curves of each storage dir's best experiment, one panel per task, with intervals."""
    from alfred.utils import plots

    by_task: dict[str, list] = {}
    result = {}
    settings = None
    for d in storage_dirs:
        storage_kind(d)
        settings = resolve_settings(d, overrides)
        s = compute_search_scores(d, settings, n_resamples=min(n_resamples, 1000), seed=seed)
        curves = next(iter_curves(d, y_metric=settings.y_metric, x_metric=settings.x_metric,
                                  recorder_name=settings.recorder_name, experiments={s.best}))
        m, lo, hi = interval(curves.y, settings.y_error_bars, n_resamples=min(n_resamples, 2000), seed=seed)
        task = _task_of(d, s)
        b = s.experiments.index(s.best)
        label = f"{_alg_of(d)} ({_storage_label(d).split()[0]}, n={len(curves.seeds)})"
        by_task.setdefault(task, []).append((label, curves.x, np.atleast_1d(m), np.atleast_1d(lo), np.atleast_1d(hi)))
        result[Path(d).name] = {"task": task, "best_experiment": s.best, "score": float(s.point[b]),
                                "interval": [float(s.lower[b]), float(s.upper[b])], "n_seeds": len(curves.seeds)}
    tasks = sorted(by_task)
    n_cols = min(3, len(tasks))
    n_rows = math.ceil(len(tasks) / n_cols)
    if n_rows * n_cols > plots.MAX_PANELS:
        raise AlfredError(f"{len(tasks)} tasks: at most {plots.MAX_PANELS} panels fit one figure")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        fig, axes = plots.create_fig(n_rows, n_cols, panel_size=(5.0, 3.6))
        bands = settings.y_error_bars != "none"
        for ax, task in zip(axes.ravel(), tasks):
            rows = by_task[task]
            plots.plot_curves(ax, [r[1] for r in rows], [r[2] for r in rows], lowers=[r[3] for r in rows] if bands else None,
                              uppers=[r[4] for r in rows] if bands else None, labels=[r[0] for r in rows],
                              xlabel=settings.x_metric or "entry index", ylabel=settings.y_metric, title=task)
        for ax in axes.ravel()[len(tasks):]:
            ax.set_visible(False)
        fig.suptitle(f"{settings.y_metric}: {_band_name(settings, min(n_resamples, 2000))} over seeds")
        plots.save_fig(fig, tmp / f"compare_models_{settings.y_metric}")
        (tmp / "compare_models.json").write_text(json.dumps({"settings": settings.to_dict(), "models": result},
                                                            indent=1) + "\n", encoding="utf-8")
        _move_files_into(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


# ----------------------------------------------------------------------------- command line
def add_results_args(parser: argparse.ArgumentParser) -> None:
    """The metric choices shared by benchmark, make_plot_arrays and create_retrainbest."""
    parser.add_argument("--performance_metric", default=None,
                        help="recorded metric that ranks experiments (default: RESULTS, else --y_metric)")
    parser.add_argument("--performance_aggregation", default=None,
                        help="min, max, avg, last or last_<k>%%: how a seed's curve becomes one score "
                             "(default: RESULTS, else last)")
    parser.add_argument("--lower_is_better", default=None, action="store_true",
                        help="a lower performance is better (e.g. a loss; default: RESULTS, else higher is better)")
    parser.add_argument("--recorder_name", default=None,
                        help="recorder file name in each seed's recorders/, any suffix (default: train_recorder)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark_type", choices=("compare_searches", "compare_models"), default=None,
                        help="compare several storage dirs (default: summarise each one)")
    parser.add_argument("--from_file", type=Path, default=None, help="a list file of storage names")
    parser.add_argument("--storage_names", nargs="+", default=None, help="one or more storage names")
    parser.add_argument("--root_dir", type=Path, default=None, help="the folder holding the storage dirs")
    parser.add_argument("--x_metric", default=None, help="x-axis metric of learning curves (default: RESULTS, "
                                                         "else 'step' when recorded)")
    parser.add_argument("--y_metric", default=None, help="y-axis metric of learning curves (default: RESULTS)")
    parser.add_argument("--y_error_bars", choices=ERROR_BARS, default=None,
                        help="interval over seeds (default: RESULTS, else bootstrapped_CI)")
    add_results_args(parser)
    parser.add_argument("--re_run_if_exists", action="store_true", help="redo summaries that already exist")
    parser.add_argument("--n_resamples", type=int, default=10_000, help="bootstrap resamples (default: 10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default: 0)")
    return parser


def _selected(args) -> list[Path]:
    if (args.from_file is None) == (args.storage_names is None):
        raise AlfredError("give exactly one of --from_file (a list of storage names) or --storage_names")
    if args.from_file is not None:
        return select_storage_dirs(args.from_file, None, args.root_dir)
    dirs = []
    for name in args.storage_names:
        dirs += select_storage_dirs(None, name, args.root_dir)
    return list(dict.fromkeys(dirs))


def comparison_dir(args, storage_dirs: list[Path]) -> Path:
    """benchmark_<list name>/ beside the list file (list_searches_x.txt -> benchmark_searches_x/), or
    root/benchmark_<ids> for --storage_names."""
    if args.from_file is not None:
        name = Path(args.from_file).stem
        if name.startswith("list_"):
            name = name[len("list_"):]
        return Path(args.from_file).parent / f"benchmark_{name}"
    ids = [(StorageName.parse(d.name).storage_id if StorageName.parse(d.name) else d.name) for d in storage_dirs]
    return storage_dirs[0].parent / f"benchmark_{'-'.join(ids)[:100]}"


def overrides_from(args) -> dict:
    return {k: getattr(args, k, None) for k in (*RESULTS_KEYS, "recorder_name")}


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.n_resamples < 1:
        raise AlfredError(f"--n_resamples must be >= 1, got {args.n_resamples}")
    if args.performance_aggregation is not None:
        check_aggregation(args.performance_aggregation)
    storage_dirs = _selected(args)
    overrides = overrides_from(args)
    if args.benchmark_type is None:
        for d in storage_dirs:
            existed = (summary_dir(d) / SUMMARY_JSON).is_file()
            summary = summarize_search(d, **overrides, n_resamples=args.n_resamples, seed=args.seed,
                                       re_run_if_exists=args.re_run_if_exists)
            verb = "kept existing" if existed and not args.re_run_if_exists else "wrote"
            print(f"{d.name}: best experiment{summary['best_experiment']} "
                  f"({_fmt(summary['best_score'])}); confidence {summary['confidence']}")
            print(f"  {verb} {summary_dir(d)}")
        return 0
    out_dir = comparison_dir(args, storage_dirs)
    marker = out_dir / f"{args.benchmark_type}.json"
    if marker.exists() and not args.re_run_if_exists:
        print(f"{marker} exists: nothing done (pass --re_run_if_exists to redo it)")
        return 0
    fn = compare_searches if args.benchmark_type == "compare_searches" else compare_models
    fn(storage_dirs, out_dir, overrides, n_resamples=args.n_resamples, seed=args.seed)
    print(f"wrote {out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
