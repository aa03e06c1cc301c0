"""New configurations from Optuna's samplers, on an in-memory study rebuilt from a plain list of trials.

The list of trials is the only state: no Optuna storage file. Each call builds a fresh in-memory
study, adds the trials (finished ones as COMPLETE or PRUNED with their rung values as intermediate
values, pending ones as RUNNING so that parallel workers get different proposals), asks once, and
returns the proposal. What a sampler keeps between calls (CMA-ES keeps its optimizer) travels in
each trial's ``system_attrs``: store the ``system_attrs`` of a ``Proposal`` with its trial and hand
them back in the next list.

The seed of a call is derived from ``seed`` and the number of trials, so successive proposals
differ and the same list always gives the same proposal.

Samplers: ``"random"`` (no Optuna needed), ``"tpe"`` (``TPESampler`` with ``constant_liar=True``,
so RUNNING trials push new proposals away), ``"cmaes"`` (needs ``cmaes``), ``"gp"`` (needs torch).
Optuna is imported on first use: ``pip install alfred[adaptive]``.

CMA-ES keeps its optimizer as a pickle (hex) in the ``system_attrs`` of the trial that closed a
generation, and Optuna unpickles it on the next call: hand back only notes this search wrote.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from alfred.adaptive.rungs import Direction
from alfred.adaptive.space import SearchSpace, sample_config, to_optuna_distributions
from alfred.errors import AlfredError

if TYPE_CHECKING:
    import optuna

__all__ = ["TrialState", "SamplerName", "SAMPLERS", "TrialRecord", "Proposal", "propose", "make_sampler",
           "build_study"]

TrialState = Literal["complete", "pruned", "running"]
SamplerName = Literal["random", "tpe", "cmaes", "gp"]
SAMPLERS: tuple[str, ...] = ("random", "tpe", "cmaes", "gp")
_NEEDS = {"cmaes": "cmaes", "gp": "torch"}  # sampler -> the package Optuna needs for it


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the search knows it.

    Attributes:
        params: its configuration (names and values of the search space).
        state: "complete" (ran to the end), "pruned" (stopped at a rung) or "running" (pending).
        value: the final value of a complete trial; None otherwise.
        intermediate: rung step -> value recorded there.
        system_attrs: what the sampler attached to it when proposing it (from ``Proposal``).
    """

    params: Mapping[str, Any]
    state: TrialState
    value: float | None = None
    intermediate: Mapping[int, float] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    """A new configuration and the sampler's notes to keep with it (JSON-serialisable)."""

    params: dict[str, Any]
    system_attrs: dict[str, Any]


def _call_seed(seed: int, n_trials: int) -> int:
    return int(np.random.SeedSequence([seed, n_trials]).generate_state(1)[0])


def make_sampler(name: SamplerName, *, seed: int) -> optuna.samplers.BaseSampler:
    """The Optuna sampler called ``name``, seeded with ``seed``."""
    if name not in SAMPLERS:
        raise AlfredError(f"unknown sampler {name!r}; valid samplers: {', '.join(SAMPLERS)}")
    optuna = _import_optuna(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # constant_liar, GPSampler
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
        if name == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        return optuna.samplers.GPSampler(seed=seed)


def _import_optuna(sampler: str):
    try:
        import optuna
    except ImportError:
        raise AlfredError(f"the {sampler!r} sampler needs Optuna: pip install 'alfred[adaptive]' "
                          f"(or use sampler 'random')") from None
    package = _NEEDS.get(sampler)
    if package is not None:
        try:
            __import__(package)
        except ImportError:
            raise AlfredError(f"Optuna's {sampler!r} sampler needs {package}: pip install {package}") from None
    return optuna


def _frozen(optuna, trial: TrialRecord, distributions: dict, direction: Direction):
    state = {"complete": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED,
             "running": optuna.trial.TrialState.RUNNING}.get(trial.state)
    if state is None:
        raise AlfredError(f"trial state {trial.state!r} is not one of complete, pruned, running")
    value = trial.value
    if trial.state == "complete" and (value is None or math.isnan(value)):
        # Optuna has no COMPLETE trial without a value: a NaN result is the worst value seen.
        value = math.inf if direction == "min" else -math.inf
    return optuna.trial.create_trial(
        params=dict(trial.params), distributions=distributions, state=state,
        value=value if trial.state == "complete" else None,
        intermediate_values={int(s): float(v) for s, v in trial.intermediate.items()},
        system_attrs=dict(trial.system_attrs))


def build_study(space: SearchSpace, trials: Sequence[TrialRecord], *, direction: Direction,
                sampler: optuna.samplers.BaseSampler) -> optuna.Study:
    """An in-memory Optuna study holding ``trials``, in their order (trial number = index)."""
    import optuna

    if direction not in ("min", "max"):
        raise AlfredError(f"direction must be 'min' or 'max', got {direction!r}")
    distributions = to_optuna_distributions(space)
    study = optuna.create_study(direction="minimize" if direction == "min" else "maximize", sampler=sampler)
    study.add_trials([_frozen(optuna, t, distributions, direction) for t in trials])
    return study


def propose(space: SearchSpace, trials: Sequence[TrialRecord], *, sampler: SamplerName = "random",
            direction: Direction = "min", seed: int) -> Proposal:
    """A new configuration proposed by ``sampler`` given every trial so far (pending ones "running").

    Args:
        space: the search space.
        trials: every trial of the search, in the order they were proposed.
        sampler: "random", "tpe", "cmaes" or "gp".
        direction: "min" or "max", the direction of the trials' values.
        seed: the search's seed; the call's own seed is derived from it and ``len(trials)``.

    Returns:
        The configuration and the sampler's notes for it (empty for "random").
    """
    if sampler not in SAMPLERS:
        raise AlfredError(f"unknown sampler {sampler!r}; valid samplers: {', '.join(SAMPLERS)}")
    call_seed = _call_seed(seed, len(trials))
    if sampler == "random":  # needs no history, and no Optuna
        return Proposal(sample_config(space, np.random.default_rng(call_seed)), {})
    optuna = _import_optuna(sampler)
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)  # one "A new study created in memory" line per call otherwise
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study = build_study(space, trials, direction=direction, sampler=make_sampler(sampler, seed=call_seed))
            study.ask(to_optuna_distributions(space))
        frozen = study.get_trials(deepcopy=False)[-1]
        params = {name: frozen.params[name] for name in space.names}
        return Proposal(params, dict(frozen.system_attrs))
    finally:
        logger.setLevel(level)
