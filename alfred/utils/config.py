"""Configs: argparse Namespaces saved as JSON, and the small parsers scripts share."""
from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

from alfred.utils.misc import AlfredError, atomic_write_text

__all__ = [
    "parse_bool",
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
    "update_config",
]


def parse_bool(value: str | bool) -> bool:
    """argparse ``type=`` for booleans: true/false, yes/no, 1/0 (any case)."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("true", "t", "yes", "y", "1"):
        return True
    if lowered in ("false", "f", "no", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (true/false, yes/no, 1/0), got {value!r}")


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


def read_json_or_empty(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object from ``path``, or {} when it is missing, half-written or not an object.

    For FLAG-files read while other processes may be replacing them.
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_log_level(value: str) -> int:
    """argparse ``type=`` for a log level name (DEBUG, INFO, ...)."""
    level = value.strip().upper()
    if level not in _LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"unknown log level {value!r}; valid: {', '.join(_LOG_LEVELS)}")
    return getattr(logging, level)


def save_dict_to_json(data: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``data`` as indented JSON, atomically (see ``atomic_write_text``)."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def load_dict_from_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON object; a missing or corrupted file raises AlfredError naming the file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except FileNotFoundError:
        raise AlfredError(f"missing file {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AlfredError(f"corrupted JSON in {path}: {e}") from None
    if not isinstance(data, dict):
        raise AlfredError(f"{path} holds a JSON {type(data).__name__}, expected an object")
    return data


def save_config_to_json(config: argparse.Namespace | dict[str, Any], path: str | os.PathLike) -> None:
    """Save a config (Namespace or dict) as JSON, atomically."""
    data = vars(config) if isinstance(config, argparse.Namespace) else dict(config)
    save_dict_to_json(data, path)


def load_config_from_json(path: str | os.PathLike) -> argparse.Namespace:
    """Load a config saved by ``save_config_to_json`` as an argparse Namespace."""
    return argparse.Namespace(**load_dict_from_json(path))


def config_to_str(config: argparse.Namespace | dict[str, Any]) -> str:
    """One ``name: value`` line per hyperparameter, sorted by name, for logs."""
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
