"""Small shared helpers: the user-facing error, atomic writes, loggers, prompts."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from alfred.errors import AlfredError
from alfred.protocol.fsio import atomic_write_text
from alfred.utils.logs import close_logger, create_logger

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
    "is_commented",
    "formatted_time_diff",
    "uniquify",
]


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
    """Run a script's ``run(argv)``; an AlfredError becomes one line on stderr and exit code 2,
    so does a file refused by alfred.protocol.fsio (a link, a FIFO, a device, a size over its
    limit); a full disk (ENOSPC, EDQUOT) one line and exit code 1 (what scripts build appears
    by one rename, and is taken back when a step fails)."""
    from alfred.protocol.fsio import RefusedFile

    try:
        code = run(argv)
        sys.stdout.flush()  # here, so that a reader gone away (EPIPE) is caught below, not at exit
        return code
    except AlfredError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RefusedFile as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if not is_full_disk(e):
            raise
        print(f"error: {full_disk_message(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # ``python -m alfred.status | head``: the reader went away
        return quiet_broken_pipe()


def quiet_broken_pipe() -> int:
    """The reader of stdout went away (``alfred --aliases | head``): no traceback, and no second
    error when Python flushes stdout at exit (it is pointed at /dev/null). Exit code 141, as a
    shell reports a command killed by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (e.g. captured in a test)
        pass
    finally:
        os.close(devnull)
    return 141


def is_full_disk(e: BaseException) -> bool:
    """Whether ``e`` says the disk is full: no block or inode left (ENOSPC), or the quota (EDQUOT)."""
    import errno

    return isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)


def full_disk_message(e: OSError) -> str:
    """One line for an ENOSPC or EDQUOT error: what was being written, and what to do."""
    import errno

    what = "disk quota exceeded" if e.errno == errno.EDQUOT else "no space left on the device"
    target = getattr(e, "filename2", None) or e.filename  # a copy's destination, else the file
    where = f" writing {target}" if target else ""
    return f"{what}{where} (blocks or inodes: df -h, df -i): free some space, then run the same command again"


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
# create_management_objects and select_storage_dirs need the layout and the protocol: they
# live in alfred.utils.misc_legacy and load on first use.

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


def is_commented(str_line: str, commenting_char_list) -> bool:
    """Whether ``str_line`` starts with one of ``commenting_char_list`` (e.g. ``["#"]``); False for ''."""
    return bool(str_line) and str_line[0] in commenting_char_list


def formatted_time_diff(total_time_seconds: float) -> str:
    """``3723`` -> ``'1h02m03s'``."""
    total = int(round(total_time_seconds))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s"


def uniquify(newfile_path: str | os.PathLike | None = None, *, newfilepath: str | os.PathLike | None = None
             ) -> str | Path:
    """``<stem>_<n+1><suffix>`` beside ``newfile_path``, n the largest k of the existing
    ``<stem>_<k><suffix>`` there (0 when none). Same type as given (str or Path).
    ``newfilepath`` is the argument's name at tag v0.2."""
    if (newfile_path is None) == (newfilepath is None):
        raise TypeError("uniquify() takes one path: newfile_path (or v0.2's newfilepath)")
    newfile_path = newfile_path if newfile_path is not None else newfilepath
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
