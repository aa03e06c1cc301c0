"""Configs: argparse Namespaces saved as JSON, and the small parsers scripts share."""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from alfred.errors import AlfredError
from alfred.protocol.fsio import MAX_JSON_BYTES, RefusedFile, atomic_write_text, read_json_or_empty, read_regular

__all__ = [
    "parse_bool",
    "add_bool_flag",
    "parse_log_level",
    "non_negative_int",
    "positive_int",
    "positive_float",
    "read_json_or_empty",
    "save_dict_to_json",
    "load_dict_from_json",
    "save_config_to_json",
    "load_config_from_json",
    "config_to_str",
    "format_config",
    "update_config",
    "convert_to_type_from_str",
    "validate_config_unique",
]


class BoolArgumentError(argparse.ArgumentTypeError, ValueError):
    """Not a boolean word. An ``ArgumentTypeError``, so argparse shows its message, and a
    ``ValueError``, which callers of 0.2's ``parse_bool`` catch."""


_TRUE_WORDS = ("true", "t", "yes", "y", "1")
_FALSE_WORDS = ("false", "f", "no", "n", "0")


def parse_bool(bool_arg: str | bool) -> bool:
    """argparse ``type=`` for booleans: true/t/yes/y/1 and false/f/no/n/0, any case.

    Anything else raises ``BoolArgumentError``, both an ``argparse.ArgumentTypeError`` and a
    ``ValueError``.
    """
    if isinstance(bool_arg, bool):
        return bool_arg
    lowered = str(bool_arg).strip().lower()
    if lowered in _TRUE_WORDS:
        return True
    if lowered in _FALSE_WORDS:
        return False
    raise BoolArgumentError(f"expected a boolean (true/false, yes/no, 1/0), got {bool_arg!r}")


def add_bool_flag(parser, *names: str, default: bool | None = False, help: str = "") -> None:
    """Add a boolean flag that takes both forms: ``--flag`` (True) and ``--flag True|False``
    (any word ``parse_bool`` knows), the second being how alfred 0.2 wrote every boolean flag.

    ``parser`` may be an argument group. ``default=None`` leaves the choice to a later default
    (e.g. a schedule's RESULTS).
    """
    parser.add_argument(*names, nargs="?", const=True, default=default, type=parse_bool, metavar="BOOL", help=help)


