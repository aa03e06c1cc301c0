"""Comparisons of several storage dirs (``benchmark --benchmark_type``).

    compare_searches   one figure: the distribution of every search's experiment scores
                       (violins cut at the data + box plots + the points)
    compare_models     learning curves of each storage dir's best experiment, one panel per
                       task, with intervals; with two or more algorithms, rliable's figures
                       too: aggregate scores over tasks with intervals (IQM, median, mean,
                       optimality gap), performance profiles and the probability of
                       improvement of each algorithm over each other one

Storage dirs are named by what differs between them (alg, task, desc: only the fields
that differ), the fields they share make the title. Each comparison writes its figures and
a JSON of the numbers into a folder (see alfred.protocol.layout.comparison_dir); the JSON is
moved in last, so its presence means the comparison is complete. Everything is computed
here (alfred.results.scoring, alfred.utils.stats) and drawn by alfred.utils.plots.
"""
from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from alfred.protocol.layout import StorageDir, comparison_figure, comparison_record, experiment_dir_name
from alfred.results.labels import SEP, differing_labels, storage_fields
from alfred.results.scoring import compute_search_scores, curve_bands
from alfred.results.settings import ResultsSettings, resolve_settings
from alfred.results.summary import move_files_into
from alfred.utils.misc import AlfredError, temp_sibling

__all__ = ["compare_models", "compare_searches", "compared_storage_names", "model_aggregates", "redo_reason",
           "shared_settings"]

AGGREGATES = ("iqm", "median", "mean", "optimality_gap")
# What must be the same in every compared storage dir for one axis to hold them all, and the
# flag that makes it so. compare_searches draws one score per experiment; compare_models
# draws learning curves too.
_MUST_AGREE = {
    "compare_searches": ("perf_metric", "performance_aggregation", "lower_is_better", "y_error_bars"),
    "compare_models": ("perf_metric", "performance_aggregation", "lower_is_better", "y_error_bars", "y_metric",
                       "x_metric"),
}
_FLAG = {"perf_metric": "--performance_metric NAME", "performance_aggregation": "--performance_aggregation MODE",
         "lower_is_better": "--lower_is_better true|false", "y_error_bars": "--y_error_bars KIND",
         "y_metric": "--y_metric NAME", "x_metric": "--x_metric NAME"}
_WHAT = {"perf_metric": "performance metric", "performance_aggregation": "aggregation",
         "lower_is_better": "direction", "y_error_bars": "interval", "y_metric": "y metric", "x_metric": "x metric"}


def _describe(settings: ResultsSettings) -> str:
    direction = "lower" if settings.lower_is_better else "higher"
    return f"{settings.performance_aggregation} {settings.perf_metric}, {direction} is better"


def shared_settings(storage_dirs: list[Path], overrides: dict | None, kind: str) -> ResultsSettings:
    """The results settings every compared storage dir resolves to (flags, then each one's RESULTS);
    AlfredError in one line naming both values and the flag that unifies them when a metric, its
    aggregation, its direction, the interval (or, for compare_models, the curves' metrics) differ."""
    resolved = []
    for d in storage_dirs:
        StorageDir(d).require_kind()
        resolved.append(resolve_settings(d, overrides))
    first = resolved[0]
    for d, other in zip(storage_dirs[1:], resolved[1:]):
        differ = [k for k in _MUST_AGREE[kind] if getattr(other, k) != getattr(first, k)]
        if not differ:
            continue
        if "perf_metric" in differ and "lower_is_better" in differ and not (overrides or {}).get("lower_is_better"):
            differ.remove("lower_is_better")  # the direction follows the metric: one flag fixes both
        values = "; ".join(f"{_WHAT[k]} {getattr(first, k)!r} vs {getattr(other, k)!r}" for k in differ)
        flags = " and ".join(_FLAG[k] for k in differ)
        raise AlfredError(f"{kind} cannot put {Path(storage_dirs[0]).name} ({_describe(first)}) and "
                          f"{Path(d).name} ({_describe(other)}) on one axis ({values}): pass {flags} to compare "
                          "them on the same terms")
    return first


