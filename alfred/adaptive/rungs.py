"""Asynchronous successive halving (ASHA) and Hyperband brackets, as pure decisions on rung records.

A *rung* is a step of the user's training (``min_resource * eta**(bracket + k)``) at which a run
records its value once. A rung's records are a plain list of ``(trial_id, value)``; the functions
here turn such lists into decisions and touch nothing else, so any process that lists the same
records makes the same decision.

Two modes:

- **stop** (``should_continue``): a run reaching a rung continues only if its value is in the top
  ``1/eta`` of the values recorded at that rung, itself included. This is the rule of Optuna's
  ``SuccessiveHalvingPruner`` (and of Ray's ASHA and Syne Tune's stopping rule), with Optuna's
  handling of small counts: with ``n`` records the cut keeps the best ``max(1, n // eta)``, so while
  ``n < eta`` only a run that is the best so far continues. A value equal to the cut's value
  continues (ties all pass, as in Optuna), so the decision depends on the values alone.
- **promote** (``next_promotion``): ASHA's rule (Li et al., 2020). From the highest rung down, the
  best record not yet promoted among the top ``floor(n_k / eta)`` of rung ``k`` is promoted to the
  next rung; ``None`` when none qualifies (the free worker then starts a new configuration).
  Equal values are ordered by trial id, so the choice is unique.

NaN values never count: a NaN run is stopped, never promoted, and NaN records are left out of the
counts (Optuna never records them). ``direction`` is ``"min"`` or ``"max"``.

Each decision is one pass (stop) or two (promote) over the records: well under a
millisecond for 1,000 records (``benchmarks/bench_adaptive.py`` measures it).
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Union

from alfred.errors import AlfredError

__all__ = ["Direction", "TrialId", "Record", "Promotion", "rung_steps", "n_brackets", "bracket_weights",
           "bracket_of", "rungs_crossed", "should_continue", "top_records", "next_promotion"]

Direction = Literal["min", "max"]
TrialId = Union[int, str]  # one kind per search: ids are compared to break ties
Record = tuple[TrialId, float]


@dataclass(frozen=True)
class Promotion:
    """Promote ``trial_id`` from rung ``from_rung`` to rung ``from_rung + 1``."""

    trial_id: TrialId
    from_rung: int
    value: float


def _check(*, eta: int, direction: str) -> None:
    if not isinstance(eta, int) or isinstance(eta, bool) or eta < 2:
        raise AlfredError(f"eta must be an integer >= 2, got {eta!r}")
    if direction not in ("min", "max"):
        raise AlfredError(f"direction must be 'min' or 'max', got {direction!r}")


def rung_steps(*, min_resource: int, max_resource: int, eta: int, bracket: int = 0) -> tuple[int, ...]:
    """The rungs of one bracket: ``min_resource * eta**(bracket + k)`` for every k where that is below
    ``max_resource`` (a run that reaches ``max_resource`` is complete: nothing is decided there).

    Bracket 0 is plain ASHA; Hyperband's bracket ``s`` starts ``s`` rungs later (Optuna's
    ``min_early_stopping_rate``).
    """
    _check(eta=eta, direction="min")
    if not (isinstance(min_resource, int) and isinstance(max_resource, int) and 1 <= min_resource < max_resource):
        raise AlfredError(f"resources must be integers with 1 <= min_resource < max_resource, got "
                          f"min_resource={min_resource!r}, max_resource={max_resource!r}")
    if not isinstance(bracket, int) or bracket < 0:
        raise AlfredError(f"bracket must be an integer >= 0, got {bracket!r}")
    steps = []
    step = min_resource * eta**bracket
    while step < max_resource:
        steps.append(step)
        step *= eta
    return tuple(steps)


def n_brackets(*, min_resource: int, max_resource: int, eta: int) -> int:
    """Hyperband's number of brackets, ``floor(log_eta(max / min)) + 1`` (as Optuna's HyperbandPruner).

    Computed in integers, so ``max / min`` an exact power of ``eta`` is not lost to rounding.
    """
    rung_steps(min_resource=min_resource, max_resource=max_resource, eta=eta)  # validates
    n, step = 0, min_resource
    while step <= max_resource:
        n, step = n + 1, step * eta
    return n


def bracket_weights(n: int, *, eta: int) -> tuple[int, ...]:
    """How many trials of every ``sum(weights)`` go to each bracket: Hyperband's
    ``ceil(n * eta**s / (s + 1))`` with ``s = n - 1 - bracket`` (bracket 0, the most aggressive, gets most)."""
    _check(eta=eta, direction="min")
    return tuple(math.ceil(n * eta ** (n - 1 - b) / (n - b)) for b in range(n))


def bracket_of(trial_id: TrialId, *, n: int, eta: int, seed: int | str = 0) -> int:
    """The bracket of a trial, a fixed function of ``(seed, trial_id)`` weighted by ``bracket_weights``.

    ``crc32(f"{seed}_{trial_id}") % sum(weights)`` picks the bracket, as Optuna's HyperbandPruner does
    with its study name and trial number. CRC-32, not Python's ``hash`` (which changes between
    processes), so every process agrees.
    """
    weights = bracket_weights(n, eta=eta)
    r = zlib.crc32(f"{seed}_{trial_id}".encode()) % sum(weights)
    for b, w in enumerate(weights):
        if r < w:
            return b
        r -= w
    raise AssertionError("unreachable: r < sum(weights)")


def rungs_crossed(previous_step: int | None, step: int, steps: Sequence[int]) -> range:
    """Indices of the rungs a run passes when it reports ``step`` after ``previous_step`` (None: first report).

    A run that reports at a step at or past a rung records there (Optuna's rule), so reporting every
    few steps never skips a rung: each rung is crossed by exactly one report.
    """
    start = 0 if previous_step is None else _count_at_or_below(steps, previous_step)
    return range(start, _count_at_or_below(steps, step))


def _count_at_or_below(steps: Sequence[int], step: int) -> int:
    n = 0
    while n < len(steps) and steps[n] <= step:
        n += 1
    return n


def _key(direction: Direction):
    sign = 1.0 if direction == "min" else -1.0
    return lambda r: (sign * r[1], r[0])


def should_continue(records: Sequence[Record], trial_id: TrialId, *, eta: int, direction: Direction) -> bool:
    """The stop rule: does ``trial_id``, whose record is in ``records``, continue past this rung?

    Args:
        records: the rung's records that count for this decision, ``trial_id``'s own included (the
            caller decides which: e.g. those recorded before it, for a decision made once).
        trial_id: the run deciding.
        eta: the reduction factor (an integer >= 2).
        direction: "min" or "max".

    Returns:
        True when fewer than ``max(1, n // eta)`` records are strictly better than its value, ``n``
        the number of non-NaN records: the top ``1/eta`` continue, and while ``n < eta`` only the best.
        False for a NaN value.
    """
    _check(eta=eta, direction=direction)
    own = [v for t, v in records if t == trial_id]
    if len(own) != 1:
        raise AlfredError(f"trial {trial_id!r} has {len(own)} records at this rung; it needs exactly one "
                          f"(its own, among the records that count)")
    value = own[0]
    if math.isnan(value):
        return False
    n = better = 0
    if direction == "min":
        for _, v in records:
            if v == v:  # not NaN
                n += 1
                better += v < value
    else:
        for _, v in records:
            if v == v:
                n += 1
                better += v > value
    return better < max(1, n // eta)


def top_records(records: Sequence[Record], k: int, *, direction: Direction) -> list[Record]:
    """The best ``k`` non-NaN records, best first; equal values in trial id order."""
    _check(eta=2, direction=direction)
    finite = [r for r in records if not math.isnan(r[1])]
    return heapq.nsmallest(k, finite, key=_key(direction))


def next_promotion(rungs: Sequence[Sequence[Record]], promoted: Sequence[Collection[TrialId]], *, eta: int,
                   direction: Direction) -> Promotion | None:
    """ASHA's promotion: the record a free worker should continue, or None (start a new configuration).

    Args:
        rungs: the records of each rung of one bracket, lowest rung first. A promotion from the last
            rung given continues the run to the level after it (the next rung or ``max_resource``).
        promoted: for each rung, the ids already promoted out of it (same length as ``rungs``).
        eta: the reduction factor (an integer >= 2).
        direction: "min" or "max".

    Returns:
        From the highest rung down, the best record not in ``promoted[k]`` among the top
        ``floor(n_k / eta)`` non-NaN records of rung ``k``, as a ``Promotion``; None if none qualifies.
        Its cost is two passes over each rung's records (no sort).
    """
    _check(eta=eta, direction=direction)
    if len(promoted) != len(rungs):
        raise AlfredError(f"next_promotion needs one promoted set per rung: {len(rungs)} rungs, "
                          f"{len(promoted)} promoted sets")
    sign = 1.0 if direction == "min" else -1.0
    for k in range(len(rungs) - 1, -1, -1):
        done = promoted[k]
        # The best unpromoted record qualifies iff fewer than floor(n / eta) records rank before it;
        # if it does not, no unpromoted record does. Two linear passes, no sort.
        best: tuple[float, TrialId] | None = None
        n = 0
        for trial_id, value in rungs[k]:
            if value != value:  # NaN
                continue
            n += 1
            if trial_id not in done:
                key = (sign * value, trial_id)
                if best is None or key < best:
                    best = key
        quota = n // eta
        if best is None or quota == 0:
            continue
        ahead = 0
        for trial_id, value in rungs[k]:
            if value == value and (sign * value, trial_id) < best:
                ahead += 1
                if ahead >= quota:
                    break
        if ahead < quota:
            return Promotion(best[1], k, sign * best[0])
    return None
