"""A search space from a plain dict: validation, random sampling, Optuna distributions.

The schema (JSON-friendly, one entry per hyperparameter)::

    {
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": true},
        "num_layers":    {"type": "int", "low": 1, "high": 5},
        "batch_size":    {"type": "int", "low": 16, "high": 512, "log": true},
        "activation":    {"type": "categorical", "choices": ["relu", "tanh"]}
    }

- ``float``: ``low < high``, both finite; ``log`` (default false) samples uniformly in log space and
  needs ``low > 0``.
- ``int``: integers with ``low <= high``, both ends included; ``log`` needs ``low >= 1`` (sampled as
  Optuna does: uniform in log space over [low - 0.5, high + 0.5], then rounded).
- ``categorical``: a non-empty list of distinct ``null``, boolean, number or string values.

Bad input raises ``AlfredError`` with one line saying what is wrong and what is valid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from alfred.errors import AlfredError

if TYPE_CHECKING:
    import numpy as np
    from optuna.distributions import BaseDistribution

__all__ = ["FloatParam", "IntParam", "CategoricalParam", "Param", "SearchSpace", "parse_space", "sample_config",
           "to_optuna_distributions", "check_config"]

TYPES = ("float", "int", "categorical")
_KEYS = {"float": {"type", "low", "high", "log"}, "int": {"type", "low", "high", "log"},
         "categorical": {"type", "choices"}}


@dataclass(frozen=True)
class FloatParam:
    """A real value in [low, high], sampled uniformly (in log space when ``log``)."""

    name: str
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class IntParam:
    """An integer in [low, high], both ends included (sampled in log space when ``log``)."""

    name: str
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class CategoricalParam:
    """One of ``choices`` (JSON scalars), each equally likely."""

    name: str
    choices: tuple[Any, ...]


Param = Union[FloatParam, IntParam, CategoricalParam]


@dataclass(frozen=True)
class SearchSpace:
    """The validated hyperparameters of a search, in the order they were given."""

    params: tuple[Param, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _parse_param(name: str, spec: Any) -> Param:
    where = f"search space: {name!r}"
    if not isinstance(spec, Mapping):
        raise AlfredError(f"{where} must be a dict with a 'type' ({', '.join(TYPES)}), got {spec!r}")
    kind = spec.get("type")
    if kind not in TYPES:
        raise AlfredError(f"{where} has type {kind!r}; valid types: {', '.join(TYPES)}")
    unknown = set(spec) - _KEYS[kind]
    if unknown:
        raise AlfredError(f"{where} has unknown key(s) {sorted(unknown)}; valid keys for {kind}: "
                          f"{sorted(_KEYS[kind])}")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, (list, tuple)) or not choices:
            raise AlfredError(f"{where} needs 'choices', a non-empty list, got {choices!r}")
        bad = [c for c in choices if not (c is None or isinstance(c, (bool, str)) or _is_number(c))]
        if bad:
            raise AlfredError(f"{where} has choice(s) {bad!r}; valid choices are null, booleans, finite numbers "
                              f"and strings")
        # 1 == True == 1.0 in Python: distinct means distinct as typed JSON values.
        keys = [(type(c).__name__, c) for c in choices]
        if len(set(keys)) != len(keys):
            raise AlfredError(f"{where} repeats a choice in {list(choices)!r}; choices must be distinct")
        return CategoricalParam(name, tuple(choices))
    for key in ("low", "high"):
        if key not in spec:
            raise AlfredError(f"{where} ({kind}) needs {key!r}; valid keys: {sorted(_KEYS[kind])}")
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    if not isinstance(log, bool):
        raise AlfredError(f"{where}: 'log' must be true or false, got {log!r}")
    check = _is_int if kind == "int" else _is_number
    for key, v in (("low", low), ("high", high)):
        if not check(v):
            what = "an integer" if kind == "int" else "a finite number"
            raise AlfredError(f"{where}: {key!r} must be {what}, got {v!r}")
    if kind == "float":
        if not low < high:
            raise AlfredError(f"{where}: 'low' must be < 'high' for a float, got low={low!r}, high={high!r}")
        if log and low <= 0:
            raise AlfredError(f"{where}: a log-scaled float needs 'low' > 0, got low={low!r}")
        return FloatParam(name, float(low), float(high), log)
    if not low <= high:
        raise AlfredError(f"{where}: 'low' must be <= 'high', got low={low!r}, high={high!r}")
    if log and low < 1:
        raise AlfredError(f"{where}: a log-scaled int needs 'low' >= 1, got low={low!r}")
    return IntParam(name, low, high, log)


def parse_space(spec: Mapping[str, Any]) -> SearchSpace:
    """Validate a plain dict (see the module docstring) into a ``SearchSpace``.

    Raises:
        AlfredError: one line naming the hyperparameter, what is wrong and what is valid.
    """
    if not isinstance(spec, Mapping) or not spec:
        raise AlfredError(f"search space must be a non-empty dict of hyperparameters, got {spec!r}")
    params = []
    for name, entry in spec.items():
        if not isinstance(name, str) or not name:
            raise AlfredError(f"search space: hyperparameter names must be non-empty strings, got {name!r}")
        params.append(_parse_param(name, entry))
    return SearchSpace(tuple(params))


def sample_config(space: SearchSpace, rng: np.random.Generator) -> dict[str, Any]:
    """One configuration drawn uniformly (log-uniformly where ``log``) with ``rng``.

    Returns plain Python values (float, int, or the choice itself), in the space's order.
    """
    config: dict[str, Any] = {}
    for p in space.params:
        if isinstance(p, CategoricalParam):
            config[p.name] = p.choices[int(rng.integers(len(p.choices)))]
        elif isinstance(p, FloatParam):
            if p.log:
                v = math.exp(rng.uniform(math.log(p.low), math.log(p.high)))
            else:
                v = rng.uniform(p.low, p.high)
            config[p.name] = min(max(float(v), p.low), p.high)  # exp(log(x)) may leave [low, high] by an ulp
        elif p.log:
            v = math.exp(rng.uniform(math.log(p.low - 0.5), math.log(p.high + 0.5)))
            config[p.name] = min(max(int(round(v)), p.low), p.high)
        else:
            config[p.name] = int(rng.integers(p.low, p.high + 1))
    return config


def check_config(space: SearchSpace, config: Mapping[str, Any]) -> None:
    """Raise ``AlfredError`` unless ``config`` has exactly the space's names, each value inside its range."""
    missing, extra = set(space.names) - set(config), set(config) - set(space.names)
    if missing or extra:
        raise AlfredError(f"configuration {dict(config)!r} does not match the search space: missing "
                          f"{sorted(missing)}, unknown {sorted(extra)}; names: {list(space.names)}")
    for p in space.params:
        v = config[p.name]
        if isinstance(p, CategoricalParam):
            ok = any(type(v) is type(c) and v == c for c in p.choices)
            valid = f"one of {list(p.choices)!r}"
        else:
            ok = (_is_int(v) if isinstance(p, IntParam) else _is_number(v)) and p.low <= v <= p.high
            valid = f"{'an integer' if isinstance(p, IntParam) else 'a number'} in [{p.low}, {p.high}]"
        if not ok:
            raise AlfredError(f"configuration: {p.name}={v!r} is outside the search space; valid: {valid}")


def to_optuna_distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """The space as Optuna distributions (imports Optuna: ``pip install alfred[adaptive]``)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, BaseDistribution] = {}
    for p in space.params:
        if isinstance(p, CategoricalParam):
            out[p.name] = CategoricalDistribution(p.choices)
        elif isinstance(p, FloatParam):
            out[p.name] = FloatDistribution(p.low, p.high, log=p.log)
        else:
            out[p.name] = IntDistribution(p.low, p.high, log=p.log)
    return out
