"""New experiments of an adaptive search: all at once at prepare (random sampler), or one at a time
by the workers (a model sampler), proposed under the storage dir's ``PROPOSE`` lock.

The storage dir is the only history: each proposal rebuilds the sampler's trials from the
experiment folders (params from config.json, the sampler's notes from proposal.json), the seed
flags (finished or not) and the rung records (values), then asks alfred.adaptive.sampling.
One configuration is one experiment; its seeds (SEEDS of the schedule) are averaged into one trial.

An experiment folder appears whole: it is built under a hidden temporary name (config.json first,
UNHATCHED last in each seed folder, then proposal.json) and renamed to ``experiment<N>`` by one
rename(2), atomic on local filesystems and NFS. A proposer killed before the rename leaves only
the hidden folder, which no worker lists and the next proposer removes (it holds the lock, so
nobody else is building one).
"""
from __future__ import annotations

import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from alfred.adaptive.sampling import TrialRecord, TrialState, propose
from alfred.adaptive.space import check_config
from alfred.adaptive.spec import AdaptiveSpec, trial_id
from alfred.errors import AlfredError
from alfred.protocol import locks
from alfred.protocol.fsio import read_json_or_empty, stall_point
from alfred.protocol.layout import CONFIG, StorageDir, experiment_dir_name, seed_dir_name
from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs
from alfred.protocol.seed_state import SeedState, seed_state
from alfred.search.build import ConfigText, write_seed_folder
from alfred.search.rung_view import read_rungs, trial_values
from alfred.utils.config import load_dict_from_json

__all__ = ["PROPOSE_LOCK", "PROPOSAL_FILE", "initial_experiments", "experiment_params", "load_trials",
           "budget_left", "propose_one"]

PROPOSE_LOCK = "PROPOSE"
PROPOSAL_FILE = "proposal.json"  # in an experiment folder: the sampler's notes (system_attrs) on its config
PROPOSE_STALE_S = 120.0  # a proposal takes well under a second; the holder refreshes the lock meanwhile
_TMP_TAG = "proposal"
_TMP_RE = re.compile(r"\.experiment\d+\.proposal-[0-9a-f]+")
_PENDING = (SeedState.UNHATCHED, SeedState.RUNNING, SeedState.INTERRUPTED)  # will run (again)


class _LockLost(Exception):
    """The PROPOSE lock was taken over while this process built its proposal (it was stopped)."""


def experiment_params(spec: AdaptiveSpec, params: dict[str, Any]) -> dict[str, Any]:
    """An experiment's varied config values: the sampled ones, and resource_key = max_resource."""
    return {**params, spec.resource_key: spec.max_resource} if spec.resource_key else dict(params)


def initial_experiments(spec: AdaptiveSpec) -> list[dict[str, Any]]:
    """What prepare creates: with the random sampler and a max_experiments budget, every
    configuration at once (the stream the workers' proposals would give, seeded by spec.seed);
    none otherwise (the workers propose them)."""
    if spec.sampler != "random" or spec.max_experiments is None:
        return []
    trials: list[TrialRecord] = []
    for _ in range(spec.max_experiments):
        proposal = propose(spec.space, trials, sampler="random", direction=spec.direction, seed=spec.seed)
        trials.append(TrialRecord(proposal.params, "running"))
    return [experiment_params(spec, t.params) for t in trials]


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def load_trials(storage_dir: str | os.PathLike, spec: AdaptiveSpec) -> tuple[list[TrialRecord], int]:
    """The search's trials in experiment order, and the steps spent (over seeds, the highest step recorded).

    A seed COMPLETED is complete (its value: its record at max_resource); one that waits or runs
    (UNHATCHED, RUNNING, INTERRUPTED) is running; any other (stopped at a rung, paused, crashed) is
    pruned, with its rung values as intermediate values. An experiment is running while one of its
    seeds is, else complete if one completed (the mean of their values), else pruned.
    """
    values = trial_values(read_rungs(storage_dir))
    steps = sum(max(v) for v in values.values() if v)
    trials = []
    for _, experiment_dir in list_experiment_dirs(storage_dir):
        seeds = list_seed_dirs(experiment_dir)
        if not seeds:
            continue
        try:
            config = load_dict_from_json(os.path.join(seeds[0][1], CONFIG))
            params = {name: config[name] for name in spec.space.names}
            check_config(spec.space, params)
        except (AlfredError, KeyError):  # a config edited by hand: not in the sampler's history
            continue
        states, finals, intermediate = [], [], {}
        for _, seed_dir in seeds:
            recorded = values.get(trial_id(seed_dir), {})
            state = seed_state(seed_dir).state
            states.append("running" if state in _PENDING else "complete" if state is SeedState.COMPLETED
                          else "pruned")
            if state is SeedState.COMPLETED:
                finals.append(recorded.get(spec.max_resource, math.nan))
            for step, value in recorded.items():
                if step < spec.max_resource:
                    intermediate.setdefault(step, []).append(value)
        state: TrialState = "running" if "running" in states else "complete" if finals else "pruned"
        notes = read_json_or_empty(os.path.join(experiment_dir, PROPOSAL_FILE)).get("system_attrs", {})
        trials.append(TrialRecord(params, state, _mean(finals) if state == "complete" else None,
                                  {s: _mean(v) for s, v in intermediate.items()},
                                  notes if isinstance(notes, dict) else {}))
    return trials, steps