def _int_at_least(text: str, low: int, kind: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {kind}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse ``type=`` for an integer >= 1."""
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """argparse ``type=`` for an integer >= 0."""
    return _int_at_least(text, 0, "a non-negative integer")


def positive_float(text: str) -> float:
    """argparse ``type=`` for a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def stale_after_arg(text: str) -> float:
    """argparse ``type=`` for ``--stale_after_s``: seconds, at least the floor every reader honours."""
    from alfred.protocol.seed_state import check_stale_after

    value = positive_float(text)
    why = check_stale_after(value)
    if why is not None:
        raise argparse.ArgumentTypeError(why.split(": ", 1)[1])
    return value


def add_stale_after_arg(parser: argparse.ArgumentParser, *, launch: bool = False) -> None:
    """``--stale_after_s``: for a launch, the threshold its claims record; for readers, the least age judged."""
    from alfred.protocol.seed_state import MIN_STALE_S, STALE_FLOOR_S

    if launch:
        text = ("heartbeat age in seconds after which others may call a run of this launch dead; each claim records "
                "it, and a worker whose heartbeats fail stops its run a margin before it (default: 5 heartbeats, "
                f"at least {MIN_STALE_S:.0f} s; at least {STALE_FLOOR_S:.0f} s and 3 heartbeats)")
    else:
        text = ("heartbeat age in seconds after which a run on another host counts as interrupted, never less than "
                f"the threshold its claim records (default: what the claim records, else 5 heartbeats and at least "
                f"{MIN_STALE_S:.0f} s; at least {STALE_FLOOR_S:.0f} s)")
    parser.add_argument("--stale_after_s", type=stale_after_arg, default=None, metavar="SECONDS", help=text)


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LogLevelError(argparse.ArgumentTypeError, ValueError):
    """Not a log level name (see ``BoolArgumentError`` for why both classes)."""


def parse_log_level(level_arg: str | int) -> int:
    """argparse ``type=`` for a log level name (debug, info, warning, error, critical; any case)."""
    if isinstance(level_arg, int) and not isinstance(level_arg, bool):
        return level_arg
    level = str(level_arg).strip().upper()
    if level not in _LOG_LEVELS:
        raise LogLevelError(f"unknown log level {level_arg!r}; valid: {', '.join(_LOG_LEVELS)}")
    return getattr(logging, level)


def save_dict_to_json(dictionary: dict[str, Any], filename: str | os.PathLike) -> None:
    """Write ``dictionary`` as indented JSON, atomically (see ``atomic_write_text``)."""
    atomic_write_text(filename, json.dumps(dictionary, indent=2, sort_keys=False) + "\n")


def load_dict_from_json(filename: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON object; a missing, corrupted or refused file (a link, a FIFO, a device, over
    64 MiB) raises AlfredError naming the file."""
    return _load_json_object(filename, MAX_JSON_BYTES, "JSON files", "")


def _load_json_object(filename: str | os.PathLike, max_bytes: int, what: str, setting: str) -> dict[str, Any]:
    path = Path(filename)
    try:
        data = json.loads(read_regular(path, max_bytes=max_bytes, what=what, setting=setting))
    except FileNotFoundError:
        raise AlfredError(f"missing file {path}") from None
    except RefusedFile as e:  # a link, a FIFO or a device planted in a storage dir; a runaway size
        raise AlfredError(str(e)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AlfredError(f"corrupted JSON in {path}: {e}") from None
    if not isinstance(data, dict):
        raise AlfredError(f"{path} holds a JSON {type(data).__name__}, expected an object")
    return data


def save_config_to_json(config: argparse.Namespace | dict[str, Any], filename: str | os.PathLike) -> None:
    """Save a config (Namespace or dict) as JSON, atomically: ``vars(config)``."""
    data = vars(config) if isinstance(config, argparse.Namespace) else dict(config)
    save_dict_to_json(data, filename)


def load_config_from_json(filename: str | os.PathLike) -> argparse.Namespace:
    """Load a config saved by ``save_config_to_json`` as an argparse Namespace (AlfredError for a
    file over alfred.defaults.MAX_CONFIG_BYTES, or refused as by ``load_dict_from_json``)."""
    from alfred import defaults

    return argparse.Namespace(**_load_json_object(filename, defaults.MAX_CONFIG_BYTES, "configs", "MAX_CONFIG_BYTES"))


def format_config(config: argparse.Namespace | dict[str, Any]) -> str:
    """One aligned ``name : value`` line per hyperparameter, sorted by name, values as repr."""
    data = vars(config) if isinstance(config, argparse.Namespace) else config
    width = max((len(k) for k in data), default=0)
    return "\n".join(f"{k:<{width}} : {data[k]!r}" for k in sorted(data))


def update_config(config: argparse.Namespace, new_values: dict[str, Any]) -> argparse.Namespace:
    """Return a copy of ``config`` with ``new_values`` set; unknown names raise AlfredError."""
    unknown = sorted(set(new_values) - set(vars(config)))
    if unknown:
        raise AlfredError(
            f"unknown hyperparameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(vars(config)))}"
        )
    return argparse.Namespace(**{**vars(config), **new_values})


# 0.2 names ----------------------------------------------------------------------------------
# Projects written for alfred 0.2 and the later 0.x versions call these (docs/migrating.md).

def config_to_str(config: argparse.Namespace | dict[str, Any]) -> str:
    """``'Configs'``, then one indented ``name: value`` line per attribute, in their order.

    The 0.2 format, which projects log and sometimes parse; ``format_config`` aligns and sorts.
    """
    data = vars(config) if isinstance(config, argparse.Namespace) else config
    return "Configs" + "".join(f"\n    {name}: {value}" for name, value in data.items())


_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)")


def convert_to_type_from_str(string: str) -> Any:
    """The value a command-line word stands for: ``'0.1'`` -> 0.1, ``'3'`` -> 3, ``'none'`` ->
    None, a ``parse_bool`` word (``'true'``, ``'no'``, ...; not ``'1'``/``'0'``, which are ints)
    -> bool, anything else -> the string itself."""
    text = string.strip()
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    if text.lower() == "none":
        return None
    if text.lower() in _TRUE_WORDS or text.lower() in _FALSE_WORDS:
        return parse_bool(text)
    return string


def validate_config_unique(config: argparse.Namespace | dict[str, Any],
                           config_unique: argparse.Namespace | dict[str, Any]) -> None:
    """AlfredError when a key of ``config_unique`` is missing from ``config`` or holds another value
    there (e.g. a config edited by hand after prepare_schedule wrote both files)."""
    full = vars(config) if isinstance(config, argparse.Namespace) else config
    unique = vars(config_unique) if isinstance(config_unique, argparse.Namespace) else config_unique
    differ = [f"{k}: {unique[k]!r} in config_unique, {full.get(k, '<missing>')!r} in config"
              for k in unique if k not in full or full[k] != unique[k]]
    if differ:
        raise AlfredError("config and config_unique disagree on " + "; ".join(differ))
