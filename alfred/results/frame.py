"""Every completed seed's recorder as one tidy ``pandas.DataFrame``, for exploring results by hand.

    from alfred.results import load_results
    frame, report = load_results(["storage/Se1_...", "storage/Se2_..."])
    frame.groupby("lr")["eval_return"].mean()

One row per recorded entry, with the columns ``storage, experiment, seed, <every
config_unique field>, step, <metrics>``. Seeds are read one at a time, like the summaries
do (alfred.results.loading), and a bad seed is skipped and listed in the LoadReport.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

from alfred.protocol.layout import DEFAULT_RECORDER, experiment_num_of
from alfred.results.loading import LoadReport, experiment_config, iter_seed_tapes, unknown_metric_error

__all__ = ["load_results", "STEP"]

STEP = "step"  # column of the entry index


def load_results(storage_dirs: str | os.PathLike | Iterable[str | os.PathLike], *,
                 recorder_name: str = DEFAULT_RECORDER, metrics: list[str] | None = None, pbar: bool = False,
                 include_unfinished: bool = False):
    """Load every completed seed's recorder into one tidy ``pandas.DataFrame``.

    Args:
        storage_dirs: one storage dir or several.
        recorder_name: file name in each seed's ``recorders/``, with or without suffix.
        metrics: the metrics to keep (default: all recorded); AlfredError names the recorded
            ones if one is unknown.
        pbar: show a tqdm progress bar over storage dirs.
        include_unfinished: also load what crashed or unfinished seeds recorded so far.

    Returns:
        ``(frame, report)``: one row per recorder entry, with columns ``storage``,
        ``experiment``, ``seed``, every ``config_unique`` field (``alg_name``, ``task_name``
        and the hyperparameters), ``step`` (entry index) and the metrics; and a
        :class:`LoadReport` of what was skipped.
    """
    import pandas as pd

    if isinstance(storage_dirs, (str, os.PathLike)):
        storage_dirs = [storage_dirs]
    storage_dirs = [Path(d) for d in storage_dirs]
    report = LoadReport()
    columns: dict[str, list[np.ndarray]] = {}
    const: dict[str, list] = {}  # per seed: storage, experiment, seed and config fields
    lengths: list[int] = []
    config_keys: list[str] = []
    metric_keys: list[str] = []
    checked = False
    it = storage_dirs
    if pbar:
        from tqdm import tqdm
        it = tqdm(storage_dirs, desc="loading", unit="storage dir")
    for storage_dir in it:
        for experiment_dir, tapes in iter_seed_tapes(storage_dir, recorder_name, report, include_unfinished):
            config = experiment_config(experiment_dir, tapes)
            for k in config:
                if k not in config_keys:
                    config_keys.append(k)
            for tree, path, tape in tapes:
                if not checked and metrics is not None:
                    unknown = [m for m in metrics if m not in tape]
                    if unknown:
                        raise unknown_metric_error(unknown[0], report, path)
                    checked = True
                names = metrics if metrics is not None else list(tape)
                n = max((len(tape.get(m, ())) for m in names), default=0)
                if n == 0:
                    report.empty.append(tree.label)
                    continue
                seed_index = len(lengths)
                for m in names:
                    if m not in columns:
                        columns[m] = []
                        metric_keys.append(m)
                    values = list(tape.get(m, ()))
                    values += [None] * (n - len(values))
                    columns[m].append((seed_index, _column(values)))
                const.setdefault("storage", []).append(Path(storage_dir).name)
                const.setdefault("experiment", []).append(experiment_num_of(experiment_dir))
                const.setdefault("seed", []).append(tree.seed)
                const.setdefault("_config", []).append(config)
                lengths.append(n)
                report.loaded += 1
    total = int(sum(lengths))
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    data: dict[str, object] = {}
    if lengths:
        data["storage"] = pd.Categorical(np.repeat(np.array(const["storage"], dtype=object), lengths_arr))
        data["experiment"] = np.repeat(np.asarray(const["experiment"], dtype=np.int64), lengths_arr)
        data["seed"] = np.repeat(np.asarray(const["seed"], dtype=np.int64), lengths_arr)
        for k in config_keys:
            if k in ("storage", "experiment", "seed", STEP):
                continue
            values = np.empty(len(lengths), dtype=object)
            values[:] = [c.get(k) if not isinstance(c.get(k), list) else tuple(c.get(k)) for c in const["_config"]]
            data[k] = pd.Series(np.repeat(values, lengths_arr)).infer_objects()
        starts = np.concatenate([[0], np.cumsum(lengths_arr)[:-1]])
        data[STEP] = np.arange(total) - np.repeat(starts, lengths_arr)
        for m in metric_keys:
            parts = columns[m]
            floats = all(p.dtype.kind == "f" for _, p in parts)
            out = np.full(total, np.nan) if floats else np.full(total, None, dtype=object)
            for seed_index, p in parts:
                out[starts[seed_index]: starts[seed_index] + len(p)] = p
            data[m if m not in data else f"metric_{m}"] = out
    else:
        for k in ("storage", "experiment", "seed", STEP, *metric_keys):
            data[k] = []
    return pd.DataFrame(data), report


def _column(values: list) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return np.asarray(values, dtype=object)
