"""Loggers for scripts and runs: ``create_logger`` (also importable from alfred.utils.misc, as in 0.2)."""
from __future__ import annotations

import logging
import os
import sys

from alfred.protocol.fsio import RefusedFile, open_regular

__all__ = ["create_logger", "close_logger"]

_LOG_FORMAT = "%(asctime)s %(levelname)-8s %(message)s"


def create_logger(
    name: str,
    loglevel: int | str = logging.INFO,
    logfile: str | os.PathLike | None = None,
    streamHandle: bool = True,  # noqa: N803 (0.2's keyword name)
    *,
    stream: bool | None = None,
) -> logging.Logger:
    """Return the logger ``name`` with fresh handlers: stdout (``stream``, or 0.2's
    ``streamHandle``) and/or ``logfile``, appended to.

    Calling it again with the same name closes and replaces the previous handlers, so a
    worker that runs thousands of seeds reuses one logger and never leaks file handles.
    ``loglevel`` is a level number or name ('info', 'DEBUG', ...).
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
        handler = _LogFileHandler(logfile, encoding="utf-8", delay=True)  # opened at the first record
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger


class _LogFileHandler(logging.FileHandler):
    """Appends to a regular file only: a symbolic link, a FIFO or a device at ``logfile`` (planted
    in a shared storage dir) is not followed or waited on. Its records are dropped then, which
    one line on stderr says, and the run goes on."""

    _refused = False

    def _open(self):
        fd = open_regular(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        if self._refused:
            return
        try:
            super().emit(record)
        except RefusedFile as e:
            self._refused = True
            sys.stderr.write(f"{e}; the log lines of this run are dropped\n")


def close_logger(logger: logging.Logger) -> None:
    """Remove and close every handler of ``logger`` (closing releases their files)."""
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
