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
import functools
import io
import json
import math
import os
import shutil
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
from alfred.results.parallel import fork_map
from alfred.results.scoring import CurveBand, SearchScores, compute_search_scores, curve_bands
from alfred.results.settings import ResultsSettings, resolve_settings
from alfred.results.summary_text import P_BEST_MEANING, summary_dict, summary_headline, summary_notes, summary_text
from alfred.utils.misc import AlfredError, atomic_write_text, temp_sibling
from alfred.utils.stats import DEFAULT_N_RESAMPLES

__all__ = ["summarize_search", "read_summary", "seeds_counted", "summary_headline", "summary_notes", "swap_dir",
           "move_files_into", "clear_dir", "TOP_K_CURVES", "P_BEST_MEANING"]

TOP_K_CURVES = 10


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
                     settings: ResultsSettings | None = None, record_flags: bool = True,
                     style: str | None = None, figure_formats: str | list[str] | None = None) -> dict:
    """Write ``<storage_dir>/summary/`` (see the module doc) and return the summary dict.

    The folder is built under a temporary name and swapped in by one rename, so a failed
    summary leaves no folder that looks complete. Arguments left None come from the
    storage dir's RESULTS defaults; ``settings`` (already resolved) replaces them all.
    With ``re_run_if_exists=False`` an existing summary is returned as it is. Every
    bootstrap (scores, P(best), learning-curve bands) uses ``n_resamples``. With
    ``record_flags``, a success leaves SUMMARY_COMPLETED and removes SUMMARY_FAILED (the
    automatic summary records them itself, under its lock). The figures are drawn in
    ``style`` (``screen``, ``paper``, ``paper_column``; None: the current one), as PNG plus
    the style's formats and ``figure_formats`` (e.g. ``"pdf"``), in parallel processes where
    the machine has several cores (alfred.results.parallel); an existing summary is redone
    when it was drawn in another style or without a format asked for.
    """
    from alfred.utils import plots

    storage = StorageDir(storage_dir)
    storage.require_kind()
    final = storage.summary_dir
    with plots.use_style(style) as active:
        formats = plots.output_formats(figure_formats)
    if not re_run_if_exists and storage.summary_files.json.is_file():
        existing = read_summary(storage.path)
        made = (existing.get("figure_style") or "screen", set(existing.get("figure_formats") or ("png", "pdf")))
        if (style is None and figure_formats is None) or (made[0] == active.name and set(formats) <= made[1]):
            return existing
    if n_resamples < 1:
        raise AlfredError(f"--n_resamples must be >= 1, got {n_resamples}")
    if settings is None:
        settings = resolve_settings(storage.path, dict(
            x_metric=x_metric, y_metric=y_metric, performance_metric=performance_metric,
            performance_aggregation=performance_aggregation, y_error_bars=y_error_bars,
            lower_is_better=lower_is_better, recorder_name=recorder_name))
    scores = compute_search_scores(storage.path, settings, n_resamples=n_resamples, seed=seed,
                                   meanwhile=_import_pyplot)  # imported while the recorders are read
    top = [scores.experiments[i] for i in scores.order[:top_k] if np.isfinite(scores.point[i])]
    # Intervals only for the curves drawn with one (figures.BANDS_SHOWN); the others are their
    # mean curves, already computed.
    bands = curve_bands(storage.path, settings, top[:figures.BANDS_SHOWN], n_resamples=n_resamples, seed=seed)
    for e in top[figures.BANDS_SHOWN:]:
        x, mean = scores.mean_curves[e]
        bands.append(CurveBand(e, x, mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan),
                               len(scores.seed_scores[e])))
    retrain = None
    if storage.kind() == "retrain":
        from alfred.results.retrain_view import search_estimate

        retrain = search_estimate(storage.path, settings, n_resamples=n_resamples, seed=seed,
                                  retrain_config=scores.configs[scores.best])
    tmp = temp_sibling(final)
    tmp.mkdir()
    files = SummaryFiles(tmp)
    try:
        is_retrain = storage.kind() == "retrain"
        summary = summary_dict(scores, n_resamples, seed, is_retrain=is_retrain, retrain_of=retrain)
        _write_scores(tmp, scores)
        files.best_config(scores.best).write_text(json.dumps(scores.configs[scores.best], indent=2) + "\n",
                                                  encoding="utf-8")
        _import_pyplot()  # once, before the drawing processes fork (done already, while reading)
        with plots.use_style(active):
            drawn = fork_map([  # one figure per process: matplotlib draws on one core
                functools.partial(figures.curve_figure, scores, bands, files.learning_curves(settings.y_metric),
                                  n_resamples=n_resamples, formats=formats),
                functools.partial(figures.bar_figure, scores, files.performance(settings.perf_metric),
                                  n_resamples=n_resamples, retrain_of=retrain, is_retrain=is_retrain, formats=formats),
                functools.partial(figures.sensitivity_figure, scores, files.sensitivity(settings.perf_metric),
                                  n_resamples=n_resamples, formats=formats)])
        summary["figures"] = [files.learning_curves(settings.y_metric).name + ".png",
                              files.performance(settings.perf_metric).name + ".png"]
        if drawn[2]:
            summary["figures"].append(files.sensitivity(settings.perf_metric).name + ".png")
        summary["figures"].sort()
        summary.update(figure_style=active.name, figure_formats=list(formats))
        files.text.write_text(summary_text(summary, scores), encoding="utf-8")
        _write_rungs(tmp, storage.path)
        files.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")  # written last
        swap_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if record_flags:
        _record_success(storage, summary)
    return summary


def _write_rungs(out_dir: Path, storage_dir: Path) -> None:
    """``rungs.txt`` of an adaptive search: its budget spent and rungs table, as status shows them."""
    from alfred.protocol.listing import list_experiment_dirs
    from alfred.search.rung_view import RUNGS_TABLE_FILE
    from alfred.search.status import adaptive_status, format_adaptive

    adaptive = adaptive_status(storage_dir, n_experiments=len(list_experiment_dirs(storage_dir)))
    if adaptive is not None:
        (out_dir / RUNGS_TABLE_FILE).write_text("\n".join(format_adaptive(adaptive)) + "\n", encoding="utf-8")


def _import_pyplot() -> None:
    import matplotlib.pyplot  # noqa: F401  (the drawing processes inherit it, and its font list)


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
