"""Read the recorders of searches back: a tidy pandas frame, or fast NaN-padded arrays.

Two entry points:

* :func:`load_results` -- one tidy ``pandas.DataFrame`` (one row per recorded entry) with the
  columns ``storage, experiment, seed, <every config_unique field>, step, <metrics>``, for
  exploring results by hand (``df.groupby("lr")...``).
* :func:`load_curves` / :func:`iter_curves` -- per experiment, one ``(n_seeds, n_steps)``
  float array of a metric, NaN-padded for runs of unequal length: what summaries use. No
  pandas on this path, and one experiment at a time in memory with :func:`iter_curves`.

Both read seed by seed (a seed's raw file is dropped once its values are extracted) and
never fail on a single bad seed: seeds that crashed, did not finish, have no recorder or an
unreadable one are skipped and listed in a :class:`LoadReport`. ``None`` values become NaN.
The recorder is found by name with any supported suffix (``train_recorder`` finds
``recorders/train_recorder.pkl``, ``.jsonl`` or ``.csv``).
"""
from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from alfred.utils.directory_tree import COMPLETED, RECORDER_SUFFIXES, DirectoryTree
from alfred.utils.flags import SeedState, read_status
from alfred.utils.misc import AlfredError
from alfred.utils.recorder import Recorder

__all__ = ["LoadReport", "Curves", "load_results", "load_curves", "iter_curves", "find_recorder",
           "read_tape", "stack_padded"]

STEP = "step"  # column of the entry index in load_results' frame


@dataclass
class LoadReport:
    """What a load found, seed by seed: every seed folder lands in exactly one list or ``loaded``."""

    loaded: int = 0
    crashed: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # UNHATCHED, RUNNING or INTERRUPTED
    missing_recorder: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "<seed>: <why>"
    empty: list[str] = field(default_factory=list)  # recorder without entries (or without the metric)
    metrics: list[str] = field(default_factory=list)  # every metric name seen, first-seen order

    @property
    def n_seeds(self) -> int:
        return self.loaded + len(self.crashed) + len(self.unfinished) + len(self.missing_recorder) + \
            len(self.unreadable) + len(self.empty)

    @property
    def skipped(self) -> list[str]:
        return [*self.crashed, *self.unfinished, *self.missing_recorder, *self.unreadable, *self.empty]

    def _see(self, names: Iterable[str]) -> None:
        for n in names:
            if n not in self._seen:
                self._seen.add(n)
                self.metrics.append(n)

    def __post_init__(self) -> None:
        self._seen = set(self.metrics)

    def describe(self, max_names: int = 5) -> str:
        """One line per non-empty category, e.g. ``2 crashed: exp1/seed3, ...``."""
        lines = [f"{self.loaded} of {self.n_seeds} seed(s) loaded"]
        for label, items in (("crashed", self.crashed), ("unfinished", self.unfinished),
                             ("without recorder", self.missing_recorder), ("unreadable", self.unreadable),
                             ("empty", self.empty)):
            if items:
                more = f", ... ({len(items) - max_names} more)" if len(items) > max_names else ""
                lines.append(f"  {len(items)} {label}: {', '.join(items[:max_names])}{more}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"loaded": self.loaded, "n_seeds": self.n_seeds, "crashed": self.crashed,
                "unfinished": self.unfinished, "missing_recorder": self.missing_recorder,
                "unreadable": self.unreadable, "empty": self.empty, "metrics": self.metrics}


@dataclass
class Curves:
    """One experiment's runs: ``y[i]`` is seed ``seeds[i]``'s curve, NaN-padded to ``x``'s length."""

    experiment: int
    seeds: list[int]
    x: np.ndarray  # (n_steps,) from the longest run; 0..n-1 when no x_metric
    y: np.ndarray  # (n_seeds, n_steps)
    config: dict  # the experiment's config_unique.json (of its first seed), seed removed


