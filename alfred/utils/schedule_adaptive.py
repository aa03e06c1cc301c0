"""An adaptive schedule's ``ADAPTIVE`` settings, checked against the project's ``get_run_args``.

An ``adaptive_schedule_<name>.py`` file defines ALG_NAMES, TASK_NAMES, SEEDS (seeds per
configuration, default [1]), get_run_args and ``ADAPTIVE = dict(...)``, the keys of
alfred.adaptive.spec.parse_spec. Its search space may only name get_run_args' options (not
alg_name, task_name, seed or desc), and every value it can take must pass their types and
choices, as grid and random schedules' values must.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from alfred.adaptive.space import CategoricalParam
from alfred.adaptive.spec import AdaptiveSpec, parse_spec
from alfred.errors import AlfredError
from alfred.utils.schedule_checks import check_against_parser

__all__ = ["check_adaptive"]

_RESERVED = ("alg_name", "task_name", "seed", "desc")


def check_adaptive(path: Path, settings: Any, default_config: argparse.Namespace,
                   parser: argparse.ArgumentParser | None, seeds: list[int], max_runs: int | None) -> AdaptiveSpec:
    """The AdaptiveSpec of ``ADAPTIVE``; AlfredError (one line, naming ``path``) when it is invalid,
    names what get_run_args does not define, or allows more than ``max_runs`` runs (experiments x seeds)."""
    try:
        spec = parse_spec(settings)
    except AlfredError as e:
        message = str(e).removeprefix("adaptive schedule: ")
        raise AlfredError(f"schedule {path}: ADAPTIVE: {message}") from None
    if max_runs is not None and spec.max_experiments is not None and spec.max_experiments * len(seeds) > max_runs:
        n_runs = spec.max_experiments * len(seeds)
        raise AlfredError(f"schedule {path}: ADAPTIVE's max_experiments {spec.max_experiments:,} x {len(seeds)} "
                          f"seed(s) is {n_runs:,} runs per storage dir, more than --max_experiments {max_runs:,}; "
                          f"lower it, or raise the limit with --max_experiments {n_runs}")
    defined = vars(default_config)
    valid = ", ".join(sorted(k for k in defined if k not in _RESERVED))
    for name in (*spec.space.names, *([spec.resource_key] if spec.resource_key else [])):
        where = "resource_key" if name == spec.resource_key else "search_space"
        if name in _RESERVED:
            raise AlfredError(f"schedule {path}: ADAPTIVE's {where} must not set {name!r}: alg_name, task_name, "
                              "seed and desc come from ALG_NAMES, TASK_NAMES, SEEDS and --desc")
        if name not in defined:
            raise AlfredError(f"schedule {path}: ADAPTIVE's {where} names {name!r}, which get_run_args does not "
                              f"define; valid: {valid}")
    for param in spec.space.params:
        values = param.choices if isinstance(param, CategoricalParam) else (param.low, param.high)
        for value in values:
            check_against_parser(path, "ADAPTIVE's search_space", {param.name: value}, parser)
    if spec.resource_key:
        check_against_parser(path, "ADAPTIVE's resource_key", {spec.resource_key: spec.max_resource}, parser)
    return spec
