"""Recorder: a tape of metrics, one entry per ``write_to_tape`` call.

Saved by file suffix: ``.pkl`` (pickle), ``.jsonl`` (one JSON object per line) or ``.csv``
(one row per entry). A recorder made with ``stream_to=path.jsonl`` or ``.csv`` appends and
flushes every entry as the run goes, so the results of a run killed halfway are still readable.

Reading a ``.pkl`` never runs code: :func:`~alfred.utils.safe_pickle.load_tape_pickle` unpickles
only builtin values and numpy, torch and jax arrays and scalars (torch tensors come back as
numpy values, without importing torch). A pickle that asks for anything else -- e.g. a planted
file whose unpickling would call ``os.system`` -- raises :class:`UnsafePickleError` naming what
it asked for and how to allow it, before anything is called (alfred.utils.safe_pickle).
"""
from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from alfred.protocol.fsio import open_regular, open_regular_file
from alfred.utils.misc import AlfredError, atomic_write_text
from alfred.utils.safe_pickle import UnsafePickleError, load_tape_pickle

__all__ = ["Recorder", "TrainingIterator", "UnsafePickleError", "load_tape_pickle", "remove_nones"]

_SCALARS = (int, float, str, bool, type(None))
TEXT_SUFFIXES = (".jsonl", ".csv")


def _to_jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _from_jsonable(value: Any) -> Any:
    if value is None:
        return None
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return value