def find_recorder(recorders_dir: Path, recorder_name: str, first: str | None = None) -> Path | None:
    """``recorders_dir/<recorder_name><suffix>`` for the first suffix that exists (``first`` tried first)."""
    if Path(recorder_name).suffix in RECORDER_SUFFIXES:
        path = recorders_dir / recorder_name
        return path if path.is_file() else None
    suffixes = RECORDER_SUFFIXES if first is None else (first, *(s for s in RECORDER_SUFFIXES if s != first))
    for suffix in suffixes:
        path = recorders_dir / f"{recorder_name}{suffix}"
        if path.is_file():
            return path
    return None


def read_tape(path: Path) -> dict[str, list]:
    """The ``{metric: values}`` tape of a recorder file (.pkl read directly: the fast path)."""
    if path.suffix == ".pkl":
        with open(path, "rb") as f:
            tape = pickle.load(f)
        if not isinstance(tape, dict):
            raise AlfredError(f"{path} is not a recorder (a pickled {type(tape).__name__}, expected a dict)")
        return tape
    return Recorder.load(path).tape


def _floats(values, metric: str, path: Path) -> np.ndarray:
    """A metric's values as float64, None -> NaN; AlfredError if they are not numbers."""
    try:
        return np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        pass
    try:  # "inf" strings and the like, one by one
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise AlfredError(f"metric {metric!r} in {path} holds non-numeric values (e.g. {values[0]!r}): "
                          "summaries need numbers") from None


def stack_padded(rows: list[np.ndarray]) -> np.ndarray:
    """(n_rows, max_len) float array of 1-D rows, NaN-padded at the end."""
    n = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), n), np.nan)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


class _Seed:
    """A seed folder on the hot path: plain strings, no Path objects (100,000 of them add up)."""

    __slots__ = ("seed", "path", "experiment")

    def __init__(self, seed: int, path: str, experiment: str):
        self.seed, self.path, self.experiment = seed, path, experiment

    @property
    def seed_dir(self) -> Path:
        return Path(self.path)


def _seed_label(ref) -> str:
    if isinstance(ref, _Seed):
        return f"{ref.experiment}/{os.path.basename(ref.path)}"
    return f"{ref.experiment_dir.name}/{ref.seed_dir.name}"


def _list_seeds(experiment_dir: Path) -> list[tuple[int, str]]:
    lister = getattr(DirectoryTree, "list_seed_dirs", None)
    if lister is not None:
        return lister(experiment_dir)
    return [(DirectoryTree(p).seed, str(p)) for p in DirectoryTree.get_seed_dirs(experiment_dir)]


def _iter_seed_tapes(storage_dir: Path, recorder_name: str, report: LoadReport, include_unfinished: bool,
                     experiments: set[int] | None = None
                     ) -> Iterator[tuple[Path, list[tuple[_Seed, Path, dict]]]]:
    """Per experiment dir: the (seed ref, recorder path, tape) of each seed that has one.

    Seeds are read one at a time; an experiment's tapes are yielded together (callers
    reduce them to arrays and drop them before the next experiment).
    """
    storage_dir = Path(storage_dir)
    if not storage_dir.is_dir():
        raise AlfredError(f"storage dir {storage_dir} does not exist")
    suffix = None  # the suffix the previous seed's recorder had: tried first (one open, no stat)
    explicit = Path(recorder_name).suffix in RECORDER_SUFFIXES
    for experiment_dir in DirectoryTree.get_experiment_dirs(storage_dir):
        if experiments is not None and DirectoryTree.experiment_num_of(experiment_dir) not in experiments:
            continue
        tapes = []
        exp_name = experiment_dir.name
        for seed, sd in _list_seeds(experiment_dir):
            tree = _Seed(seed, sd, exp_name)
            if os.path.exists(os.path.join(sd, COMPLETED)):  # the common case: one stat, no listing
                state = SeedState.COMPLETED
            else:
                try:
                    names = set(os.listdir(sd))
                except FileNotFoundError:
                    continue
                state = read_status(DirectoryTree(sd), names=names).state
            if state is not SeedState.COMPLETED and not include_unfinished:
                (report.crashed if state is SeedState.CRASHED else report.unfinished).append(_seed_label(tree))
                continue
            tape = path = None
            try:
                if suffix is not None:
                    path = Path(sd, "recorders", recorder_name if explicit else recorder_name + suffix)
                    try:
                        tape = read_tape(path)
                    except FileNotFoundError:
                        path = None
                if tape is None:
                    path = find_recorder(Path(sd, "recorders"), recorder_name, suffix)
                    if path is not None:
                        tape = read_tape(path)
            except Exception as e:  # a torn pickle, a corrupted file: skip this seed, say why
                report.unreadable.append(f"{_seed_label(tree)}: {type(e).__name__}: {e}")
                continue
            if path is None:
                if state is SeedState.COMPLETED:
                    report.missing_recorder.append(_seed_label(tree))
                else:
                    (report.crashed if state is SeedState.CRASHED else report.unfinished).append(_seed_label(tree))
                continue
            suffix = path.suffix
            report._see(tape)
            tapes.append((tree, path, tape))
        yield experiment_dir, tapes


