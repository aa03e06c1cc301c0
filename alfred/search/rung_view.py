"""What the rung records of an adaptive search say, read-only: values per trial, and a table per rung.

The records are written by the workers (alfred.protocol.rung_records); this module only lists
them, for proposals (the sampler's history, the step budget), status, summaries and the report::

    <storage_dir>/rungs/bracket<b>/step<s>/<trial>           the record; its content is the value
                                           <trial>=<value>   the same record, value in the name
                                           <trial>.decision  stop mode: "continue" or "stop"
                                           <trial>.promoted  promote mode: the promotion

One listing per rung (``rung_records.read_rung`` without its repair): a value is taken from an
alias that is its record's file, and read from the record itself only where the alias is missing
(a writer stopped between its two links). Nothing here writes.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field

from alfred.protocol import rung_records

__all__ = ["RungRecords", "RungRow", "AdaptiveRanking", "read_rungs", "trial_values", "rung_table", "format_rung_table",
           "adaptive_ranking"]

_RUNGS = "rungs"
RUNGS_TABLE_FILE = "rungs.txt"  # in summary/: the rungs table, as status shows it
_BRACKET = re.compile(r"bracket(\d+)")
_STEP = re.compile(r"step(\d+)")


@dataclass
class RungRecords:
    """One rung's listing: trial -> value, the stop decisions, the promoted trials."""

    bracket: int
    step: int
    values: dict[str, float] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)
    promoted: set[str] = field(default_factory=set)


def _numbered(folder: str, pattern: re.Pattern) -> list[tuple[int, str]]:
    try:
        with os.scandir(folder) as entries:
            found = [(int(m.group(1)), e.path) for e in entries
                     if (m := pattern.fullmatch(e.name)) and e.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found)


def _read_rung(storage_dir: str, bracket: int, step: int) -> RungRecords:
    listed = rung_records.read_rung(storage_dir, bracket, step, repair=False)
    rung = RungRecords(bracket, step, dict(listed.records), promoted=set(listed.promoted))
    for trial in listed.decided:
        decision = rung_records.read_decision(storage_dir, bracket, step, trial)
        if decision:
            rung.decisions[trial] = decision
    return rung


def read_rungs(storage_dir: str | os.PathLike) -> list[RungRecords]:
    """Every rung of the storage dir, by (bracket, step); [] for a search without records."""
    top = os.path.join(os.fspath(storage_dir), _RUNGS)
    return [_read_rung(os.fspath(storage_dir), b, s) for b, bracket_dir in _numbered(top, _BRACKET)
            for s, _ in _numbered(bracket_dir, _STEP)]


def trial_values(rungs: list[RungRecords]) -> dict[str, dict[int, float]]:
    """trial -> {step: value} over every rung listed."""
    values: dict[str, dict[int, float]] = {}
    for rung in rungs:
        for trial, value in rung.values.items():
            values.setdefault(trial, {})[rung.step] = value
    return values


@dataclass
class RungRow:
    """One line of the rungs table: how many runs reached the rung, and what became of them.

    ``stopped``: stop mode, decided "stop" there; ``promoted``: promote mode, promoted from there;
    ``paused``: promote mode, recorded there, not promoted (yet); ``best``: the best value recorded."""

    bracket: int
    step: int
    reached: int
    stopped: int
    continued: int
    paused: int
    promoted: int
    best: float | None
    final: bool  # the rung at max_resource: its records are final values, no decision

    def to_dict(self) -> dict:
        return asdict(self)


def rung_table(rungs: list[RungRecords], *, mode: str, max_resource: int, direction: str) -> list[RungRow]:
    """The rows of the rungs table, by (bracket, step)."""
    rows = []
    for rung in rungs:
        final = rung.step >= max_resource
        values = [v for v in rung.values.values() if not math.isnan(v)]
        best = (max(values) if direction == "max" else min(values)) if values else None
        stopped = sum(d == "stop" for d in rung.decisions.values())
        continued = sum(d == "continue" for d in rung.decisions.values())
        promoted = len(rung.promoted & set(rung.values)) if mode == "promote" else 0
        paused = len(rung.values) - promoted if mode == "promote" and not final else 0
        rows.append(RungRow(rung.bracket, rung.step, len(rung.values), stopped, continued, paused, promoted,
                            best, final))
    return rows


def format_rung_table(rows: list[RungRow], *, mode: str, metric: str) -> list[str]:
    """The table as text lines (status, summary/rungs.txt)."""
    if not rows:
        return ["no rung reached yet"]
    several = len({r.bracket for r in rows}) > 1
    head = (["bracket"] if several else []) + ["step", "reached"]
    head += ["stopped", "continued"] if mode == "stop" else ["paused", "promoted"]
    head.append(f"best {metric}")
    lines = [head]
    for r in rows:
        cells = ([str(r.bracket)] if several else []) + [f"{r.step}{' (final)' if r.final else ''}", str(r.reached)]
        cells += ([str(r.stopped), str(r.continued)] if mode == "stop" else [str(r.paused), str(r.promoted)])
        cells.append("-" if r.best is None else f"{r.best:.6g}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return ["  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines]


@dataclass(frozen=True)
class AdaptiveRanking:
    """Which experiments a summary of an adaptive search ranks: those that reached the highest rung reached."""

    step: int  # the highest step recorded by any run
    final: bool  # that step is max_resource: the ranked runs ran to the end
    experiments: tuple[int, ...]  # experiments with a record there (one of their seeds)
    n_experiments: int  # experiments of the search

    def note(self) -> str:
        where = f"step {self.step} (max_resource)" if self.final else f"step {self.step}, the highest rung reached"
        return (f"adaptive search: ranked among the {len(self.experiments)} of {self.n_experiments} experiments "
                f"that reached {where}; the others were stopped or paused earlier, or have not got there yet")


def adaptive_ranking(storage_dir: str | os.PathLike) -> AdaptiveRanking | None:
    """None for a grid or random search, or an adaptive one without any rung record."""
    from alfred.adaptive.spec import load_spec
    from alfred.protocol.layout import experiment_num_of
    from alfred.protocol.listing import list_experiment_dirs

    spec = load_spec(storage_dir)
    if spec is None:
        return None
    values = trial_values(read_rungs(storage_dir))
    if not values:
        return None
    step = max(max(v) for v in values.values() if v)
    reached = sorted({experiment_num_of(trial.partition("-")[0]) for trial, v in values.items() if step in v})
    return AdaptiveRanking(step, step >= spec.max_resource, tuple(reached), len(list_experiment_dirs(storage_dir)))