def budget_left(spec: AdaptiveSpec, *, n_experiments: int, steps: int) -> bool:
    """Whether another experiment may start: fewer than max_experiments, fewer than max_steps spent."""
    if spec.max_experiments is not None and n_experiments >= spec.max_experiments:
        return False
    return spec.max_steps is None or steps < spec.max_steps


def propose_one(storage_dir: str | os.PathLike, spec: AdaptiveSpec, *, wait_s: float = 300.0,
                poll_s: float = 0.05) -> Path | None:
    """Create the next experiment folder of an adaptive search and return its first seed folder (the
    one for the caller to claim; the others are UNHATCHED like it); None once the budget is spent.

    One process at a time proposes (the storage dir's PROPOSE lock, taken over from a dead
    holder): the others wait for it, up to ``wait_s`` seconds (then AlfredError).
    """
    storage_dir = Path(storage_dir)
    lock = StorageDir(storage_dir).flag(PROPOSE_LOCK)
    deadline = time.monotonic() + wait_s
    while True:
        if spec.max_experiments is not None and len(list_experiment_dirs(storage_dir)) >= spec.max_experiments:
            return None  # spent, seen without the lock (experiment folders are never removed)
        with locks.held(lock, stale_after_s=PROPOSE_STALE_S) as claim:
            if claim is not None:
                try:
                    return _propose_held(storage_dir, spec, claim)
                except _LockLost:
                    pass
        if time.monotonic() > deadline:
            raise AlfredError(f"{storage_dir}: another process has held the {PROPOSE_LOCK} lock for over "
                              f"{wait_s:.0f} s; see {lock.parent} for its holder")
        time.sleep(poll_s)


def _remove_dead_proposals(storage_dir: Path) -> None:
    """Hidden folders of proposers killed before their rename: the lock holder's to remove."""
    for name in os.listdir(storage_dir):
        if _TMP_RE.fullmatch(name):
            shutil.rmtree(storage_dir / name, ignore_errors=True)


def _propose_held(storage_dir: Path, spec: AdaptiveSpec, claim: locks.LockClaim) -> Path | None:
    _remove_dead_proposals(storage_dir)
    experiments = list_experiment_dirs(storage_dir)
    trials, steps = load_trials(storage_dir, spec)
    if not budget_left(spec, n_experiments=len(experiments), steps=steps):
        return None
    proposal = propose(spec.space, trials, sampler=spec.sampler, direction=spec.direction, seed=spec.seed)
    info = load_dict_from_json(StorageDir(storage_dir).prepare_info)
    texts = ConfigText(info["run_defaults"])
    lines = texts.experiment(info["alg_name"], info["task_name"], info["config_desc"],
                             experiment_params(spec, proposal.params))
    target = storage_dir / experiment_dir_name(experiments[-1][0] + 1 if experiments else 1)
    tmp = Path(os.path.join(storage_dir, f".{target.name}.{_TMP_TAG}-{os.urandom(4).hex()}"))
    try:
        tmp.mkdir()
        for seed in info["seeds"]:
            write_seed_folder(tmp / seed_dir_name(seed), *texts.seed_files(lines, seed))
        (tmp / PROPOSAL_FILE).write_text(_notes_json(proposal.params, proposal.system_attrs))
        stall_point("proposal-built")
        if not locks.owns(claim):  # stopped and taken over meanwhile: the new holder proposes instead
            raise _LockLost
        os.rename(tmp, target)  # the experiment appears whole; a non-empty target refuses (ENOTEMPTY/EEXIST)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target / seed_dir_name(info["seeds"][0])


def _notes_json(params: dict[str, Any], system_attrs: dict[str, Any]) -> str:
    import json

    return json.dumps({"params": params, "system_attrs": system_attrs}, indent=2) + "\n"
