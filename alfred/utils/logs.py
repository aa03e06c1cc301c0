"""Loggers for scripts and runs: ``create_logger`` (also importable from alfred.utils.misc, as in 0.2)."""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from alfred.protocol.fsio import open_regular

__all__ = ["create_logger", "close_logger", "SafeFileHandler"]

_LOG_FORMAT = "%(asctime)s %(levelname)-8s %(message)s"


def create_logger(
    name: str,
    loglevel: int | str = logging.INFO,
    logfile: str | os.PathLike | None = None,
    streamHandle: bool = True,  # noqa: N803 (0.2's keyword name)
    *,
    stream: bool | None = None,
    gate: Callable[[], bool] | None = None,
) -> logging.Logger:
    """Return the logger ``name`` with fresh handlers: stdout (``stream``, or 0.2's
    ``streamHandle``) and/or ``logfile``, appended to.

    Calling it again with the same name closes and replaces the previous handlers, so a
    worker that runs thousands of seeds reuses one logger and never leaks file handles.
    ``loglevel`` is a level number or name ('info', 'DEBUG', ...). ``gate``: while it returns
    True, nothing more is written to ``logfile`` (a worker that lost its seed). The file is
    never opened through a symlink or a FIFO, and a full disk drops records, never the caller.
    """
    logger = logging.getLogger(name)
    close_logger(logger)
    logger.setLevel(loglevel.strip().upper() if isinstance(loglevel, str) else loglevel)
    logger.propagate = False
    formatter = logging.Formatter(_LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    if streamHandle if stream is None else stream:
        handler: logging.Handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    if logfile is not None:
        handler = SafeFileHandler(logfile, gate=gate)  # opened at the first record
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger


def close_logger(logger: logging.Logger) -> None:
    """Remove and close every handler of ``logger`` (closing releases their files)."""
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


class SafeFileHandler(logging.FileHandler):
    """A FileHandler (append mode, opened at the first record) that never follows a symlink,
    never blocks on a FIFO, stops writing once ``gate()`` is True, and survives a full disk:
    a record that cannot be written is dropped, with one line on stderr the first time."""

    def __init__(self, filename: str | os.PathLike, *, gate: Callable[[], bool] | None = None):
        super().__init__(filename, mode="a", encoding="utf-8", delay=True)
        self.gate = gate
        self.failed = False

    def _open(self):  # never a symlink, a FIFO or a device planted there (RefusedFile, one line)
        fd = open_regular(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)  # noqa: SIM115 (FileHandler's stream)

    def emit(self, record: logging.LogRecord) -> None:
        if self.gate is not None and self.gate():
            return
        try:  # logging.FileHandler opens its file outside its own try: an error there would reach the caller
            if self.stream is None:
                self.stream = self._open()
        except Exception:
            self.handleError(record)
            return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        if not self.failed:
            self.failed = True
            try:
                sys.stderr.write(f"alfred: cannot write to {self.baseFilename} ({sys.exc_info()[1]}); "
                                 "the log lines of this run are dropped\n")
            except Exception:
                pass
