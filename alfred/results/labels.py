"""How experiments and storage dirs are named in figures, tables and summaries."""
from __future__ import annotations

import json
from pathlib import Path

from alfred.protocol.layout import StorageDir
from alfred.protocol.storage_names import StorageName
from alfred.utils.config import read_json_or_empty
from alfred.utils.misc import short_value

__all__ = [
    "fmt",
    "alg_of",
    "differing_labels",
    "experiment_label",
    "experiment_label_lines",
    "shorten",
    "storage_fields",
    "storage_heading",
    "task_of",
    "varied_keys",
]

SEP = " · "  # between the fields of a heading: ``mlp · moons · grid_demo``

_HIDDEN = ("alg_name", "task_name", "desc")  # the same for every experiment of a search


def fmt(v: float | None) -> str:
    """A score in summaries: 4 significant digits, ``nan`` when missing."""
    import math

    return "nan" if v is None or not math.isfinite(v) else f"{v:.4g}"


def shorten(text: str, max_len: int) -> str:
    return text if len(text) <= max_len else text[: max_len - 3] + "..."


def _items(config: dict, varied: list[str]) -> list[str]:
    return [f"{k}={short_value(config[k])}" for k in varied if k in config and k not in _HIDDEN]


def experiment_label(experiment: int, config: dict, varied: list[str], max_len: int = 60) -> str:
    """``exp<N>: lr=0.01, width=64``: the experiment's values of the varied hyperparameters;
    past ``max_len`` characters the last ``k=v`` items give way to ``…+k`` (none is cut)."""
    from alfred.utils.plots.style import shorten_items

    text = ", ".join(_items(config, varied))
    return shorten_items(f"exp{experiment}" + (f": {text}" if text else ""), max_len)


def experiment_label_lines(experiment: int, config: dict, varied: list[str], *, prefix: str = "", suffix: str = "",
                           width: int = 40, max_lines: int = 3) -> str:
    """``experiment_label`` over lines of about ``width`` characters (a legend entry, a panel's
    title): whole ``k=v`` items per line (one longer than a line is cut after an ``_`` of its
    name), ``…+k`` for those that do not fit in ``max_lines``."""
    from alfred.utils.plots.style import wrap_words

    items = _items(config, varied)
    lines = [f"{prefix}exp{experiment}" + (":" if items else "")]
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else suffix)
        if len(lines[-1]) + 1 + len(piece) <= width or not lines[-1].strip():
            lines[-1] += " " + piece
            continue
        parts = wrap_words(piece, width, max_lines=max_lines).split("\n")
        if len(lines) + len(parts) > max_lines:
            lines[-1] = lines[-1].rstrip(",") + f" …+{len(items) - i}" + suffix
            break
        lines += parts
    return "\n".join(line.lstrip() for line in lines)


def varied_keys(configs: dict[int, dict] | list[dict], *, exclude: tuple[str, ...] = ()) -> list[str]:
    """The config keys whose value differs between experiments, in first-seen order."""
    configs = list(configs.values()) if isinstance(configs, dict) else list(configs)
    keys = [k for k in dict.fromkeys(k for c in configs for k in c) if k not in exclude]
    return [k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c in configs}) > 1]


def storage_fields(storage_dir: Path) -> dict[str, str]:
    """``{"alg": ..., "task": ..., "desc": ...}`` of a storage dir: alg and task as the user wrote
    them (prepare_info.json), desc as in its name (``grid_demo``, ``retrainBest_grid_demo``)."""
    parsed = StorageName.parse(Path(storage_dir).name)
    return {"alg": alg_of(storage_dir), "task": task_of(storage_dir),
            "desc": parsed.desc if parsed else Path(storage_dir).name}


def storage_heading(storage_dir: Path) -> tuple[str, str]:
    """(``alg · task · desc``, the folder name): a figure's title and its small print."""
    f = storage_fields(storage_dir)
    return SEP.join((f["alg"], f["task"], f["desc"])), Path(storage_dir).name


def differing_labels(storage_dirs: list[Path]) -> tuple[list[str], str]:
    """Names that tell storage dirs apart, and what they share.

    Each label holds only the fields among alg, task and desc that differ between the
    storage dirs (``moons`` / ``blobs`` when only the task differs); the common ones make
    the heading (``mlp · grid_demo``). When no field differs, or two labels still clash,
    each label starts with its storage id.

    Returns:
        (one label per storage dir, in order; the heading of the shared fields, "" if none).
    """
    fields = [storage_fields(d) for d in storage_dirs]
    keys = ("alg", "task", "desc")
    differ = [k for k in keys if len({f[k] for f in fields}) > 1]
    heading = SEP.join(fields[0][k] for k in keys if k not in differ) if fields else ""
    labels = [SEP.join(f[k] for k in differ) for f in fields]
    if not differ or len(set(labels)) < len(labels):
        ids = [(StorageName.parse(Path(d).name) or [Path(d).name])[0] for d in storage_dirs]
        labels = [f"{i}{SEP}{lab}" if lab else i for i, lab in zip(ids, labels)]
    return labels, heading


def _prepared(storage_dir: Path, key: str) -> str | None:
    value = read_json_or_empty(StorageDir(storage_dir).prepare_info).get(key)
    return str(value) if value else None


def task_of(storage_dir: Path, configs: dict[int, dict] | None = None) -> str:
    """The task of a storage dir: from prepare_info.json, else its configs, else its name."""
    task = _prepared(storage_dir, "task_name")
    if task:
        return task
    for c in (configs or {}).values():
        if c.get("task_name"):
            return str(c["task_name"])
    parsed = StorageName.parse(Path(storage_dir).name)
    return parsed.task_name if parsed else "task"


def alg_of(storage_dir: Path) -> str:
    """The algorithm of a storage dir: from prepare_info.json, else its name."""
    alg = _prepared(storage_dir, "alg_name")
    if alg:
        return alg
    parsed = StorageName.parse(Path(storage_dir).name)
    return parsed.alg_name if parsed else Path(storage_dir).name
