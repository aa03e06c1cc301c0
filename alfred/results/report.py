"""One self-contained HTML page per search or list of searches, rebuilt from files alone.

The report reads what the search already wrote -- seed FLAG-files, each experiment's
``config_unique.json``, ``summary/summary.json``, the PNGs of ``summary/``, ``plots/`` and of a
list's comparison folder -- and writes one HTML file: figures embedded as data URIs, CSS and a
little plain JavaScript inline, so it opens from a cluster's shared filesystem or as a mail
attachment and makes no network request. Links to files (CRASH.txt, logger.out, figures)
are relative to the report's folder, so the report moves with its storage dirs.

Where it is written: ``report_<name>.html`` beside a list file ``list_<name>.txt`` (the
naming of ``benchmark_<name>/``), or ``report.html`` in a storage dir.
"""
from __future__ import annotations

import os
from pathlib import Path

from alfred.protocol.layout import StorageDir, list_report_path
from alfred.results.report_data import ReportResult, collect_report
from alfred.utils.misc import AlfredError, atomic_write_text

__all__ = ["report_path", "write_report", "write_storage_report"]


def report_path(*, list_file: Path | None = None, storage_dir: Path | None = None) -> Path:
    """``report_<name>.html`` beside ``list_<name>.txt``, or ``<storage_dir>/report.html``."""
    if list_file is not None:
        return list_report_path(list_file)
    if storage_dir is None:
        raise AlfredError("a report needs a list file or a storage dir")
    return StorageDir(storage_dir).report


def write_report(storage_dirs: list[Path], path: str | os.PathLike, *, list_file: Path | None = None,
                 refresh_s: float | None = None, now: float | None = None) -> ReportResult:
    """Collect, render and write the report atomically (readers never see half a page).

    Args:
        storage_dirs: the storage dirs to show, in order.
        path: the HTML file to write; its folder must exist.
        list_file: the list file the dirs came from (adds its comparison figures).
        refresh_s: with a value, the page reloads itself every ``refresh_s`` seconds while
            some search is unfinished (for ``--watch``, which rewrites it).
    """
    from alfred.results.report_html import render_report

    path = Path(path)
    if not path.parent.is_dir():
        raise AlfredError(f"cannot write {path}: folder {path.parent} does not exist")
    view = collect_report(list(map(Path, storage_dirs)), out_dir=path.parent, list_file=list_file,
                          refresh_s=refresh_s, now=now)
    text = render_report(view)
    atomic_write_text(path, text)
    return ReportResult(path, len(text.encode("utf-8")), view.finished, len(view.searches))


def write_storage_report(storage_dir: str | os.PathLike) -> Path:
    """Rewrite ``<storage_dir>/report.html`` (after an automatic summary); returns its path."""
    path = report_path(storage_dir=Path(storage_dir))
    write_report([Path(storage_dir)], path)
    return path