def _record_terms(kind: str, settings: ResultsSettings, n_resamples: int, seed: int,
                  figures: tuple[str, tuple[str, ...]] = ("screen", ("png",))) -> dict:
    """What a comparison's figures depend on besides the storage dirs (stored in its record):
    the settings, the figures' style and formats, and for compare_models the resampling."""
    terms = {"settings": settings.to_dict(), "figure_style": figures[0], "figure_formats": list(figures[1])}
    if kind == "compare_models":  # compare_searches draws point estimates only: no resampling
        terms.update(n_resamples=n_resamples, seed=seed)
    return terms


def figure_terms(style: str | None, figure_formats: str | list[str] | None) -> tuple[str, tuple[str, ...]]:
    """(style name, file formats) a comparison draws its figures in (alfred.utils.plots.presets)."""
    from alfred.utils.plots import output_formats, use_style

    with use_style(style) as active:
        return active.name, output_formats(figure_formats)


def redo_reason(record: Path, storage_dirs: list[Path], kind: str, settings: ResultsSettings, *,
                n_resamples: int, seed: int, style: str | None = None,
                figure_formats: str | list[str] | None = None) -> str | None:
    """Why the comparison recorded in ``record`` is not the one asked for now (other storage dirs,
    settings, resample count or seed), or None when it is."""
    from alfred.utils.config import read_json_or_empty

    data = read_json_or_empty(record)
    if compared_storage_names(record) != {Path(d).name for d in storage_dirs}:
        return "compares other storage dirs"
    wanted = json.loads(json.dumps(_record_terms(kind, settings, n_resamples, seed,
                                                 figure_terms(style, figure_formats))))
    for key, value in wanted.items():
        if key not in data:
            return f"does not record its {key} (made by an earlier alfred)"
        if key == "settings":
            changed = [f"{k} {data[key].get(k)!r} (now {v!r})" for k, v in value.items() if data[key].get(k) != v]
            if changed:
                return "was made with " + ", ".join(changed)
        elif data[key] != value:
            return f"was made with {key} {data[key]!r} (now {value!r})"
    return None


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


def _heading(shared: str, what: str) -> str:
    return f"{shared}: {what}" if shared else what


def _small(storage_dirs: list[Path]) -> str:
    return ", ".join(Path(d).name for d in storage_dirs)


def compare_searches(storage_dirs: list[Path], out_dir: Path, overrides: dict | None = None, *,
                     n_resamples: int = 10_000, seed: int = 0, style: str | None = None,
                     figure_formats: str | list[str] | None = None) -> dict:
    """One figure: per search, the distribution of its experiments' scores (violin + box + points),
    drawn in ``style`` as PNG plus the style's and ``figure_formats``' formats.

    Only point estimates are drawn (no interval, so no resampling: a bootstrap's settings
    give the mean over seeds directly).
    """
    from alfred.results import comparison_figures

    labels, shared = differing_labels(storage_dirs)
    distributions, data = {}, {}
    settings = shared_settings(storage_dirs, overrides, "compare_searches")
    for d, label in zip(storage_dirs, labels):
        points_only = replace(settings, y_error_bars="none") if settings.y_error_bars == "bootstrapped_CI" \
            else settings  # the same means, without resampling
        s = compute_search_scores(d, points_only, n_resamples=1, seed=seed)
        distributions[label] = s.point
        data[Path(d).name] = {experiment_dir_name(e): float(p) for e, p in zip(s.experiments, s.point)}

    terms = figure_terms(style, figure_formats)

    def write(tmp: Path) -> None:
        from alfred.utils.plots import save_fig, use_style

        with use_style(terms[0]):
            fig = comparison_figures.draw_searches_figure(
                distributions, settings, heading=_heading(shared, f"{len(distributions)} searches compared"),
                small=_small(storage_dirs))
            save_fig(fig, comparison_figure(tmp, "compare_searches", settings.perf_metric), formats=terms[1],
                     tight=False)
        record = {**_record_terms("compare_searches", settings, n_resamples, seed, terms),
                  "labels": dict(zip((Path(d).name for d in storage_dirs), labels)), "scores": data}
        comparison_record(tmp, "compare_searches").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    _write_into(out_dir, write)
    return data


