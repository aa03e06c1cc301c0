"""Small shared helpers: the user-facing error, atomic writes, loggers, prompts."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

__all__ = [
    "AlfredError",
    "atomic_write_text",
    "create_logger",
    "close_logger",
    "ask_yes_no",
    "cli_main",
    "call_with_flags",
    "progress_bar",
    "short_value",
    "temp_sibling",
    "lazy_exports",
    # 0.2 names (end of this module)
    "create_new_filehandler",
    "create_management_objects",  # noqa: F822 (lazy, see __getattr__ below)
    "check_params_defined_twice",
    "select_storage_dirs",  # noqa: F822 (lazy, see __getattr__ below)
    "keep_two_signif_digits",
    "round_to_two",
    "sorted_nicely",
    "formatted_time_diff",
    "uniquify",
]


class AlfredError(Exception):
    """A problem with the user's input or files: shown as one line, exit code 2."""


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old content or the new, never half.

    The data goes to a temporary file in the same folder, then ``os.replace`` swaps it in:
    rename within one directory is atomic on POSIX filesystems and on NFS (the server
    performs it as one operation). A process killed mid-write leaves at most a stray
    ``.tmp-*`` file, never a truncated ``path``.
    """
    import tempfile  # here: `from alfred.utils import *` stays quick

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would, so that
        # colleagues on a shared filesystem can read configs, summaries and reports.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    """This process's umask, read without changing it (Linux); 0o022 where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


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
        handler = logging.FileHandler(logfile, encoding="utf-8", delay=True)  # opened at the first record
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger


def close_logger(logger: logging.Logger) -> None:
    """Remove and close every handler of ``logger`` (closing releases their files)."""
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def ask_yes_no(question: str, *, stdin=None, stdout=None) -> bool:
    """Ask ``question`` until the answer is yes or no; end of input counts as no.

    Works with an answer piped on stdin (``yes | python -m alfred.prepare_schedule ...``).
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    while True:
        stdout.write(f"{question} (y/n) ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            stdout.write("\nno answer (end of input): aborting\n")
            return False
        if not getattr(stdin, "isatty", lambda: False)():
            stdout.write(line if line.endswith("\n") else line + "\n")  # echo a piped answer
        answer = line.strip().lower()
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False
        stdout.write("please answer y or n\n")


def cli_main(run, argv: list[str] | None) -> int:
    """Run a script's ``run(argv)``; an AlfredError becomes one line on stderr and exit code 2."""
    try:
        return run(argv)
    except AlfredError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def call_with_flags(run, parser, flags: dict) -> int:
    """Run a script's ``run(argv)`` from keyword arguments named like its flags (the dest names):
    the Python entry points of 0.2, e.g. ``prepare_schedule(schedule_file=..., desc=...)``.

    None leaves a flag out; a bool gives ``--flag True|False`` (``--flag`` / nothing for a
    plain switch); a list gives one value each. 0.2's ``logger`` argument is accepted and
    unused (scripts print their own lines), and ``ask_for_validation=False`` means ``--yes``
    where the script has no such flag (and nothing where it asks no question). AlfredError propagates; the exit
    code is returned.
    """
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    flags = {k: v for k, v in flags.items() if k != "logger"}
    if "ask_for_validation" in flags and "ask_for_validation" not in actions:
        asked = flags.pop("ask_for_validation")
        if "yes" in actions:  # a script that asks nothing ignores it
            flags["yes"] = flags.get("yes") or not asked
    argv: list[str] = []
    for dest, value in flags.items():
        action = actions.get(dest)
        if action is None:
            valid = ", ".join(sorted(d for d in actions if d != "help"))
            raise TypeError(f"unexpected keyword argument {dest!r}; valid: {valid}")
        option = next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
        if value is None:
            continue
        if isinstance(value, bool) and action.nargs == 0:  # store_true
            argv += [option] if value else []
        elif isinstance(value, (list, tuple)) and action.nargs in ("+", "*"):
            argv += [option, *map(str, value)]
        elif isinstance(value, (list, tuple)):  # action="append"
            for item in value:
                argv += [option, str(item)]
        else:
            argv += [option, str(value)]
    return run(argv)


