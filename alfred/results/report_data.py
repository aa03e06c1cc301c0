"""What a report shows, read from files alone: each search's status, experiments and summary.

alfred.results.report writes the page; alfred.results.report_html renders it.
"""
from __future__ import annotations

import base64
import math
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from alfred.protocol import locks
from alfred.protocol.fsio import read_regular
from alfred.protocol.layout import (
    SUMMARY_COMPLETED,
    SUMMARY_FAILED,
    SUMMARY_ONGOING,
    SeedDir,
    StorageDir,
    comparison_dir,
)
from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs
from alfred.protocol.seed_state import SeedState, seed_state

# Every fact the report shows comes through these imports.
from alfred.results.labels import varied_keys
from alfred.search.status import StorageStatus, storage_status
from alfred.utils.config import read_json_or_empty

__all__ = ["ExperimentRow", "SearchView", "ReportView", "ReportResult", "collect_search", "collect_report",
           "embed_png"]

MAX_TABLE_ROWS = 5000                  # experiments listed per search (best first); all are in summary.json
MAX_FIGURE_BYTES = 4 * 1024 * 1024     # a larger PNG is linked, not embedded
MAX_EMBEDDED_BYTES = 16 * 1024 * 1024  # figures past this much (base64) in one report are linked
MAX_CRASH_GROUPS = 10                  # distinct exception lines listed per search
MAX_CRASH_RUNS = 5                     # seeds linked per exception line


@dataclass
class ExperimentRow:
    """One experiment: its config (first seed, without ``seed``), seeds per state, summary figures."""

    number: int
    values: dict
    states: dict[SeedState, int]
    rank: int | None = None  # 1 = best, from summary.json's ranking
    score: float | None = None
    lower: float | None = None
    upper: float | None = None
    n_seeds: int | None = None  # seeds the summary scored
    overlaps_best: bool = False
    all_seeds_equal: bool = False  # a zero-width interval: no spread seen, said as such


@dataclass
class SearchView:
    """Everything the report shows about one storage dir."""

    storage_dir: Path
    status: StorageStatus
    kind: str  # grid, random, retrain, or "" when the folder has no kind flag
    experiments: list[ExperimentRow]
    varied: list[str]  # hyperparameters whose value differs between experiments
    summary: dict | None = None
    summary_state: str = "none"  # current | stale | ongoing | failed | none
    summary_note: str = ""
    summary_figures: list[Path] = field(default_factory=list)
    plot_arrays: list[Path] = field(default_factory=list)
    n_experiments: int = 0  # all of them; ``experiments`` holds at most MAX_TABLE_ROWS

    @property
    def finished(self) -> bool:
        """No seed waits or runs, and no summary is being written."""
        return not self.status.active and self.summary_state != "ongoing"


@dataclass
class ReportView:
    title: str
    searches: list[SearchView]
    out_dir: Path  # the report's folder: every link is relative to it
    written_epoch: float
    list_file: Path | None = None
    comparison_dir: Path | None = None
    comparison_figures: list[Path] = field(default_factory=list)
    comparison_hint: str = ""
    refresh_s: float | None = None  # written into the page only while some search is unfinished
    embed_budget: int = MAX_EMBEDDED_BYTES  # what figures may still add while rendering (bytes of base64)

    @property
    def finished(self) -> bool:
        return all(s.finished for s in self.searches)


@dataclass
class ReportResult:
    path: Path
    n_bytes: int
    finished: bool
    n_searches: int


# ----------------------------------------------------------------------------- collecting
def _first_config(seed_dirs: list[tuple[int, str]]) -> dict:
    """The config_unique.json of the experiment's first seed that has one, without ``seed``."""
    for _, seed_dir in seed_dirs:
        config = read_json_or_empty(SeedDir(seed_dir).config_unique_path)
        if config:
            config.pop("seed", None)
            return config
    return {}