def _algorithm_labels(storage_dirs: list[Path]) -> list[str]:
    """What tells the compared models apart besides the task: alg and desc when they differ;
    prefixed by the storage id when two storage dirs would still share a label on one task."""
    fields = [storage_fields(d) for d in storage_dirs]
    differ = [k for k in ("alg", "desc") if len({f[k] for f in fields}) > 1]
    labels = [SEP.join(f[k] for k in differ) if differ else f["alg"] for f in fields]
    if len({(lab, f["task"]) for lab, f in zip(labels, fields)}) < len(labels):
        labels = [f"{Path(d).name.split('_', 1)[0]}{SEP}{lab}" for d, lab in zip(storage_dirs, labels)]
    return labels


def model_aggregates(runs: dict[str, dict[str, np.ndarray]], *, lower_is_better: bool, n_resamples: int,
                     seed: int) -> dict | None:
    """rliable's numbers for algorithms compared over tasks, from each one's runs per task.

    With several tasks, scores are min-max normalised per task over every run of every
    algorithm on it (0: the worst run seen, 1: the best; flipped when lower is better), so
    that tasks weigh alike; with one task they are used as they are (negated for the
    probability of improvement when lower is better). Only the tasks every algorithm ran
    (with at least one scored run each) are used.

    Args:
        runs: ``{algorithm: {task: (n_runs,) scores}}``, two algorithms or more.
        lower_is_better: the scores' direction.
        n_resamples: bootstrap resamples of every interval.
        seed: the bootstrap's seed.

    Returns:
        None when the algorithms share no such task, else ``{"tasks", "normalised",
        "aggregates": {alg: {name: (point, lower, upper)}}, "taus", "profiles": {alg:
        (profile, lower, upper)}, "improvement": {(x, y): (point, lower, upper)},
        "n_resamples"}``.
    """
    from alfred.utils import stats

    algs = list(runs)
    tasks = sorted(t for t in set.intersection(*(set(runs[a]) for a in algs))
                   if all(np.isfinite(np.asarray(runs[a][t], dtype=float)).any() for a in algs))
    if not tasks:
        return None
    normalised = len(tasks) > 1
    sign = -1.0 if lower_is_better else 1.0
    scores: dict[str, dict[str, np.ndarray]] = {a: {} for a in algs}
    for t in tasks:
        values = {a: np.asarray(runs[a][t], dtype=float) for a in algs}
        if normalised:
            every = np.concatenate(list(values.values()))
            lo, hi = np.nanmin(every), np.nanmax(every)
            span = hi - lo if hi > lo else 1.0
            values = {a: (v - lo) / span if not lower_is_better else (hi - v) / span for a, v in values.items()}
        for a in algs:
            scores[a][t] = values[a]
    names = list(AGGREGATES) if normalised else ["iqm", "median", "mean"]
    aggregates = stats.interval_estimates(scores, names, n_resamples=n_resamples, seed=seed)
    every = np.concatenate([v for a in algs for v in scores[a].values()])
    taus = np.linspace(0.0, 1.0, 101) if normalised else np.linspace(np.nanmin(every), np.nanmax(every), 101)
    profiles = {a: stats.performance_profile_ci(scores[a], taus, n_resamples=n_resamples, seed=seed) for a in algs}
    oriented = scores if normalised or not lower_is_better else \
        {a: {t: sign * v for t, v in by_task.items()} for a, by_task in scores.items()}
    improvement = {(x, y): stats.probability_of_improvement_ci(oriented[x], oriented[y], n_resamples=n_resamples,
                                                               seed=seed)
                   for i, x in enumerate(algs) for y in algs[i + 1:]}
    return {"tasks": tasks, "normalised": normalised, "aggregates": aggregates, "taus": taus, "profiles": profiles,
            "improvement": improvement, "n_resamples": n_resamples}