def short_value(value: object) -> str:
    """Format a hyperparameter value for a label: 3 significant digits for non-integer numbers.

    ``0.000123456 -> "0.000123"``, ``1e-05 -> "1e-05"``, ``64 -> "64"``, ``True -> "True"``,
    ``"adam" -> "adam"``, ``[1, 2] -> "[1, 2]"``. Any real non-integral number (Python or
    numpy float) is rounded; everything else is ``str(value)``.
    """
    import numbers

    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{value:.3g}"
    return str(value)


class progress_bar:
    """``with progress_bar(total, unit="seed") as update:`` a tqdm bar for large jobs (at least
    ``min_total`` steps); ``update`` is None for small ones, which stay silent."""

    def __init__(self, total: int, *, unit: str, desc: str = "", min_total: int = 2000):
        self.bar = None
        if total >= min_total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=unit, desc=desc, leave=False)

    def __enter__(self):
        return self.bar.update if self.bar else None

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.close()


def temp_sibling(path: str | os.PathLike, tag: str = "tmp") -> Path:
    """A unique hidden name beside ``path`` (``.<name>.<tag>-<hex>``), for building a folder or
    file that then appears whole by one rename, or for moving one away before removing it."""
    import uuid

    path = Path(path)
    return path.with_name(f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}")


def lazy_exports(namespace: dict, exports: dict[str, str]):
    """``__getattr__`` and ``__dir__`` for a package that loads ``exports`` ({name: module}) on
    first use (PEP 562), so importing the package stays cheap."""
    import importlib

    package = namespace["__name__"]

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__


# 0.2 names ----------------------------------------------------------------------------------
# Projects written for alfred 0.2 and the later 0.x versions call these (docs/migrating.md).
# create_management_objects and select_storage_dirs need the layout, which imports this
# module: they live in alfred.utils.misc_legacy and load on first use.

def create_new_filehandler(logger_name: str, logfile: str | os.PathLike) -> logging.FileHandler:
    """A FileHandler appending to ``logfile``, formatted like alfred's loggers (not yet added to one)."""
    handler = logging.FileHandler(logfile, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter(f"%(asctime)s {logger_name} %(levelname)-8s %(message)s",
                                           datefmt="%Y-%m-%d %H:%M:%S"))
    return handler


def check_params_defined_twice(keys) -> None:
    """ValueError naming each key listed more than once (schedules call it on their keys)."""
    keys = list(keys)
    repeated = sorted({str(k) for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"hyperparameter(s) defined twice: {', '.join(repeated)}")


def keep_two_signif_digits(x: float) -> float:
    """``x`` rounded to 2 significant digits: 0.012345 -> 0.012, 1234 -> 1200.0."""
    import math

    if x == 0 or not math.isfinite(x):
        return x
    return round(x, 1 - int(math.floor(math.log10(abs(x)))))


round_to_two = keep_two_signif_digits


def sorted_nicely(l):  # noqa: E741 (0.2's argument name)
    """Natural sort: numbers inside strings compare as numbers ('exp2' before 'exp10')."""
    import re

    def key(item):
        return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                for part in re.split(r"(\d+)", str(item)) if part]

    return sorted(l, key=key)


def formatted_time_diff(total_time_seconds: float) -> str:
    """``3723`` -> ``'1h02m03s'``."""
    total = int(round(total_time_seconds))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s"


def uniquify(newfile_path: str | os.PathLike) -> str | Path:
    """``<stem>_<n+1><suffix>`` beside ``newfile_path``, n the largest k of the existing
    ``<stem>_<k><suffix>`` there (0 when none). Same type as given (str or Path)."""
    path = Path(newfile_path)
    prefix = f"{path.stem}_"
    taken = [0]
    if path.parent.is_dir():
        for sibling in path.parent.iterdir():
            if sibling.suffix == path.suffix and sibling.stem.startswith(prefix):
                number = sibling.stem[len(prefix):]
                if number.isdigit():
                    taken.append(int(number))
    new = path.with_name(f"{prefix}{max(taken) + 1}{path.suffix}")
    return new if isinstance(newfile_path, Path) else str(new)


def __getattr__(name: str):
    if name in ("create_management_objects", "select_storage_dirs"):
        import importlib

        value = getattr(importlib.import_module("alfred.utils.misc_legacy"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
