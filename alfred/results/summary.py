"""A search's summary: ``<storage_dir>/summary/``, written whole or not at all.

Learning curves (mean and interval per experiment, the top ones coloured), a bar chart of
the experiments' performance (best first, with intervals), a sensitivity figure, every
seed's score (CSV and JSON), bestConfig_exp<N>.json (the best experiment's config_unique
without its seed) and summary.txt / summary.json saying how sure the choice is: which
experiments' intervals overlap the best one's.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np

from alfred.results import figures
from alfred.results.scoring import SearchScores, band_name, compute_search_scores, curve_bands
from alfred.results.settings import resolve_settings
from alfred.utils.layout import StorageDir, SummaryFiles, experiment_dir_name, seed_dir_name
from alfred.utils.misc import AlfredError, temp_sibling

__all__ = ["summarize_search", "read_summary", "swap_dir", "move_files_into", "clear_dir", "TOP_K_CURVES",
           "CURVE_RESAMPLES"]

TOP_K_CURVES = 10
CURVE_RESAMPLES = 2000  # a curve's interval is bootstrapped at every x: fewer resamples than a score's


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
        "interval": band_name(s.y_error_bars, n_resamples), "n_resamples": n_resamples, "seed": seed,
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
        lines.append("overlapping: " + ", ".join(experiment_dir_name(e) for e in d["overlapping_experiments"][:50])
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
    files = SummaryFiles(folder)
    files.seed_scores_csv.write_text(buf.getvalue(), encoding="utf-8")
    data = {experiment_dir_name(e): {seed_dir_name(sd): (v if math.isfinite(v) else None)
                                     for sd, v in scores.seed_scores[e].items()}
            for e in scores.experiments}
    files.seed_scores_json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

def read_summary(storage_dir: str | os.PathLike) -> dict | None:
    """The summary.json of a storage dir, or None when it has none."""
    path = StorageDir(storage_dir).summary_files.json
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


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
    storage = StorageDir(storage_dir)
    storage.require_kind()
    final = storage.summary_dir
    if not re_run_if_exists and storage.summary_files.json.is_file():
        return read_summary(storage.path)
    if n_resamples < 1:
        raise AlfredError(f"--n_resamples must be >= 1, got {n_resamples}")
    settings = resolve_settings(storage.path, dict(
        x_metric=x_metric, y_metric=y_metric, performance_metric=performance_metric,
        performance_aggregation=performance_aggregation, y_error_bars=y_error_bars, lower_is_better=lower_is_better,
        recorder_name=recorder_name))
    scores = compute_search_scores(storage.path, settings, n_resamples=n_resamples, seed=seed)
    top = [scores.experiments[i] for i in scores.order[:top_k] if np.isfinite(scores.point[i])]
    curve_resamples = min(n_resamples, CURVE_RESAMPLES)
    bands = curve_bands(storage.path, settings, top, n_resamples=curve_resamples, seed=seed)
    tmp = temp_sibling(final)
    tmp.mkdir()
    files = SummaryFiles(tmp)
    try:
        summary = _summary_dict(scores, n_resamples, seed)
        _write_scores(tmp, scores)
        files.best_config(scores.best).write_text(json.dumps(scores.configs[scores.best], indent=2) + "\n",
                                                  encoding="utf-8")
        figures.curve_figure(scores, bands, files.learning_curves(settings.y_metric), n_resamples=curve_resamples)
        figures.bar_figure(scores, files.performance(settings.perf_metric), n_resamples=n_resamples)
        summary["figures"] = sorted(p.name for p in tmp.glob("*.png"))
        if figures.sensitivity_figure(scores, files.sensitivity(settings.perf_metric), n_resamples=n_resamples):
            summary["figures"].append(files.sensitivity(settings.perf_metric).name + ".png")
        files.text.write_text(_summary_text(summary, scores), encoding="utf-8")
        files.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")  # written last
        swap_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def move_files_into(tmp: Path, out_dir: Path) -> None:
    """Move each file of the finished ``tmp`` folder into ``out_dir`` (rename: each appears whole)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in tmp.iterdir())
    names.sort(key=lambda n: n.endswith(".json"))  # the .json that marks a comparison complete goes last
    for name in names:
        os.replace(tmp / name, out_dir / name)
    tmp.rmdir()


def swap_dir(tmp: Path, final: Path) -> None:
    """Put the finished ``tmp`` folder in place of ``final`` (the old one, if any, goes away)."""
    old = None
    if final.exists():
        old = temp_sibling(final, "old")
        try:
            os.rename(final, old)
        except FileNotFoundError:
            old = None
    os.rename(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def clear_dir(folder: Path) -> None:
    """Remove a folder (e.g. a summary left by a failed run) so it cannot pass for a current one:
    renamed away first, so no reader sees it half-deleted."""
    if folder.exists():
        old = temp_sibling(folder, "old")
        try:
            os.rename(folder, old)
            shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:
            pass
