"""Comparisons of several storage dirs (``benchmark --benchmark_type``).

    compare_searches   one figure: the distribution of every search's experiment scores
                       (vertical densities + box plots)
    compare_models     learning curves of each storage dir's best experiment, one panel per
                       task, with intervals

Each writes its figure and a JSON of the numbers into a folder (see
alfred.utils.directory_tree.comparison_dir); the JSON is moved in last, so its presence
means the comparison is complete.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from alfred.results.labels import alg_of, storage_label, task_of
from alfred.results.scoring import band_name, compute_search_scores, curve_bands
from alfred.results.settings import resolve_settings
from alfred.results.summary import move_files_into
from alfred.utils.layout import StorageDir, comparison_figure, comparison_record, experiment_dir_name
from alfred.utils.misc import AlfredError, temp_sibling

__all__ = ["compare_searches", "compare_models", "compared_storage_names"]

RANKING_RESAMPLES = 1000  # compare_searches shows only the experiments' point estimates: no interval to label


def _write_into(out_dir: Path, write) -> None:
    """Build the comparison in a temporary folder beside ``out_dir``, then move its files in."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(out_dir)
    tmp.mkdir()
    try:
        write(tmp)
        move_files_into(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def compare_searches(storage_dirs: list[Path], out_dir: Path, overrides: dict | None = None, *,
                     n_resamples: int = 10_000, seed: int = 0) -> dict:
    """One figure: per search, the distribution of its experiments' scores (violin + box)."""
    from alfred.utils import plots

    distributions, data = {}, {}
    settings = None
    for d in storage_dirs:
        StorageDir(d).require_kind()
        settings = resolve_settings(d, overrides)
        s = compute_search_scores(d, settings, n_resamples=min(n_resamples, RANKING_RESAMPLES), seed=seed)
        label = storage_label(d)
        if label in distributions:
            label = Path(d).name
        distributions[label] = s.point
        data[Path(d).name] = {experiment_dir_name(e): float(p) for e, p in zip(s.experiments, s.point)}

    def write(tmp: Path) -> None:
        ax = plots.draw_densities(
            distributions=distributions,
            ylabel=f"{settings.performance_aggregation} {settings.perf_metric} (mean over seeds)",
            title=f"{len(distributions)} search(es): one point per experiment")
        plots.save_fig(ax.figure, comparison_figure(tmp, "compare_searches", settings.perf_metric))
        record = {"settings": settings.to_dict(), "scores": data}
        comparison_record(tmp, "compare_searches").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    _write_into(out_dir, write)
    return data


def compare_models(storage_dirs: list[Path], out_dir: Path, overrides: dict | None = None, *,
                   n_resamples: int = 10_000, seed: int = 0) -> dict:
    """Learning curves of each storage dir's best experiment, one panel per task, with intervals."""
    from alfred.utils import plots

    by_task: dict[str, list] = {}
    result = {}
    settings = None
    curve_resamples = n_resamples  # the count the labels state, as everywhere
    for d in storage_dirs:
        StorageDir(d).require_kind()
        settings = resolve_settings(d, overrides)
        s = compute_search_scores(d, settings, n_resamples=n_resamples, seed=seed)  # its interval is recorded
        (band,) = curve_bands(d, settings, [s.best], n_resamples=curve_resamples, seed=seed)
        task = task_of(d, s.configs)
        b = s.experiments.index(s.best)
        label = f"{alg_of(d)} ({storage_label(d).split()[0]}, n={band.n_seeds})"
        by_task.setdefault(task, []).append((label, band))
        result[Path(d).name] = {"task": task, "best_experiment": s.best, "score": float(s.point[b]),
                                "interval": [float(s.lower[b]), float(s.upper[b])], "n_seeds": band.n_seeds}
    tasks = sorted(by_task)
    n_cols = min(3, len(tasks))
    n_rows = math.ceil(len(tasks) / n_cols)
    if n_rows * n_cols > plots.MAX_PANELS:
        raise AlfredError(f"{len(tasks)} tasks: at most {plots.MAX_PANELS} panels fit one figure")

    def write(tmp: Path) -> None:
        fig, axes = plots.new_figure(n_rows, n_cols, panel_size=(5.0, 3.6))
        with_bands = settings.y_error_bars != "none"
        for ax, task in zip(axes.ravel(), tasks):
            rows = by_task[task]
            plots.draw_curves(ax, [b.x for _, b in rows], [b.point for _, b in rows],
                              lowers=[b.lower for _, b in rows] if with_bands else None,
                              uppers=[b.upper for _, b in rows] if with_bands else None,
                              labels=[label for label, _ in rows],
                              xlabel=settings.x_metric or "entry index", ylabel=settings.y_metric, title=task)
        for ax in axes.ravel()[len(tasks):]:
            ax.set_visible(False)
        fig.suptitle(f"{settings.y_metric}: {band_name(settings.y_error_bars, curve_resamples)} over seeds")
        plots.save_fig(fig, comparison_figure(tmp, "compare_models", settings.y_metric))
        record = {"settings": settings.to_dict(), "models": result}
        comparison_record(tmp, "compare_models").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    _write_into(out_dir, write)
    return result


def compared_storage_names(record: Path) -> set[str] | None:
    """The storage names a comparison's record (``comparison_record``) covers; None if unreadable."""
    from alfred.utils.config import read_json_or_empty

    data = read_json_or_empty(record)
    covered = data.get("scores", data.get("models"))
    return set(covered) if isinstance(covered, dict) else None
