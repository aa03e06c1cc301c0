"""A worker's next seed in an adaptive search (alfred.search.worker asks here for adaptive storage dirs).

In this order:

1. (promote mode) a promoted seed not yet sent back: ``PAUSED.<step>`` whose ``<trial>.promoted``
   exists at that rung (its promoter died between the marker and the rename, or is between them):
   ``rename(PAUSED.<step>, UNHATCHED)`` for it (one process wins; the others get ENOENT); a promoted
   seed already UNHATCHED;
2. (promote mode) a new promotion: the rungs of each bracket listed (one listdir each), ASHA's
   ``next_promotion`` on them, then ``link(<tmp>, <trial>.promoted)`` decides it (EEXIST: someone
   else promoted it first; the rungs are listed again), then ``rename(PAUSED.<step>, UNHATCHED)``;
3. an UNHATCHED seed, experiments in order;
4. a new experiment from ``alfred.search.proposals.propose_one``, which holds the PROPOSE lock and
   checks the budget (a random sampler's experiments are all made at prepare unless the budget is
   in steps: then it proposes too).

The seed returned is UNHATCHED (or was a moment ago): the worker claims it like any other, with
``resume_published`` so a promoted seed resumes from its published files.
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from alfred.adaptive.rungs import next_promotion
from alfred.adaptive.spec import AdaptiveSpec, load_spec, trial_id
from alfred.protocol import rung_records
from alfred.protocol.fsio import stall_point, write_into
from alfred.protocol.layout import UNHATCHED, paused_flag_name
from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs

__all__ = ["adaptive_specs", "candidates", "next_seed", "promote_one", "unpause_promoted", "promoted_but_paused",
           "unpause"]

log = logging.getLogger(__name__)


def adaptive_specs(storage_dirs: list[Path]) -> dict[Path, AdaptiveSpec]:
    """The adaptive searches among ``storage_dirs`` (an AlfredError for an unreadable adaptive.json)."""
    specs = {}
    for d in storage_dirs:
        spec = load_spec(d)
        if spec is not None:
            specs[d] = spec
    return specs


def _seed_of(storage_dir: Path, trial: str) -> str:
    experiment, _, seed = trial.partition("-")
    return os.path.join(storage_dir, experiment, seed)


def unpause_promoted(storage_dir: Path, spec: AdaptiveSpec) -> list[str]:
    """Step 1: seeds promoted and waiting to run (UNHATCHED), after sending back those left PAUSED."""
    ready = []
    for bracket in range(spec.n_brackets):
        for step in spec.rungs(bracket):
            for trial in sorted(rung_records.read_rung(storage_dir, bracket, step).promoted):
                seed_dir = _seed_of(storage_dir, trial)
                if unpause(seed_dir, step):
                    log.info("%s: promoted out of step %d, sent back to UNHATCHED (its promoter stopped before)",
                             trial, step)
                if os.path.exists(os.path.join(seed_dir, UNHATCHED)):
                    ready.append(seed_dir)
    return ready


def promoted_but_paused(storage_dir: Path, paused: list[tuple[str, int | None]]) -> list[tuple[str, int]]:
    """Of ``paused`` (seed folder, step of its PAUSED flag), those promoted out of that step already."""
    spec = load_spec(storage_dir)
    if spec is None:
        return []
    found = []
    for seed_dir, step in paused:
        trial = trial_id(seed_dir)
        if step is not None and rung_records.is_promoted(storage_dir, spec.bracket(trial), step, trial):
            found.append((seed_dir, step))
    return found


def unpause(seed_dir: str, step: int) -> bool:
    """``PAUSED.<step>`` emptied (UNHATCHED is empty, as prepare made it), then renamed UNHATCHED; False if
    the seed is not paused there (sent back by another process, still running, or a planted link)."""
    paused = os.path.join(seed_dir, paused_flag_name(step))
    try:
        write_into(paused, b"", os.O_TRUNC)  # never through a link: a regular file only
        os.rename(paused, os.path.join(seed_dir, UNHATCHED))
    except OSError:
        return False
    return True


def promote_one(storage_dir: Path, spec: AdaptiveSpec, *, worker_id: str = "") -> str | None:
    """Step 2: make one promotion (exactly once: the marker's link decides) and send its seed back to
    UNHATCHED; the seed folder, or None when ASHA promotes nothing now."""
    for bracket in range(spec.n_brackets):
        steps = spec.rungs(bracket)
        for _ in range(100):  # each lost race means someone else promoted: list again
            rungs = [rung_records.read_rung(storage_dir, bracket, s) for s in steps]
            choice = next_promotion([r.records for r in rungs], [r.promoted for r in rungs], eta=spec.eta,
                                    direction=spec.direction)
            if choice is None:
                break
            step, n = steps[choice.from_rung], len(rungs[choice.from_rung].records)
            facts = {"worker_id": worker_id, "pid": os.getpid(), "time": time.time(), "value": choice.value,
                     "n_records": n, "promoted_before": len(rungs[choice.from_rung].promoted)}
            if not rung_records.promote(storage_dir, bracket, step, str(choice.trial_id),
                                        (json.dumps(facts) + "\n").encode()):
                continue
            stall_point("between_promotion_and_unpause")
            seed_dir = _seed_of(storage_dir, str(choice.trial_id))
            if not unpause(seed_dir, step):
                continue  # still running (it reads the marker and goes on), or not a seed that can resume
            log.info("promoted %s out of step %d (%s of %d records)", choice.trial_id, step, choice.value, n)
            return seed_dir
    return None


def _first_unhatched(storage_dir: Path) -> str | None:
    for _, experiment_dir in list_experiment_dirs(storage_dir):
        try:
            seed_dirs = list_seed_dirs(experiment_dir)
        except FileNotFoundError:
            continue
        for _, seed_dir in seed_dirs:
            if os.path.exists(os.path.join(seed_dir, UNHATCHED)):
                return seed_dir
    return None


def _propose(storage_dir: Path, spec: AdaptiveSpec) -> str | None:
    """A new experiment's first seed folder, while the budget lasts (every sampler: a random search
    whose budget is in steps made no experiment at prepare)."""
    from alfred.search.proposals import propose_one  # Optuna, for a model sampler, only when proposing

    seed_dir = propose_one(storage_dir, spec)
    return None if seed_dir is None else os.fspath(seed_dir)


def next_seed(storage_dir: Path, spec: AdaptiveSpec, *, worker_id: str = "") -> str | None:
    """The next seed folder to claim in this adaptive search, or None (see the module's order)."""
    if spec.mode == "promote":
        ready = unpause_promoted(storage_dir, spec)
        if ready:
            return ready[0]
        seed_dir = promote_one(storage_dir, spec, worker_id=worker_id)
        if seed_dir is not None:
            return seed_dir
    return _first_unhatched(storage_dir) or _propose(storage_dir, spec)


def candidates(specs: dict[Path, AdaptiveSpec], *, worker_id: str = "") -> Iterator[str]:
    """Seed folders to claim, each computed when asked for (after the previous run ended), until
    no adaptive search gives one. The same seed offered three times in a row ends it (its claim keeps
    failing: another worker keeps taking it first, and will do the work)."""
    last, repeats = None, 0
    while True:
        seed_dir = None
        for storage_dir, spec in specs.items():
            seed_dir = next_seed(storage_dir, spec, worker_id=worker_id)
            if seed_dir is not None:
                break
        repeats = repeats + 1 if seed_dir == last else 0
        if seed_dir is None or repeats >= 3:
            return
        last = seed_dir
        yield seed_dir