def compare_models(storage_dirs: list[Path], out_dir: Path, overrides: dict | None = None, *,
                   n_resamples: int = 10_000, seed: int = 0, style: str | None = None,
                   figure_formats: str | list[str] | None = None) -> dict:
    """Learning curves of each storage dir's best experiment, one panel per task, with
    intervals; with two or more algorithms, rliable's aggregate, profile and improvement figures."""
    from alfred.results import comparison_figures

    by_task: dict[str, list] = {}
    result, runs = {}, {}
    settings = shared_settings(storage_dirs, overrides, "compare_models")
    algs = _algorithm_labels(storage_dirs)
    for d, alg in zip(storage_dirs, algs):
        s = compute_search_scores(d, settings, n_resamples=n_resamples, seed=seed)
        (band,) = curve_bands(d, settings, [s.best], n_resamples=n_resamples, seed=seed)
        task = storage_fields(d)["task"]
        b = s.experiments.index(s.best)
        by_task.setdefault(task, []).append((f"{alg} (n={band.n_seeds})", band))
        runs.setdefault(alg, {})[task] = np.array(list(s.seed_scores[s.best].values()), dtype=float)
        result[Path(d).name] = {"task": task, "algorithm": alg, "best_experiment": s.best,
                                "score": float(s.point[b]), "interval": [float(s.lower[b]), float(s.upper[b])],
                                "n_seeds": band.n_seeds}
    tasks = sorted(by_task)
    n_cols = min(3, len(tasks))
    n_rows = math.ceil(len(tasks) / n_cols)
    from alfred.utils.plots import MAX_PANELS

    if n_rows * n_cols > MAX_PANELS:
        raise AlfredError(f"{len(tasks)} tasks: at most {MAX_PANELS} panels fit one figure")
    aggregates = None
    if len(set(algs)) >= 2:
        aggregates = model_aggregates(runs, lower_is_better=settings.lower_is_better, n_resamples=n_resamples,
                                      seed=seed)
    _, shared = differing_labels(storage_dirs)
    terms = figure_terms(style, figure_formats)

    def write(tmp: Path) -> None:
        from alfred.utils.plots import save_fig, use_style

        n_algs = len(set(algs))
        heading = _heading(shared, f"{n_algs} algorithm{'s' if n_algs > 1 else ''} on "
                                   f"{len(tasks)} task{'s' if len(tasks) > 1 else ''}")
        record = {**_record_terms("compare_models", settings, n_resamples, seed, terms), "models": result}
        with use_style(terms[0]):
            fig = comparison_figures.draw_models_figure(by_task, tasks, settings, heading=heading,
                                                        small=_small(storage_dirs), n_resamples=n_resamples)
            save_fig(fig, comparison_figure(tmp, "compare_models", settings.y_metric), formats=terms[1], tight=False)
            if aggregates is not None:
                figs = comparison_figures.draw_aggregate_figures(aggregates, settings, heading=heading,
                                                                 small=_small(storage_dirs))
                for kind, fig in figs.items():
                    save_fig(fig, comparison_figure(tmp, f"compare_models_{kind}", settings.perf_metric),
                             formats=terms[1], tight=False)
                record["aggregates"] = comparison_figures.aggregates_record(aggregates)
        comparison_record(tmp, "compare_models").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    _write_into(out_dir, write)
    return result


def compared_storage_names(record: Path) -> set[str] | None:
    """The storage names a comparison's record (``comparison_record``) covers; None if unreadable."""
    from alfred.utils.config import read_json_or_empty

    data = read_json_or_empty(record)
    covered = data.get("scores", data.get("models"))
    return set(covered) if isinstance(covered, dict) else None