def _unknown_metric(metric: str, report: LoadReport, where: Path) -> AlfredError:
    recorded = ", ".join(report.metrics) or "none"
    return AlfredError(f"metric {metric!r} is not recorded in {where}; recorded metrics: {recorded}")


def _experiment_config(experiment_dir: Path, tapes: list) -> dict:
    seed_dirs = [t.seed_dir for t, _, _ in tapes] or DirectoryTree.get_seed_dirs(experiment_dir)
    for seed_dir in seed_dirs[:3]:
        try:
            with open(seed_dir / "config_unique.json", encoding="utf-8") as f:
                unique = json.load(f)
            unique.pop("seed", None)
            return unique
        except (OSError, ValueError):
            continue
    return {}


def iter_curves(storage_dir: str | os.PathLike, *, y_metric: str, x_metric: str | None = None,
                recorder_name: str = "train_recorder", report: LoadReport | None = None,
                include_unfinished: bool = False, experiments: set[int] | None = None) -> Iterator[Curves]:
    """Yield one :class:`Curves` per experiment that has at least one loaded seed.

    Only one experiment's raw tapes are in memory at a time; ``experiments`` restricts the
    read to those experiment numbers. The x values are those of the
    experiment's longest run (runs of one experiment are assumed to record x alike).
    AlfredError if ``y_metric`` (or ``x_metric``) is recorded by none of the seeds read so far.
    """
    report = LoadReport() if report is None else report
    storage_dir = Path(storage_dir)
    checked = False
    for experiment_dir, tapes in _iter_seed_tapes(storage_dir, recorder_name, report, include_unfinished,
                                                      experiments):
        ys, seeds = [], []
        x_raw, x_path, x_len = None, None, -1  # x of the longest run so far (converted once, at the end)
        for tree, path, tape in tapes:
            if not checked:
                for metric in (y_metric, x_metric):
                    if metric is not None and metric not in tape:
                        raise _unknown_metric(metric, report, path)
                checked = True
            if y_metric not in tape:
                report.empty.append(f"{_seed_label(tree)} (no {y_metric!r})")
                continue
            y = _floats(tape[y_metric], y_metric, path)
            if y.size == 0 or np.isnan(y).all():
                report.empty.append(_seed_label(tree))
                continue
            if x_metric is not None and y.size > x_len:
                x_raw, x_path, x_len = tape.get(x_metric, []), path, y.size
            ys.append(y)
            seeds.append(tree.seed)
            report.loaded += 1
        if not ys:
            continue
        n = max(len(y) for y in ys)
        if x_metric is not None:
            x = _floats(x_raw, x_metric, x_path)[:n]
            if x.size < n:
                x = np.concatenate([x, np.full(n - x.size, np.nan)])
        else:
            x = np.arange(n, dtype=np.float64)
        yield Curves(DirectoryTree.experiment_num_of(experiment_dir), seeds, x, stack_padded(ys),
                     _experiment_config(experiment_dir, tapes))


