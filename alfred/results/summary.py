"""A search's summary: ``<storage_dir>/summary/``, written whole or not at all.

Learning curves (mean and interval per experiment, the top ones coloured), a bar chart of
the experiments' performance (best first, with intervals), a sensitivity figure, every
seed's score (CSV and JSON), bestConfig_exp<N>.json (the best experiment's config_unique
without its seed) and summary.txt / summary.json saying how sure the choice is: which
experiments' intervals overlap the best one's, which have one seed (no interval: "cannot
tell: n=1"), P(best) of the top experiments, and what to do next. Every bootstrap
(intervals, P(best), curve bands) uses the same number of resamples, which the labels state.
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

from alfred.protocol.fsio import MAX_JSON_BYTES, read_regular
from alfred.protocol.layout import (
    SUMMARY_COMPLETED,
    SUMMARY_FAILED,
    StorageDir,
    SummaryFiles,
    experiment_dir_name,
    seed_dir_name,
)
from alfred.results import figures
from alfred.results.scoring import SearchScores, band_name, compute_search_scores, curve_bands
from alfred.results.settings import ResultsSettings, resolve_settings
from alfred.utils.misc import AlfredError, atomic_write_text, temp_sibling
from alfred.utils.stats import DEFAULT_N_RESAMPLES

__all__ = ["summarize_search", "read_summary", "seeds_counted", "summary_notes", "swap_dir", "move_files_into",
           "clear_dir", "TOP_K_CURVES", "P_BEST_MEANING"]

TOP_K_CURVES = 10
P_BEST_TOP = 5  # experiments listed by P(best)
P_BEST_CONTENDER = 0.01  # P(best) from which an experiment is worth more seeds
P_BEST_MEANING = ("P(best) = share of the bootstrap resamples of the seeds (each experiment resampled on its "
                  "own) in which an experiment has the best mean: how stable first place is under seed-to-seed "
                  "noise. It is not the probability that it is truly the best configuration: it takes the "
                  "observed seeds as the whole truth and does not correct for the luck of the best of many.")


def _fmt(v: float | None) -> str:
    return "nan" if v is None or not np.isfinite(v) else f"{v:.4g}"


def _share(p: float | None) -> str:
    return "undefined" if p is None or not np.isfinite(p) else f"{p:.3f}"


def _names(experiments: list[int], k: int = 10) -> str:
    more = f" and {len(experiments) - k} more" if len(experiments) > k else ""
    return ", ".join(experiment_dir_name(e) for e in experiments[:k]) + more


def _confidence(scores: SearchScores, overlap: list[int], single: list[int]) -> tuple[str, str]:
    """(confidence line, what to do next) of a summary."""
    s = scores.settings
    b = int(scores.order[0])
    n_other = int(np.isfinite(scores.point).sum()) - 1
    uncomparable = [e for e in single if e != scores.best]
    aside = (f"; {len(uncomparable)} experiment(s) with one seed cannot be compared (cannot tell: n=1)"
             if uncomparable else "")
    by_p_best = np.argsort(-np.nan_to_num(scores.p_best, nan=-1.0), kind="stable")
    contenders = [scores.experiments[i] for i in by_p_best if scores.p_best[i] >= P_BEST_CONTENDER]
    if s.y_error_bars == "none":
        return "unknown: no intervals (--y_error_bars none)", "choose y_error_bars to see how sure the choice is"
    if scores.n_seeds(scores.best) < 2:
        return (f"cannot tell: n=1: the best, {experiment_dir_name(scores.best)}, has a single scored seed, so "
                "nothing says how far another seed would move its score" + aside,
                "run at least 2 (better 5 or more) seeds of the top experiments before trusting the choice")
    if overlap:
        line = (f"low: {len(overlap)} of {n_other} other experiment(s) cannot be told apart from the best: their "
                f"95% intervals overlap its interval [{_fmt(scores.lower[b])}, {_fmt(scores.upper[b])}]" + aside)
        if len(contenders) > 1:
            todo = (f"run more seeds of the {len(contenders)} experiment(s) with P(best) >= {P_BEST_CONTENDER:.0%} "
                    f"({_names(contenders)}) to separate them")
        else:
            top = [scores.best, *overlap]
            todo = (f"run more seeds of the best and the experiments overlapping it ({_names(top)}) "
                    "to separate them")
        return line, todo
    return ("high: no other experiment's interval overlaps the best one's" + aside,
            "retrain the best on more seeds to confirm it (python -m alfred.create_retrainbest)")


def _summary_dict(scores: SearchScores, n_resamples: int, seed: int) -> dict:
    s = scores.settings
    b = scores.experiments.index(scores.best)
    overlap = scores.overlapping()
    single = scores.single_seed()
    confidence, next_step = _confidence(scores, overlap, single)
    p_best = float(scores.p_best[b]) if np.isfinite(scores.p_best[b]) else None
    return {
        "storage_dir": str(scores.storage_dir), "settings": s.to_dict(),
        "direction_note": s.direction_note or None,
        "interval": band_name(s.y_error_bars, n_resamples), "n_resamples": n_resamples, "seed": seed,
        "best_experiment": scores.best, "best_config": scores.configs[scores.best],
        "best_score": float(scores.point[b]), "best_interval": [float(scores.lower[b]), float(scores.upper[b])],
        "overlapping_experiments": overlap, "single_seed_experiments": single, "confidence": confidence,
        "p_best": p_best,
        "p_best_top": [{"experiment": e, "p_best": p} for e, p in scores.p_best_top(P_BEST_TOP)],
        "p_best_note": scores.p_best_note or (
            "cannot tell: n=1, the best has a single seed" if p_best is None else None),
        "next_step": next_step,
        "ranking": [{"experiment": scores.experiments[i], "score": float(scores.point[i]),
                     "lower": float(scores.lower[i]), "upper": float(scores.upper[i]),
                     "n_seeds": scores.n_seeds(scores.experiments[i]),
                     "p_best": float(scores.p_best[i]) if np.isfinite(scores.p_best[i]) else None}
                    for i in scores.order],
        "load_report": scores.report.to_dict(),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _summary_text(d: dict, scores: SearchScores) -> str:
    s = scores.settings
    first = f"summary of {scores.storage_dir.name}"
    lines = [first + (f" -- {s.direction_note}" if s.direction_note else ""),
             f"performance: {s.performance_aggregation} of {s.perf_metric} per seed "
             f"({'lower' if s.lower_is_better else 'higher'} is better), {d['interval']} over seeds",
             f"best: experiment{d['best_experiment']} with {_fmt(d['best_score'])} "
             + ("(cannot tell: n=1)" if scores.n_seeds(scores.best) < 2
                else f"[{_fmt(d['best_interval'][0])}, {_fmt(d['best_interval'][1])}]"),
             f"config: {json.dumps(d['best_config'], sort_keys=True)}",
             f"confidence: {d['confidence']}"]
    if d["p_best_top"]:
        best = experiment_dir_name(d["best_experiment"])
        head = f"{_share(d['p_best'])} for {best}" if d["p_best"] is not None else \
            f"undefined for {best} ({d['p_best_note']}); among experiments with 2 or more seeds"
        top = ", ".join(f"{experiment_dir_name(t['experiment'])} {_share(t['p_best'])}" for t in d["p_best_top"])
        n_contenders = int(np.sum(scores.p_best >= P_BEST_CONTENDER))
        lines.append(f"P(best): {head} over {d['n_resamples']} resamples; top {len(d['p_best_top'])}: {top}; "
                     f"{n_contenders} experiment(s) have P(best) >= {P_BEST_CONTENDER:.0%}")
    else:
        lines.append(f"P(best): {d['p_best_note']}")
    lines.append(f"next: {d['next_step']}")
    if d["overlapping_experiments"]:
        lines.append("overlapping: " + ", ".join(experiment_dir_name(e) for e in d["overlapping_experiments"][:50])
                     + (" ..." if len(d["overlapping_experiments"]) > 50 else ""))
    lines.append(f"({P_BEST_MEANING})")
    lines.append("")
    lines.append(f"{'rank':>4}  {'experiment':>10}  {'score':>10}  {'lower':>10}  {'upper':>10}  {'seeds':>5}  "
                 f"{'P(best)':>9}")
    for r, row in enumerate(d["ranking"][:30], start=1):
        bounds = f"{'cannot tell: n=1':>22}" if row["n_seeds"] < 2 else \
            f"{_fmt(row['lower']):>10}  {_fmt(row['upper']):>10}"
        lines.append(f"{r:>4}  {row['experiment']:>10}  {_fmt(row['score']):>10}  {bounds}  {row['n_seeds']:>5}  "
                     f"{_share(row['p_best']):>9}")
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
    try:
        return json.loads(read_regular(path, max_bytes=MAX_JSON_BYTES))  # no link, FIFO or device
    except FileNotFoundError:
        return None


def summary_notes(summary: dict) -> list[str]:
    """What a script should print under a summary's headline: how the direction was decided
    (when it was not set) and the seeds that could not be read (e.g. a refused pickle)."""
    notes = [summary["direction_note"]] if summary.get("direction_note") else []
    unreadable = (summary.get("load_report") or {}).get("unreadable") or []
    if unreadable:
        more = f" (and {len(unreadable) - 1} more in summary.txt)" if len(unreadable) > 1 else ""
        notes.append(f"{len(unreadable)} seed(s) unreadable, left out: {unreadable[0]}{more}")
    return notes


def seeds_counted(summary: dict) -> int | None:
    """How many seeds were COMPLETED when ``summary`` was made (from its load report), or None."""
    load = summary.get("load_report") or {}
    counts = [load.get(k) for k in ("n_seeds", "crashed", "unfinished")]
    if not isinstance(counts[0], int) or not all(isinstance(v, list) for v in counts[1:]):
        return None
    return counts[0] - len(counts[1]) - len(counts[2])


def _record_success(storage: StorageDir, summary: dict) -> None:
    """A summary made outside the automatic one (e.g. ``alfred.benchmark`` by hand) replaces any
    failure recorded before: SUMMARY_COMPLETED says which completed seeds it counted (so the
    automatic summary does not redo it for them), and SUMMARY_FAILED goes, after."""
    info = {"n_completed": seeds_counted(summary), "best_experiment": summary["best_experiment"],
            "end_time": summary["created"], "made_by": "summarize_search"}
    atomic_write_text(storage.flag(SUMMARY_COMPLETED), json.dumps(info, indent=1) + "\n")
    try:
        os.unlink(storage.flag(SUMMARY_FAILED))
    except FileNotFoundError:
        pass


def summarize_search(storage_dir: str | os.PathLike, *, x_metric: str | None = None, y_metric: str | None = None,
                     performance_metric: str | None = None, performance_aggregation: str | None = None,
                     y_error_bars: str | None = None, lower_is_better: bool | None = None,
                     recorder_name: str | None = None, n_resamples: int = DEFAULT_N_RESAMPLES, seed: int = 0,
                     re_run_if_exists: bool = True, top_k: int = TOP_K_CURVES,
                     settings: ResultsSettings | None = None, record_flags: bool = True) -> dict:
    """Write ``<storage_dir>/summary/`` (see the module doc) and return the summary dict.

    The folder is built under a temporary name and swapped in by one rename, so a failed
    summary leaves no folder that looks complete. Arguments left None come from the
    storage dir's RESULTS defaults; ``settings`` (already resolved) replaces them all.
    With ``re_run_if_exists=False`` an existing summary is returned as it is. Every
    bootstrap (scores, P(best), learning-curve bands) uses ``n_resamples``. With
    ``record_flags``, a success leaves SUMMARY_COMPLETED and removes SUMMARY_FAILED (the
    automatic summary records them itself, under its lock).
    """
    storage = StorageDir(storage_dir)
    storage.require_kind()
    final = storage.summary_dir
    if not re_run_if_exists and storage.summary_files.json.is_file():
        return read_summary(storage.path)
    if n_resamples < 1:
        raise AlfredError(f"--n_resamples must be >= 1, got {n_resamples}")
    if settings is None:
        settings = resolve_settings(storage.path, dict(
            x_metric=x_metric, y_metric=y_metric, performance_metric=performance_metric,
            performance_aggregation=performance_aggregation, y_error_bars=y_error_bars,
            lower_is_better=lower_is_better, recorder_name=recorder_name))
    scores = compute_search_scores(storage.path, settings, n_resamples=n_resamples, seed=seed)
    top = [scores.experiments[i] for i in scores.order[:top_k] if np.isfinite(scores.point[i])]
    bands = curve_bands(storage.path, settings, top, n_resamples=n_resamples, seed=seed)
    tmp = temp_sibling(final)
    tmp.mkdir()
    files = SummaryFiles(tmp)
    try:
        summary = _summary_dict(scores, n_resamples, seed)
        _write_scores(tmp, scores)
        files.best_config(scores.best).write_text(json.dumps(scores.configs[scores.best], indent=2) + "\n",
                                                  encoding="utf-8")
        figures.curve_figure(scores, bands, files.learning_curves(settings.y_metric), n_resamples=n_resamples)
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
    if record_flags:
        _record_success(storage, summary)
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
