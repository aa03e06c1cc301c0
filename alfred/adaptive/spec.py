"""What an adaptive search is, as its storage dir records it: ``<storage_dir>/adaptive.json``.

Prepare writes the file once, before any experiment folder; every later reader (workers, status,
clean, summaries, retrain-best) takes the search's settings from it, never from the schedule file
(which the user may edit after preparing). A storage dir without it is a grid or random search.

Trials are seed folders: ``trial_id`` names one as ``experiment<N>-seed<M>`` (no ``=`` and no
``/``, so it can head a rung record's file name).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alfred.adaptive.rungs import bracket_of, n_brackets, rung_steps
from alfred.adaptive.sampling import SAMPLERS
from alfred.adaptive.space import SearchSpace, parse_space
from alfred.errors import AlfredError
from alfred.protocol.layout import ADAPTIVE_SPEC

__all__ = ["SPEC_FILE", "MODES", "AdaptiveSpec", "parse_spec", "load_spec", "trial_id"]

SPEC_FILE = ADAPTIVE_SPEC
MODES = ("stop", "promote")
_KEYS = {"search_space", "metric", "direction", "eta", "min_resource", "max_resource", "mode", "hyperband",
         "sampler", "max_experiments", "max_steps", "resource_key", "seed"}


@dataclass(frozen=True)
class AdaptiveSpec:
    """The settings of an adaptive search (see ``parse_spec`` for what each must be)."""

    search_space: Mapping[str, Any]  # as given (JSON), parsed into ``space``
    space: SearchSpace
    metric: str  # the name of what main reports (shown by status, the summary, the report)
    direction: str  # "min" or "max"
    eta: int
    min_resource: int
    max_resource: int
    mode: str  # "stop" or "promote"
    hyperband: bool
    sampler: str
    max_experiments: int | None  # budget: configurations tried
    max_steps: int | None  # budget: steps trained, summed over runs (counted at rungs and at max_resource)
    resource_key: str | None  # a key of the config that prepare sets to max_resource
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"search_space": dict(self.search_space), "metric": self.metric, "direction": self.direction,
                "eta": self.eta, "min_resource": self.min_resource, "max_resource": self.max_resource,
                "mode": self.mode, "hyperband": self.hyperband, "sampler": self.sampler,
                "max_experiments": self.max_experiments, "max_steps": self.max_steps,
                "resource_key": self.resource_key, "seed": self.seed}

    @property
    def n_brackets(self) -> int:
        if not self.hyperband:
            return 1
        return n_brackets(min_resource=self.min_resource, max_resource=self.max_resource, eta=self.eta)

    def bracket(self, trial: str) -> int:
        """The trial's Hyperband bracket (always 0 without ``hyperband``)."""
        n = self.n_brackets
        return 0 if n == 1 else bracket_of(trial, n=n, eta=self.eta, seed=self.seed)

    def rungs(self, bracket: int = 0) -> tuple[int, ...]:
        """The steps at which a run of this bracket records its value and is decided on."""
        return rung_steps(min_resource=self.min_resource, max_resource=self.max_resource, eta=self.eta,
                          bracket=bracket)


def _int(d: Mapping, key: str, default: Any, *, low: int, what: str) -> Any:
    value = d.get(key, default)
    if value is None and default is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise AlfredError(f"adaptive schedule: {key} must be an integer >= {low} ({what}), got {value!r}")
    return value