def _finite(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _storage_kind(storage_dir: Path) -> str:
    from alfred.adaptive.spec import SPEC_FILE  # an adaptive search is marked random, and holds adaptive.json

    return "adaptive" if (storage_dir / SPEC_FILE).is_file() else StorageDir(storage_dir).kind() or ""


def _completed_when_summarised(summary: dict, storage_dir: Path) -> int | None:
    """How many seeds had completed when ``summary`` was made: from its load report (every seed
    lands in one list: all seeds less crashed and unfinished ones), else from SUMMARY_COMPLETED."""
    load = summary.get("load_report") or {}
    lists = [load.get(k) for k in ("crashed", "unfinished", "missing_recorder", "unreadable", "empty")]
    if isinstance(load.get("loaded"), int) and all(isinstance(v, list) for v in lists):
        return load["loaded"] + sum(len(v) for v in lists[2:])
    made_from = read_json_or_empty(StorageDir(storage_dir).flag(SUMMARY_COMPLETED)).get("n_completed")
    return made_from if isinstance(made_from, int) else None


def _read_summary(view: SearchView) -> None:
    """Fill the summary fields: the summary itself, and whether it is current, stale, failed, ..."""
    storage_dir, status = view.storage_dir, view.status
    storage = StorageDir(storage_dir)
    summary_path = storage.summary_files.json
    summary = read_json_or_empty(summary_path) if summary_path.is_file() else {}
    view.summary = summary if "best_experiment" in summary else None
    name = storage_dir.name
    if locks.holder(storage.flag(SUMMARY_ONGOING)) is not None:
        view.summary_state = "ongoing"
        view.summary_note = "a summary is being written now" + ("; the one below is the previous one"
                                                                 if view.summary else "")
    elif view.summary is not None:
        made_from = _completed_when_summarised(view.summary, storage_dir)
        if made_from is not None and made_from < status.completed:
            view.summary_state = "stale"
            view.summary_note = (f"this summary counts {made_from} completed seed(s); {status.completed} have "
                                 f"completed since: python -m alfred.benchmark --storage_names {name} "
                                 "--re_run_if_exists")
        else:
            view.summary_state = "current"
    elif storage.flag(SUMMARY_FAILED).exists():
        view.summary_state = "failed"
        error = read_json_or_empty(storage.flag(SUMMARY_FAILED)).get("error") or "(no message recorded)"
        view.summary_note = f"the summary failed: {error}"
    elif status.active:
        view.summary_note = (f"no summary yet: it is written when no seed is left to run "
                             f"({status.finished} of {status.total} seeds done)")
    else:
        view.summary_note = f"no summary yet: python -m alfred.benchmark --storage_names {name}"
    if view.summary is not None:
        listed = view.summary.get("figures")
        found = sorted(storage.summary_dir.glob("*.png"))
        order = {n: i for i, n in enumerate(listed)} if isinstance(listed, list) else {}
        view.summary_figures = sorted(found, key=lambda p: (order.get(p.name, len(order)), p.name))


def collect_search(storage_dir: str | os.PathLike, *, now: float | None = None) -> SearchView:
    """Read one storage dir's state, experiments and summary; AlfredError if it does not exist."""
    storage_dir = Path(storage_dir)
    now = time.time() if now is None else now
    status = storage_status(storage_dir, with_crashes=True, now=now)
    rows, configs = [], []
    for number, experiment_dir in list_experiment_dirs(storage_dir):
        try:
            seed_dirs = list_seed_dirs(experiment_dir)
        except FileNotFoundError:
            continue
        states: dict[SeedState, int] = {}
        for _, seed_dir in seed_dirs:
            state = seed_state(seed_dir, now=now).state
            states[state] = states.get(state, 0) + 1
        config = _first_config(seed_dirs)
        configs.append(config)
        rows.append(ExperimentRow(number, config, states))
    view = SearchView(storage_dir, status, _storage_kind(storage_dir), rows, varied_keys(configs),
                      n_experiments=len(rows))
    _read_summary(view)
    if view.summary is not None:
        by_number = {r.number: r for r in rows}
        overlapping = set(view.summary.get("overlapping_experiments") or ())
        for rank, entry in enumerate(view.summary.get("ranking") or (), start=1):
            row = by_number.get(entry.get("experiment"))
            if row is None:
                continue
            row.rank, row.n_seeds = rank, entry.get("n_seeds")
            row.score, row.lower, row.upper = (_finite(entry.get(k)) for k in ("score", "lower", "upper"))
            row.overlaps_best = row.number in overlapping
            row.all_seeds_equal = bool(entry.get("all_seeds_equal"))
        rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.number))
    del rows[MAX_TABLE_ROWS:]
    plots_dir = StorageDir(storage_dir).plots_dir
    view.plot_arrays = sorted(plots_dir.glob("*.png")) if plots_dir.is_dir() else []
    return view


def collect_report(storage_dirs: list[Path], *, out_dir: Path, list_file: Path | None = None,
                   refresh_s: float | None = None, now: float | None = None) -> ReportView:
    """The report's content for some storage dirs; with ``list_file``, their comparison figures too."""
    now = time.time() if now is None else now
    searches = [collect_search(d, now=now) for d in storage_dirs]
    title = Path(list_file).name if list_file is not None else (searches[0].storage_dir.name if searches else "")
    view = ReportView(title, searches, Path(out_dir), now, list_file=list_file, refresh_s=refresh_s)
    if list_file is not None and searches:
        folder = comparison_dir(list_file, [s.storage_dir for s in searches])
        kind = "compare_models" if any(s.kind == "retrain" for s in searches) else "compare_searches"
        view.comparison_dir = Path(folder)
        view.comparison_figures = sorted(Path(folder).glob("*.png")) if Path(folder).is_dir() else []
        view.comparison_hint = (f"python -m alfred.benchmark --from_file {list_file} --benchmark_type {kind}")
    return view


def embed_png(path: Path) -> tuple[str, int, int] | None:
    """(``data:image/png;base64,...``, width, height in pixels) of a PNG file; None when it is
    unreadable, not a PNG, or too large to embed."""
    try:
        data = read_regular(path, max_bytes=MAX_FIGURE_BYTES)  # no link, FIFO or device; none too large
    except OSError:
        return None
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), width, height