def load_curves(storage_dir: str | os.PathLike, *, y_metric: str, x_metric: str | None = None,
                recorder_name: str = "train_recorder", report: LoadReport | None = None
                ) -> dict[int, Curves]:
    """``{experiment number: Curves}`` with (n_seeds, n_steps) NaN-padded arrays; see :func:`iter_curves`."""
    return {c.experiment: c for c in iter_curves(storage_dir, y_metric=y_metric, x_metric=x_metric,
                                                   recorder_name=recorder_name, report=report)}


def load_results(storage_dirs: str | os.PathLike | Iterable[str | os.PathLike], *,
                 recorder_name: str = "train_recorder", metrics: list[str] | None = None, pbar: bool = False,
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
        for experiment_dir, tapes in _iter_seed_tapes(storage_dir, recorder_name, report, include_unfinished):
            config = _experiment_config(experiment_dir, tapes)
            for k in config:
                if k not in config_keys:
                    config_keys.append(k)
            for tree, path, tape in tapes:
                if not checked and metrics is not None:
                    unknown = [m for m in metrics if m not in tape]
                    if unknown:
                        raise _unknown_metric(unknown[0], report, path)
                    checked = True
                names = metrics if metrics is not None else list(tape)
                n = max((len(tape.get(m, ())) for m in names), default=0)
                if n == 0:
                    report.empty.append(_seed_label(tree))
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
                const.setdefault("experiment", []).append(DirectoryTree.experiment_num_of(experiment_dir))
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


# Project defaults for results: RESULTS = {...} in a schedule, stored in prepare_info.json --------

RESULTS_KEYS = {
    "x_metric": "name of the recorded metric on the x-axis of learning curves (e.g. 'step')",
    "y_metric": "name of the recorded metric on the y-axis of learning curves",
    "performance_metric": "recorded metric that ranks experiments (default: y_metric)",
    "performance_aggregation": "min, max, avg, last or last_<k>% (a curve -> one score per seed)",
    "y_error_bars": "bootstrapped_CI, stderr, 10th_quantile or none",
    "lower_is_better": "true when a lower performance is better (e.g. a loss)",
}
ERROR_BARS = ("bootstrapped_CI", "stderr", "10th_quantile", "none")


def check_aggregation(mode: str) -> str:
    """AlfredError unless ``mode`` is min, max, avg, last or last_<k>% with 0 < k <= 100."""
    import re

    m = re.fullmatch(r"last_(\d+(?:\.\d+)?)%", mode) if isinstance(mode, str) else None
    if mode in ("min", "max", "avg", "last") or (m and 0 < float(m.group(1)) <= 100):
        return mode
    raise AlfredError(f"performance_aggregation {mode!r} is not valid: use min, max, avg, last or last_<k>% "
                      "with 0 < k <= 100 (e.g. last_10%)")


def validate_results_settings(settings: object, where: str = "RESULTS") -> dict:
    """Check a ``RESULTS`` dict (keys, value types); AlfredError in one line naming what is valid."""
    if not isinstance(settings, dict):
        raise AlfredError(f"{where} must be a dict with keys among {', '.join(RESULTS_KEYS)}, "
                          f"got {type(settings).__name__}")
    unknown = [k for k in settings if k not in RESULTS_KEYS]
    if unknown:
        raise AlfredError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; valid: {', '.join(RESULTS_KEYS)}")
    for key, value in settings.items():
        if key == "lower_is_better":
            if not isinstance(value, bool):
                raise AlfredError(f"{where}['lower_is_better'] must be True or False, got {value!r}")
        elif value is not None and not isinstance(value, str):
            raise AlfredError(f"{where}[{key!r}] must be a string ({RESULTS_KEYS[key]}), got {value!r}")
        elif key == "performance_aggregation" and value is not None:
            check_aggregation(value)
        elif key == "y_error_bars" and value is not None and value not in ERROR_BARS:
            raise AlfredError(f"{where}['y_error_bars'] {value!r} is not valid; use {', '.join(ERROR_BARS)}")
    return dict(settings)