def parse_spec(d: Mapping[str, Any]) -> AdaptiveSpec:
    """Validate a plain dict (an adaptive schedule's settings, or ``adaptive.json``).

    Keys: ``search_space`` (see alfred.adaptive.space), ``metric`` (a name), ``direction``
    ("min"/"max"), ``eta`` (>= 2, default 3), ``min_resource`` and ``max_resource`` (steps,
    1 <= min < max), ``mode`` ("stop" default, or "promote"), ``hyperband`` (default False),
    ``sampler`` (one of SAMPLERS, default "random"), ``max_experiments`` and/or ``max_steps``
    (the budget: at least one), ``resource_key`` (optional), ``seed`` (default 0).

    Raises:
        AlfredError: one line saying what is wrong and what is valid.
    """
    if not isinstance(d, Mapping):
        raise AlfredError(f"adaptive schedule: settings must be a dict, got {type(d).__name__}")
    unknown = sorted(set(d) - _KEYS)
    if unknown:
        raise AlfredError(f"adaptive schedule: unknown setting(s) {', '.join(map(repr, unknown))}; "
                          f"valid: {', '.join(sorted(_KEYS))}")
    space = parse_space(d.get("search_space"))
    metric = d.get("metric")
    if not isinstance(metric, str) or not metric.strip():
        raise AlfredError(f"adaptive schedule: metric must name what main reports (e.g. 'eval_return'), "
                          f"got {metric!r}")
    direction = d.get("direction")
    if direction not in ("min", "max"):
        raise AlfredError(f"adaptive schedule: direction must be 'min' or 'max', got {direction!r}")
    eta = _int(d, "eta", 3, low=2, what="keep the best 1/eta at each rung")
    min_resource = _int(d, "min_resource", 1, low=1, what="the first rung's step")
    max_resource = _int(d, "max_resource", None, low=1, what="the step at which a run is complete")
    if max_resource is None or max_resource <= min_resource:
        raise AlfredError(f"adaptive schedule: max_resource must be an integer above min_resource "
                          f"({min_resource}), got {max_resource!r}")
    mode = d.get("mode", "stop")
    if mode not in MODES:
        raise AlfredError(f"adaptive schedule: mode must be 'stop' (no checkpoint needed) or 'promote' "
                          f"(needs checkpoints), got {mode!r}")
    hyperband = d.get("hyperband", False)
    if not isinstance(hyperband, bool):
        raise AlfredError(f"adaptive schedule: hyperband must be True or False, got {hyperband!r}")
    sampler = d.get("sampler", "random")
    if sampler not in SAMPLERS:
        raise AlfredError(f"adaptive schedule: sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    max_experiments = _int(d, "max_experiments", None, low=1, what="configurations tried")
    max_steps = _int(d, "max_steps", None, low=1, what="steps trained, summed over runs")
    if max_experiments is None and max_steps is None:
        raise AlfredError("adaptive schedule: give a budget, max_experiments (configurations tried) and/or "
                          "max_steps (steps trained, summed over runs)")
    resource_key = d.get("resource_key")
    if resource_key is not None and (not isinstance(resource_key, str) or not resource_key):
        raise AlfredError(f"adaptive schedule: resource_key must name a config key (e.g. 'max_epochs') or be "
                          f"None, got {resource_key!r}")
    if resource_key in space.names:
        raise AlfredError(f"adaptive schedule: resource_key {resource_key!r} is also in the search space; "
                          f"alfred sets it to max_resource")
    seed = d.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise AlfredError(f"adaptive schedule: seed must be an integer, got {seed!r}")
    return AdaptiveSpec(dict(d["search_space"]), space, metric, direction, eta, min_resource, max_resource, mode,
                        hyperband, sampler, max_experiments, max_steps, resource_key, seed)


_CACHE: dict[str, tuple[tuple[int, int], AdaptiveSpec]] = {}


def load_spec(storage_dir: str | os.PathLike) -> AdaptiveSpec | None:
    """The adaptive search of ``storage_dir``, or None for a grid or random search.

    Read through alfred's safe reader (no symlink, FIFO or oversized file) and kept per process
    while the file is unchanged. Raises AlfredError if the file is there but not a valid spec.
    """
    from alfred.protocol.fsio import MAX_JSON_BYTES, read_small_stat

    path = os.path.join(os.fspath(storage_dir), SPEC_FILE)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    key = (st.st_ino, st.st_mtime_ns)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        data, _ = read_small_stat(path, MAX_JSON_BYTES)
        spec = parse_spec(json.loads(data))
    except (OSError, ValueError) as e:
        raise AlfredError(f"{path}: not a readable adaptive search ({e}); prepare the search again") from e
    _CACHE[path] = (key, spec)
    return spec


def trial_id(seed_dir: str | os.PathLike) -> str:
    """``experiment<N>-seed<M>``: the trial a seed folder is, in its storage dir."""
    p = Path(seed_dir)
    return f"{p.parent.name}-{p.name}"
