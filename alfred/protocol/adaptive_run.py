"""``dir_tree.report(step, value)`` in an adaptive search: record at each rung crossed, then continue,
stop (``Pruned``) or pause (``Paused``).

Keyed on the user's step, not on how often report is called: a run resumed from a checkpoint (after
a preemption, a reset, a promotion) starts with no rung crossed, so its first report re-crosses every
rung up to its step; each of those records was made by an earlier attempt (link(2): EEXIST, the
earlier value stays THE value) and each decision was stored (``<trial>.decision``) or is a promotion
marker: the run re-reads them instead of deciding again. Before each record the claim is checked
(fencing): a run that lost its claim writes no record and gets ``ClaimLost``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from alfred.adaptive.rungs import rungs_crossed, should_continue
from alfred.adaptive.spec import AdaptiveSpec, load_spec, trial_id
from alfred.protocol import fencing, rung_records
from alfred.protocol.fencing import ClaimLost, Paused, Pruned
from alfred.protocol.layout import ADAPTIVE_SPEC, claim_flag_name

__all__ = ["AdaptiveRun", "adaptive_run_of"]

log = logging.getLogger("alfred.run")


class AdaptiveRun:
    """One claim's reports in an adaptive search: the last step reported and how the run ends."""

    def __init__(self, seed_dir: str | os.PathLike, run_token: str, spec: AdaptiveSpec):
        seed_dir = Path(seed_dir)
        self.spec = spec
        self.storage_dir = seed_dir.parent.parent
        self.trial = trial_id(seed_dir)
        self.bracket = spec.bracket(self.trial)
        self.steps = spec.rungs(self.bracket)
        self.claim_path = os.fspath(seed_dir / claim_flag_name(run_token))
        self.previous: int | None = None
        self.outcome: Pruned | Paused | None = None  # how the run ends, once report decided it

    def _fence(self) -> None:
        """ClaimLost if this run's claim is gone (reset meanwhile): nothing may be recorded for it."""
        if fencing.lost() or not os.path.exists(self.claim_path):
            raise ClaimLost(f"this worker lost its seed before recording at a rung: "
                            f"{fencing.lost_reason() or 'its claim is gone'}")

    def report(self, step: int, value: float) -> bool:
        """See ``DirectoryTree.report``."""
        if self.outcome is not None:  # main swallowed Pruned/Paused and reports again: the run is over
            raise self.outcome
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"report(step, value): step must be an integer >= 0 (the run's own step), got {step!r}")
        value = float(value)
        spec, storage, bracket = self.spec, self.storage_dir, self.bracket
        for k in rungs_crossed(self.previous, step, self.steps):
            rung = self.steps[k]
            self._fence()
            recorded = rung_records.record(storage, bracket, rung, self.trial, value)
            if spec.mode == "stop":
                decision = rung_records.read_decision(storage, bracket, rung, self.trial)
                if decision is None:
                    records = rung_records.read_rung(storage, bracket, rung).records
                    if not any(t == self.trial for t, _ in records):
                        records.append((self.trial, recorded))
                    keep = should_continue(records, self.trial, eta=spec.eta, direction=spec.direction)
                    self._fence()
                    decision = rung_records.decide(storage, bracket, rung, self.trial,
                                                   rung_records.CONTINUE if keep else rung_records.STOP)
                else:
                    log.info("rung %d: decision %r re-read (recorded %r)", rung, decision, recorded)
                if decision == rung_records.STOP:
                    self.previous, self.outcome = step, Pruned(rung)
                    raise self.outcome
            elif not rung_records.is_promoted(storage, bracket, rung, self.trial):
                self.previous, self.outcome = step, Paused(rung)
                raise self.outcome
            else:
                log.info("rung %d: promoted, continuing (recorded %r)", rung, recorded)
        top = spec.max_resource
        if step >= top and (self.previous is None or self.previous < top):
            self._fence()
            rung_records.record(storage, bracket, top, self.trial, value)
        self.previous = step
        return True


def adaptive_run_of(seed_dir: str | os.PathLike, run_token: str | None) -> AdaptiveRun | None:
    """The adaptive run of a claim (``run_token``) of ``seed_dir``, or None: a grid or random
    search (no ``adaptive.json``: one lstat), or a main run by hand (no token)."""
    if not run_token:
        return None
    storage_dir = Path(seed_dir).parent.parent
    if not os.path.lexists(storage_dir / ADAPTIVE_SPEC):
        return None
    spec = load_spec(storage_dir)
    return None if spec is None else AdaptiveRun(seed_dir, run_token, spec)
