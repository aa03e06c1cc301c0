"""Read the recorders of searches back as fast NaN-padded arrays (alfred.results.frame: as a table).

:func:`load_curves` / :func:`iter_curves` give, per experiment, one ``(n_seeds, n_steps)``
float array of a metric, NaN-padded for runs of unequal length: what summaries use. No
pandas on this path, and one experiment at a time in memory with :func:`iter_curves`.

Loading reads seed by seed (a seed's raw file is dropped once its values are extracted) and
never fail on a single bad seed: seeds that crashed, did not finish, have no recorder or an
unreadable one are skipped and listed in a :class:`LoadReport`. ``None`` values become NaN.
The recorder is found by name with any supported suffix (``train_recorder`` finds
``recorders/train_recorder.pkl``, ``.jsonl`` or ``.csv``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from alfred import defaults  # the limits are read where used: a project may raise them
from alfred.protocol.fsio import RefusedFile, open_regular_file, read_regular
from alfred.protocol.layout import CONFIG_UNIQUE, DEFAULT_RECORDER, RECORDER_SUFFIXES, RECORDERS, experiment_num_of
from alfred.protocol.listing import iter_seed_dirs, list_experiment_dirs, list_seed_dirs
from alfred.protocol.seed_state import SeedState, seed_state
from alfred.utils.misc import AlfredError
from alfred.utils.recorder import Recorder, UnsafePickleError, load_tape_pickle

__all__ = ["LoadReport", "Curves", "load_curves", "iter_curves", "find_recorder",
           "read_tape", "stack_padded", "first_recorded_metrics"]



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
    others: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> (n_seeds, n_steps_m), see also=


def find_recorder(recorders_dir: Path, recorder_name: str) -> Path | None:
    """``recorders_dir/<recorder_name><suffix>`` for the first suffix of RECORDER_SUFFIXES that
    exists (text formats first: a ``.jsonl`` wins over a ``.pkl`` beside it)."""
    if Path(recorder_name).suffix in RECORDER_SUFFIXES:
        path = recorders_dir / recorder_name
        return path if path.is_file() else None
    for suffix in RECORDER_SUFFIXES:
        path = recorders_dir / f"{recorder_name}{suffix}"
        if path.is_file():
            return path
    return None


def read_tape(path: str | os.PathLike) -> dict[str, list]:
    """The ``{metric: values}`` tape of a recorder file.

    A ``.pkl`` is unpickled directly (the fast path) by the allow-list unpickler of
    alfred.utils.safe_pickle: builtin values and numpy, torch and jax arrays and scalars only
    (tensors as numpy values), so a planted pickle raises UnsafePickleError instead of running
    anything, unless the user trusts its folder (ALFRED_TRUSTED_PICKLE_DIRS).
    """
    path = os.fspath(path)
    if path.endswith(".pkl"):
        with open_regular_file(path, max_bytes=defaults.MAX_RECORDER_BYTES, what="recorder files",
                               setting="MAX_RECORDER_BYTES") as f:  # no link, FIFO or device
            tape = load_tape_pickle(f, path=path)
        if not isinstance(tape, dict):
            raise AlfredError(f"{path} is not a recorder (a pickled {type(tape).__name__}, expected a dict)")
        return tape
    return Recorder.load(path, max_bytes=defaults.MAX_RECORDER_BYTES).tape


def _read_first(recorders_dir: str, names: tuple[str, ...]) -> tuple[str | None, dict | None]:
    """(path, tape) of the first of ``names`` in ``recorders_dir`` that exists, else (None, None).

    Names are looked up with access(2) (no exception, no stat structure): the common case,
    one recorder file, costs a lookup per suffix before it and one read.
    """
    access, exists = os.access, os.F_OK
    base = recorders_dir + os.sep
    for name in names:
        path = base + name
        if access(path, exists):
            return path, read_tape(path)
    return None, None


def _floats(values, metric: str, path: str | Path) -> np.ndarray:
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
    def label(self) -> str:
        return f"{self.experiment}/{os.path.basename(self.path)}"


def iter_seed_tapes(storage_dir: Path, recorder_name: str, report: LoadReport, include_unfinished: bool,
                    experiments: set[int] | None = None
                    ) -> Iterator[tuple[Path, list[tuple[_Seed, str, dict]]]]:
    """Per experiment dir: the (seed ref, recorder path, tape) of each seed that has one.

    Seeds are read one at a time; an experiment's tapes are yielded together (callers
    reduce them to arrays and drop them before the next experiment). A seed whose recorder
    cannot be read -- torn, corrupted, or a pickle asking for code (nothing runs) -- is
    listed in ``report.unreadable`` with the reason.
    """
    storage_dir = Path(storage_dir)
    if not storage_dir.is_dir():
        raise AlfredError(f"storage dir {storage_dir} does not exist")
    names = (recorder_name,) if Path(recorder_name).suffix in RECORDER_SUFFIXES else \
        tuple(recorder_name + suffix for suffix in RECORDER_SUFFIXES)
    # Ended seeds whose files are published: COMPLETED, and an adaptive search's seeds stopped or
    # paused at a rung (their recorders hold the run up to there).
    pending = (SeedState.UNHATCHED, SeedState.RUNNING, SeedState.INTERRUPTED, SeedState.CRASHED)
    for n, experiment_dir in list_experiment_dirs(storage_dir, report.unreadable):  # links: listed, not followed
        if experiments is not None and n not in experiments:
            continue
        try:
            seed_dirs = list_seed_dirs(experiment_dir, report.unreadable)
        except FileNotFoundError:
            continue
        tapes = []
        exp_name = os.path.basename(experiment_dir)
        for seed, sd in seed_dirs:
            ref = _Seed(seed, sd, exp_name)
            state = seed_state(sd).state
            ended = state not in pending
            if not ended and not include_unfinished:
                (report.crashed if state is SeedState.CRASHED else report.unfinished).append(ref.label)
                continue
            try:
                path, tape = _read_first(os.path.join(sd, RECORDERS), names)
            except (UnsafePickleError, RefusedFile) as e:  # refused before anything ran or was read: say why
                report.unreadable.append(f"{ref.label}: {e}")
                continue
            except Exception as e:  # a torn pickle, a corrupted file: skip this seed, say why
                report.unreadable.append(f"{ref.label}: {type(e).__name__}: {e}")
                continue
            if path is None:
                if ended:
                    report.missing_recorder.append(ref.label)
                else:
                    (report.crashed if state is SeedState.CRASHED else report.unfinished).append(ref.label)
                continue
            report._see(tape)
            tapes.append((ref, path, tape))
        yield Path(experiment_dir), tapes


def unknown_metric_error(metric: str, report: LoadReport, where: str | Path) -> AlfredError:
    recorded = ", ".join(report.metrics) or "none"
    return AlfredError(f"metric {metric!r} is not recorded in {where}; recorded metrics: {recorded}")


def experiment_config(experiment_dir: Path, tapes: list) -> dict:
    seed_dirs = [t.path for t, _, _ in tapes] or [p for _, p in list_seed_dirs(experiment_dir)]
    for seed_dir in seed_dirs[:3]:
        try:
            path = os.path.join(seed_dir, CONFIG_UNIQUE)
            unique = json.loads(read_regular(path, max_bytes=defaults.MAX_CONFIG_BYTES))  # no link, FIFO, device
            unique.pop("seed", None)
            return unique
        except (OSError, ValueError):
            continue
    return {}


def iter_curves(storage_dir: str | os.PathLike, *, y_metric: str, x_metric: str | None = None,
                recorder_name: str = DEFAULT_RECORDER, report: LoadReport | None = None,
                include_unfinished: bool = False, experiments: set[int] | None = None,
                also: tuple[str, ...] = ()) -> Iterator[Curves]:
    """Yield one :class:`Curves` per experiment that has at least one loaded seed.

    Only one experiment's raw tapes are in memory at a time; ``experiments`` restricts the
    read to those experiment numbers. The x values are those of the
    experiment's longest run (runs of one experiment are assumed to record x alike).
    ``also`` names other metrics read from the same tapes (one read per seed), in
    ``Curves.others``, one row per loaded seed (NaN where a seed did not record them).
    AlfredError if ``y_metric`` (or ``x_metric``, or one of ``also``) is not recorded by
    the first seed read.
    """
    report = LoadReport() if report is None else report
    storage_dir = Path(storage_dir)
    checked = False
    for experiment_dir, tapes in iter_seed_tapes(storage_dir, recorder_name, report, include_unfinished,
                                                      experiments):
        ys, seeds = [], []
        others: dict[str, list[np.ndarray]] = {m: [] for m in also}
        x_raw, x_path, x_len = None, None, -1  # x of the longest run so far (converted once, at the end)
        for tree, path, tape in tapes:
            if not checked:
                for metric in (y_metric, x_metric, *also):
                    if metric is not None and metric not in tape:
                        raise unknown_metric_error(metric, report, path)
                checked = True
            if y_metric not in tape:
                report.empty.append(f"{tree.label} (no {y_metric!r})")
                continue
            y = _floats(tape[y_metric], y_metric, path)
            if y.size == 0 or np.isnan(y).all():
                report.empty.append(tree.label)
                continue
            if x_metric is not None and y.size > x_len:
                x_raw, x_path, x_len = tape.get(x_metric, []), path, y.size
            ys.append(y)
            for m, rows in others.items():
                rows.append(_floats(tape[m], m, path) if m in tape else np.zeros(0))
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
        yield Curves(experiment_num_of(experiment_dir), seeds, x, stack_padded(ys),
                     experiment_config(experiment_dir, tapes), {m: stack_padded(rows) for m, rows in others.items()})


def load_curves(storage_dir: str | os.PathLike, *, y_metric: str, x_metric: str | None = None,
                recorder_name: str = DEFAULT_RECORDER, report: LoadReport | None = None
                ) -> dict[int, Curves]:
    """``{experiment number: Curves}`` with (n_seeds, n_steps) NaN-padded arrays; see :func:`iter_curves`."""
    return {c.experiment: c for c in iter_curves(storage_dir, y_metric=y_metric, x_metric=x_metric,
                                                   recorder_name=recorder_name, report=report)}


def first_recorded_metrics(storage_dir: str | os.PathLike, recorder_name: str = DEFAULT_RECORDER) -> list[str]:
    """The metric names of the first readable recorder of a storage dir ([] if it has none).

    AlfredError, with the reason, when recorders exist but the first ones cannot be read (an
    unreadable pickle would otherwise look like "no recorder").
    """
    problems = []
    for _, _, seed_dir in iter_seed_dirs(storage_dir):
        path = find_recorder(Path(seed_dir, RECORDERS), recorder_name)
        if path is not None:
            try:
                return list(read_tape(path))
            except Exception as e:
                problems.append(f"{path}: {e if isinstance(e, AlfredError) else f'{type(e).__name__}: {e}'}")
                if len(problems) >= 20:
                    break
    if problems:
        raise AlfredError(f"no {recorder_name} recorder of {Path(storage_dir).name} could be read "
                          f"({len(problems)} tried); the first: {problems[0]}")
    return []
