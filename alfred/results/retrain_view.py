"""A retrain's summary: the search's estimate of the retrained experiment beside the retrain's.

A RETRAIN_BEST storage dir holds one experiment, the best of a search, run again on new
seeds. Ranking it, or giving it a P(best) of 1, says nothing. What it tells is how the
search's estimate holds up: the best of many experiments is partly the luckiest (the
winner's curse), so the retrain's estimate is the one to report, and the gap between the
two is the search's optimism. ``prepare_info.json`` of the retrain names the search
(``retrain_of``) and the experiment (``best_experiment``); the search's estimate comes from
its summary when that used the same settings, else it is computed for that experiment alone.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from alfred.protocol.layout import SeedDir, StorageDir, experiment_dir_name
from alfred.protocol.listing import list_seed_dirs
from alfred.results.labels import experiment_label, fmt, storage_heading
from alfred.results.scoring import SearchScores, band_name, compute_search_scores
from alfred.results.settings import ResultsSettings
from alfred.utils.config import read_json_or_empty
from alfred.utils.misc import AlfredError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["draw_retrain_figure", "retrain_confidence", "search_estimate"]

_SKIP = ("seed", "desc")


def _first_config(experiment_dir: Path) -> dict:
    """The full config.json of an experiment's first seed (a budget multiplied for the retrain,
    n_steps say, is in no config_unique of the search), without seed and desc."""
    for _, seed_dir in list_seed_dirs(experiment_dir) if experiment_dir.is_dir() else []:
        config = read_json_or_empty(SeedDir(seed_dir).config_path)
        if config:
            return {k: v for k, v in config.items() if k not in _SKIP}
    return {}


def search_estimate(retrain_dir: Path, settings: ResultsSettings, *, n_resamples: int, seed: int,
                    retrain_config: dict) -> dict | None:
    """The search's estimate of the experiment a retrain runs again, or None when the retrain does
    not say which search it retrains (made by an earlier alfred).

    Returns ``{"storage", "experiment", "score", "lower", "upper", "n_seeds", "n_experiments",
    "all_seeds_equal", "changed": {key: [search value, retrain value]}, "source"}``; the
    numbers are None when the search or that experiment cannot be read (``source`` says why).
    """
    info = read_json_or_empty(StorageDir(retrain_dir).prepare_info)
    name, experiment = info.get("retrain_of"), info.get("best_experiment")
    if not name or not isinstance(experiment, int):
        return None
    source = Path(retrain_dir).parent / name
    out = {"storage": name, "experiment": experiment, "score": None, "lower": None, "upper": None, "n_seeds": None,
           "n_experiments": None, "all_seeds_equal": False, "changed": {}, "source": ""}
    searched = _first_config(StorageDir(source).experiment_dir(experiment))
    out["changed"] = {k: [searched.get(k), v] for k, v in retrain_config.items()
                      if k not in _SKIP and k in searched and searched[k] != v}
    summary = read_json_or_empty(StorageDir(source).summary_files.json) or None if source.is_dir() else None
    row = next((r for r in (summary or {}).get("ranking") or () if r.get("experiment") == experiment), None)
    if summary is not None and row is not None and summary.get("settings") == settings.to_dict():
        out.update({k: row.get(k) for k in ("score", "lower", "upper", "n_seeds")},
                   all_seeds_equal=bool(row.get("all_seeds_equal")), n_experiments=len(summary["ranking"]),
                   source=f"its summary ({summary.get('created', 'undated')})")
        return out
    if not source.is_dir():
        out["source"] = f"{name} is not in {source.parent}"
        return out
    try:
        scores = compute_search_scores(source, settings, n_resamples=n_resamples, seed=seed, experiments={experiment})
    except AlfredError as e:
        out["source"] = f"not scored: {e}"
        return out
    i = scores.experiments.index(experiment)
    out.update(score=float(scores.point[i]), lower=float(scores.lower[i]), upper=float(scores.upper[i]),
               n_seeds=scores.n_seeds(experiment), all_seeds_equal=scores.all_equal(experiment),
               source="computed with this summary's settings")
    return out


def _estimate_text(score, lower, upper, n_seeds, all_equal: bool) -> str:
    if score is None:
        return "not known"
    seeds = f"{n_seeds} seed{'s' if n_seeds != 1 else ''}"
    if not n_seeds or n_seeds < 2:
        return f"{fmt(score)} ({seeds}, no interval)"
    if all_equal:
        return f"{fmt(score)} (all {seeds} equal)"
    return f"{fmt(score)} [{fmt(lower)}, {fmt(upper)}] ({seeds})"


def retrain_confidence(scores: SearchScores, retrain: dict | None) -> tuple[str, str]:
    """(the summary's confidence line, what to do next) of a retrain: both estimates side by side."""
    b = scores.experiments.index(scores.best)
    mine = _estimate_text(float(scores.point[b]), float(scores.lower[b]), float(scores.upper[b]),
                          scores.n_seeds(scores.best), scores.all_equal(scores.best))
    if retrain is None:
        return (f"retrain: {mine}; the search it retrains is not recorded",
                "report this estimate; compare retrains of several searches with --benchmark_type compare_models")
    theirs = _estimate_text(retrain["score"], retrain["lower"], retrain["upper"], retrain["n_seeds"],
                            retrain["all_seeds_equal"])
    line = f"retrain: search exp{retrain['experiment']} {theirs} → retrain {mine}"
    todo = (f"report the retrain's {fmt(scores.point[b])}, not the search's: the search's best is partly its "
            "luckiest experiment (the winner's curse); compare retrains of several searches with --benchmark_type "
            "compare_models")
    if retrain["score"] is not None and np.isfinite(scores.point[b]):
        gap = float(scores.point[b]) - float(retrain["score"])
        worse = gap > 0 if scores.settings.lower_is_better else gap < 0
        line += (f": {fmt(abs(gap))} {'worse' if worse else 'better'} than the search's estimate" if gap
                 else ": the same as the search's estimate")
        if retrain["changed"]:
            line += " (with " + ", ".join(f"{k} {json.dumps(a)} -> {json.dumps(b)}"
                                          for k, (a, b) in retrain["changed"].items()) + ")"
    elif retrain["source"]:
        line += f" (the search's estimate: {retrain['source']})"
    return line, todo


def draw_retrain_figure(scores: SearchScores, retrain: dict | None, *, n_resamples: int | None = None) -> Figure:
    """Two rows on one axis: the search's estimate of the experiment (its seeds, the best of
    the search) and the retrain's (its seeds drawn as dots), titled with the configuration."""
    from alfred.utils import plots

    s = scores.settings
    b = scores.experiments.index(scores.best)
    n = scores.n_seeds(scores.best)
    varied = [k for k in scores.configs[scores.best] if k not in ("alg_name", "task_name", "desc", "seed")]
    config = experiment_label(scores.best, scores.configs[scores.best], varied, max_len=1000).split(": ", 1)[-1]
    mine = f"retrain (n={n})"
    labels, points, lowers, uppers, categories = [mine], [scores.point[b]], [scores.lower[b]], [scores.upper[b]], {}
    notes = {mine: f"all {n} seeds equal"} if scores.all_equal(scores.best) else {}
    if retrain is not None and retrain["score"] is not None:
        theirs = f"search: exp{retrain['experiment']} (n={retrain['n_seeds']})"
        labels.insert(0, theirs)
        points.insert(0, retrain["score"])
        lowers.insert(0, retrain["lower"] if retrain["n_seeds"] and retrain["n_seeds"] > 1 else np.nan)
        uppers.insert(0, retrain["upper"] if retrain["n_seeds"] and retrain["n_seeds"] > 1 else np.nan)
        categories = {theirs: "search's estimate (the best of its search)", mine: "retrain"}
        if retrain["all_seeds_equal"]:
            notes[theirs] = f"all {retrain['n_seeds']} seeds equal"
    ax = plots.draw_ranked_intervals(
        scores=np.array(points, dtype=float), labels=labels, lowers=np.array(lowers, dtype=float),
        uppers=np.array(uppers, dtype=float), sort="none", categories=categories or None,
        xlabel=f"{s.performance_aggregation} {s.perf_metric} per seed: "
               f"{band_name(s.y_error_bars, scores.n_resamples or n_resamples)}",
        points={mine: list(scores.seed_scores[scores.best].values())}, value_notes=notes, max_label_len=60)
    heading, small = storage_heading(scores.storage_dir)
    what = (f"retrain of {experiment_dir_name(retrain['experiment'])} of {retrain['storage']}" if retrain
            else "retrain (its search is not recorded)")
    changed = "; changed: " + ", ".join(f"{k} {json.dumps(a)} → {json.dumps(c)}" for k, (a, c) in
                                         retrain["changed"].items()) if retrain and retrain["changed"] else ""
    direction = "lower" if s.lower_is_better else "higher"
    plots.head_figure(ax.figure, heading, small=small,
                      subtitle=f"{what}; {direction} is better\n{config}{changed}")
    return ax.figure