class Recorder:
    """Record metrics over a run.

    Args:
        metrics_to_record: names of the metrics; an entry may leave some out (they get None).
        stream_to: optional ``.jsonl`` or ``.csv`` path that each entry is appended to at once.
    """

    def __init__(self, metrics_to_record: Iterable[str], stream_to: str | os.PathLike | None = None):
        self.tape: dict[str, list] = {m: [] for m in metrics_to_record}
        if not self.tape:
            raise ValueError("Recorder needs at least one metric name")
        self._stream = None
        self._stream_path = None
        if stream_to is not None:
            self._open_stream(Path(stream_to))

    def __len__(self) -> int:
        return len(next(iter(self.tape.values())))

    def write_to_tape(self, new_values_dict: dict[str, Any]) -> None:
        """Append one entry; values are copied, so later changes to them do not alter the tape.
        Metrics left out get None."""
        new_values = new_values_dict
        unknown = set(new_values) - set(self.tape)
        if unknown:
            raise AlfredError(f"unknown metric(s) {sorted(unknown)}; this recorder records {list(self.tape)}")
        entry = {}
        for metric, values in self.tape.items():
            value = new_values.get(metric)
            value = value if isinstance(value, _SCALARS) else _copied(value)
            values.append(value)
            entry[metric] = value
        if self._stream is not None:
            self._append(entry)

    # Streaming ------------------------------------------------------------------------
    def _open_stream(self, path: Path) -> None:
        if path.suffix not in TEXT_SUFFIXES:
            raise AlfredError(f"stream_to must end in {' or '.join(TEXT_SUFFIXES)}, got {path.name}")
        # No link followed, no FIFO opened: a planted one cannot redirect or stall the run.
        fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        size = os.fstat(fd).st_size
        new = size == 0
        torn = not new and os.pread(fd, 1, size - 1) != b"\n"
        self._stream_path = path
        self._stream = open(fd, "a", encoding="utf-8", newline="")
        if torn:  # a killed run's last line: end it, so that new entries start on their own line
            self._stream.write("\n")
        if path.suffix == ".csv" and new:
            csv.writer(self._stream).writerow(list(self.tape))
        self._stream.flush()

    def _append(self, entry: dict[str, Any]) -> None:
        if self._stream_path.suffix == ".jsonl":
            self._stream.write(json.dumps({k: _to_jsonable(v) for k, v in entry.items()}) + "\n")
        else:
            csv.writer(self._stream).writerow([_csv_cell(entry[k]) for k in self.tape])
        self._stream.flush()

    def close(self) -> None:
        """Close the stream file, if any (the tape stays readable in memory)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Saving and loading -----------------------------------------------------------------
    def save(self, filename: str | os.PathLike) -> None:
        """Write the whole tape, atomically; the format follows the suffix (.pkl, .jsonl, .csv)."""
        path = Path(filename)
        if path.suffix == ".pkl":
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            with open(tmp, "wb") as f:
                pickle.dump(self.tape, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        elif path.suffix == ".jsonl":
            rows = (json.dumps({k: _to_jsonable(v[i]) for k, v in self.tape.items()}) for i in range(len(self)))
            atomic_write_text(path, "".join(r + "\n" for r in rows))
        elif path.suffix == ".csv":
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(list(self.tape))
            for i in range(len(self)):
                writer.writerow([_csv_cell(v[i]) for v in self.tape.values()])
            atomic_write_text(path, buf.getvalue())
        else:
            raise AlfredError(f"cannot save a recorder as {path.name}: use a .pkl, .jsonl or .csv file name")

    @classmethod
    def init_from_pickle_file(cls, filename: str | os.PathLike, *, trusted: bool = False,
                              max_bytes: int | None = None) -> Recorder:
        """A recorder saved as ``.pkl``. Only builtin values and numpy, torch and jax arrays and
        scalars are read, tensors as numpy values (:class:`UnsafePickleError` otherwise, saying how
        to allow it); a file in a folder of ``ALFRED_TRUSTED_PICKLE_DIRS``, or ``trusted=True``,
        may name anything, running whatever code it names: only for files you wrote yourself.
        A link, a FIFO or a device, or a file over ``max_bytes``, is refused (RefusedFile, an OSError)."""
        with _open_recorder(filename, max_bytes) as f:
            tape = load_tape_pickle(f, path=filename, trusted=trusted)
        return cls._from_tape(tape)

    @classmethod
    def load(cls, filename: str | os.PathLike, *, max_bytes: int | None = None) -> Recorder:
        """Read a recorder saved (or streamed) in any supported format; torn lines are skipped.
        A ``.pkl`` is read as :meth:`init_from_pickle_file` does: no code runs, and no link,
        FIFO, device or file over ``max_bytes`` is opened."""
        path = Path(filename)
        if path.suffix == ".pkl":
            return cls.init_from_pickle_file(path, max_bytes=max_bytes)
        if path.suffix == ".jsonl":
            rows = []
            with io.TextIOWrapper(_open_recorder(path, max_bytes), encoding="utf-8") as f:
                for line in f:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue  # torn by a run killed mid-write; a resumed run's lines follow it
            names = list(dict.fromkeys(k for r in rows for k in r))
            return cls._from_tape({k: [_from_jsonable(r.get(k)) for r in rows] for k in names})
        if path.suffix == ".csv":
            with io.TextIOWrapper(_open_recorder(path, max_bytes), encoding="utf-8", newline="") as f:
                rows = list(csv.reader(f))
            if not rows:
                raise AlfredError(f"{path} is empty: no header row")
            header, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
            return cls._from_tape({k: [_parse_csv_cell(r[i]) for r in body] for i, k in enumerate(header)})
        raise AlfredError(f"cannot load {path.name}: recorders are .pkl, .jsonl or .csv files")

    @classmethod
    def _from_tape(cls, tape: dict[str, list]) -> Recorder:
        if not isinstance(tape, dict) or not tape:
            raise AlfredError("not a recorder: expected a non-empty dict of metric lists")
        recorder = cls(tape.keys())
        recorder.tape = {k: list(v) for k, v in tape.items()}
        return recorder


def _open_recorder(path: str | os.PathLike, max_bytes: int | None):
    return open_regular_file(path, max_bytes=max_bytes, what="recorder files", setting="MAX_RECORDER_BYTES")


def _copied(value: Any) -> Any:
    """A copy of a recorded value; a torch tensor is detached first (one still in the autograd
    graph, e.g. a loss, cannot be deep-copied, and its graph is not the metric)."""
    detach = getattr(value, "detach", None)
    if callable(detach) and type(value).__module__.startswith("torch"):
        value = detach()
    return copy.deepcopy(value)


def _csv_cell(value: Any) -> str:
    value = _to_jsonable(value)
    return "" if value is None else (value if isinstance(value, str) else json.dumps(value))


def _parse_csv_cell(cell: str) -> Any:
    if cell == "":
        return None
    try:
        return _from_jsonable(json.loads(cell))
    except json.JSONDecodeError:
        return _from_jsonable(cell)  # plain strings, and the "inf"/"-inf" that _csv_cell writes bare


# 0.2 names ----------------------------------------------------------------------------------
# Projects written for alfred 0.2 and the later 0.x versions call these (docs/migrating.md).

class TrainingIterator:
    """``for it in TrainingIterator(max_itr): ...``: a training loop's counter, heartbeat and
    running lists of values.

    Iterating yields the iterator itself ``max_itr`` times; ``it.itr`` is the iteration
    (0-based). ``it.heartbeat`` is True on the first and the last iteration, on every
    ``heartbeat_ite``-th one, and on the first one at least ``heartbeat_time`` seconds after the
    previous heartbeat (or ``touch()``); False otherwise. ``it.elapsed`` is the seconds between
    the last two heartbeats. ``record``/``update`` collect values that ``pop``/``pop_mean``/
    ``pop_all_means`` return and forget, e.g. to log means at each heartbeat.
    """

    def __init__(self, max_itr: int, heartbeat_ite: int = sys.maxsize, heartbeat_time: float = float("inf")):
        if heartbeat_ite < 1:
            raise ValueError(f"heartbeat_ite must be >= 1, got {heartbeat_ite}")
        self.max_itr = max_itr
        self.heartbeat_ite = heartbeat_ite
        self.heartbeat_time = heartbeat_time
        self.itr = 0
        self.heartbeat = False
        self.elapsed = 0.0
        self._last_beat = time.time()
        self._values: dict[str, list] = {}

    def __iter__(self):
        for i in range(self.max_itr):
            self.itr = i
            now = time.time()
            if (i % self.heartbeat_ite == 0 or i == self.max_itr - 1
                    or now - self._last_beat >= self.heartbeat_time):
                self.heartbeat = True
                self.elapsed = now - self._last_beat
                self._last_beat = now
            yield self
            self.heartbeat = False

    def touch(self) -> None:
        """Restart the heartbeat clock (e.g. after a slow evaluation that should not count)."""
        self._last_beat = time.time()

    def itr_message(self) -> str:
        """``'==> Itr 11/100 (elapsed: 2.31 s)'``, to log at heartbeats."""
        return f"==> Itr {self.itr + 1}/{self.max_itr} (elapsed: {self.elapsed:.2f} s)"

    def record(self, key: str, value: Any) -> None:
        self._values.setdefault(key, []).append(value)

    def update(self, dict: dict[str, Any]) -> None:  # noqa: A002 (the argument's name in 0.2)
        for key, value in dict.items():
            self.record(key, value)

    def pop(self, key: str) -> list:
        """The values recorded under ``key`` since the last pop ([] if none), forgotten here."""
        return self._values.pop(key, [])

    def pop_mean(self, key: str) -> Any:
        """The mean of the values recorded under ``key`` (NaN if none), forgotten here."""
        values = self.pop(key)
        return sum(values) / len(values) if values else float("nan")

    def pop_all_means(self) -> dict[str, Any]:
        return {key: self.pop_mean(key) for key in list(self._values)}


def remove_nones(input_list: list) -> list:
    """The list without its None entries (a metric left out of some ``write_to_tape`` calls)."""
    return [x for x in input_list if x is not None]
