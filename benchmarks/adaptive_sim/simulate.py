"""An event-driven simulation of a search with parallel workers, clocked by the problem's runtimes.

Each worker runs one configuration at a time, from checkpoint to checkpoint (the rung steps of its
bracket, then ``max_resource``); the clock jumps to the next worker that reaches a checkpoint.
What happens there is the strategy's decision, made with the same functions the real system
calls (``alfred.adaptive.rungs`` and ``alfred.adaptive.sampling``), or by Optuna's own pruners.

Strategies:
    random          every configuration to ``max_resource``
    asha_stop       alfred's stop rule, one bracket
    asha_promote    alfred's promote rule (runs pause at rungs; a free worker promotes or starts anew)
    asha_tpe        asha_stop with new configurations from ``propose(..., sampler="tpe")``
    hyperband_stop  alfred's stop rule with Hyperband brackets (``bracket_of``)
    optuna_sha      Optuna's SuccessiveHalvingPruner (report + should_prune at each checkpoint)
    optuna_hb       Optuna's HyperbandPruner
All but asha_tpe take configuration i of the same seeded stream as their i-th new configuration.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from alfred.adaptive.rungs import bracket_of, n_brackets, next_promotion, rung_steps, should_continue
from alfred.adaptive.sampling import TrialRecord, propose
from alfred.adaptive.space import sample_config

STRATEGIES = ("random", "asha_stop", "asha_promote", "asha_tpe", "hyperband_stop", "optuna_sha", "optuna_hb")


@dataclass
class Trial:
    id: int
    config: dict
    bracket: int
    checkpoints: tuple[int, ...]
    values: np.ndarray  # at each checkpoint
    times: np.ndarray  # cumulative, at each checkpoint
    pos: int = -1  # index of the last checkpoint reached
    state: str = "running"
    intermediate: dict = field(default_factory=dict)


@dataclass
class Result:
    """What one simulated search produced: completions (time, final value) and counts."""

    completions: list[tuple[float, float]]
    n_configs: int
    n_complete: int
    busy_time: float


class Search:
    """The shared machinery: a configuration stream, evaluation in chunks, trial bookkeeping."""

    def __init__(self, problem, *, seed: int, eta: int, strategy: str):
        self.problem, self.seed, self.eta, self.strategy = problem, seed, eta, strategy
        self.min_r, self.max_r = problem.min_resource, problem.max_resource
        self.n_br = n_brackets(min_resource=self.min_r, max_resource=self.max_r, eta=eta)
        self.all_steps = rung_steps(min_resource=self.min_r, max_resource=self.max_r, eta=eta) + (self.max_r,)
        self.stream_rng = np.random.default_rng([seed, 7])
        self.stream: list[dict] = []
        self.stream_values = np.empty((0, len(self.all_steps)))
        self.stream_times = np.empty((0, len(self.all_steps)))
        self.trials: list[Trial] = []
        self.rungs: dict[tuple[int, int], list] = {}
        self.study = self._optuna_study() if strategy.startswith("optuna") else None
        self.optuna_trials: dict[int, object] = {}

    def _optuna_study(self):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if self.strategy == "optuna_sha":
            pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=self.min_r, reduction_factor=self.eta)
        else:
            pruner = optuna.pruners.HyperbandPruner(min_resource=self.min_r, max_resource=self.max_r,
                                                    reduction_factor=self.eta)
        direction = "maximize" if self.problem.direction == "max" else "minimize"
        return optuna.create_study(study_name=f"s{self.seed}", direction=direction, pruner=pruner,
                                   sampler=optuna.samplers.RandomSampler(seed=self.seed))

    def _stream_curves(self, i: int) -> tuple[dict, np.ndarray, np.ndarray]:
        """Configuration i of the stream and its curve at ``all_steps`` (evaluated 256 at a time)."""
        if len(self.stream) <= i:
            chunk = [sample_config(self.problem.space, self.stream_rng) for _ in range(256)]
            c = self.problem.curves(chunk, self.all_steps)
            self.stream += chunk
            self.stream_values = np.concatenate([self.stream_values, c.values])
            self.stream_times = np.concatenate([self.stream_times, c.times])
        return self.stream[i], self.stream_values[i], self.stream_times[i]

    def _records(self) -> list[TrialRecord]:
        return [TrialRecord(t.config, t.state, value=float(t.values[-1]) if t.state == "complete" else None,
                            intermediate=t.intermediate) for t in self.trials]

    def new_trial(self) -> Trial:
        i = len(self.trials)
        if self.strategy == "asha_tpe":
            config = propose(self.problem.space, self._records(), sampler="tpe", direction=self.problem.direction,
                             seed=self.seed).params
            c = self.problem.curves([config], self.all_steps)
            values, times = c.values[0], c.times[0]
        else:
            config, values, times = self._stream_curves(i)
        bracket = 0
        if self.strategy == "hyperband_stop":
            bracket = bracket_of(i, n=self.n_br, eta=self.eta, seed=self.seed)
        if self.strategy == "random":
            checkpoints = (self.max_r,)
        elif self.strategy.startswith("optuna"):
            checkpoints = self.all_steps  # every rung of every bracket is one of these
        else:
            checkpoints = rung_steps(min_resource=self.min_r, max_resource=self.max_r, eta=self.eta,
                                     bracket=bracket) + (self.max_r,)
        at = [self.all_steps.index(step) for step in checkpoints]  # every checkpoint is one of all_steps
        trial = Trial(i, config, bracket, checkpoints, values[at], times[at])
        self.trials.append(trial)
        if self.study is not None:
            self.optuna_trials[i] = self.study.ask()
        return trial

    def segment(self, trial: Trial) -> float:
        """Time from the trial's last checkpoint to its next one."""
        before = trial.times[trial.pos] if trial.pos >= 0 else 0.0
        return float(trial.times[trial.pos + 1] - before)

    def stop_decision(self, trial: Trial) -> bool:
        """At a rung (not the end): True if the trial continues."""
        step, value = trial.checkpoints[trial.pos], float(trial.values[trial.pos])
        trial.intermediate[step] = value
        if self.study is not None:
            ot = self.optuna_trials[trial.id]
            ot.report(value, step)
            return not ot.should_prune()
        records = self.rungs.setdefault((trial.bracket, trial.pos), [])
        records.append((trial.id, value))
        return should_continue(records, trial.id, eta=self.eta, direction=self.problem.direction)

    def finish(self, trial: Trial, state: str) -> None:
        trial.state = state
        if self.study is not None:
            import optuna

            ot = self.optuna_trials.pop(trial.id)
            if state == "complete":
                ot.report(float(trial.values[-1]), trial.checkpoints[-1])
                self.study.tell(ot, float(trial.values[-1]))
            else:
                self.study.tell(ot, state=optuna.trial.TrialState.PRUNED)


def simulate(problem, strategy: str, *, seed: int, eta: int, n_workers: int, budget_time: float) -> Result:
    """Run one search until ``budget_time`` of simulated wall-clock time; see the module docstring."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; valid: {STRATEGIES}")
    search = Search(problem, seed=seed, eta=eta, strategy=strategy)
    if strategy == "asha_promote":
        return _simulate_promote(search, n_workers=n_workers, budget_time=budget_time)
    events: list[tuple[float, int, int]] = []  # (time, tie-breaker, trial id)
    completions, busy, seq = [], 0.0, 0

    def start(trial: Trial, now: float) -> None:
        nonlocal seq, busy
        dt = search.segment(trial)
        busy += dt
        seq += 1
        heapq.heappush(events, (now + dt, seq, trial.id))

    for _ in range(n_workers):
        start(search.new_trial(), 0.0)
    while events:
        now, _, tid = heapq.heappop(events)
        if now > budget_time:
            break
        trial = search.trials[tid]
        trial.pos += 1
        if trial.pos == len(trial.checkpoints) - 1:
            search.finish(trial, "complete")
            completions.append((now, float(trial.values[-1])))
        elif search.stop_decision(trial):
            start(trial, now)
            continue
        else:
            search.finish(trial, "pruned")
        start(search.new_trial(), now)
    n_complete = sum(t.state == "complete" for t in search.trials)
    return Result(completions, len(search.trials), n_complete, busy)


def _simulate_promote(search: Search, *, n_workers: int, budget_time: float) -> Result:
    """ASHA with promotions: a run pauses at each rung; a free worker asks ``next_promotion``."""
    steps = search.all_steps[:-1]
    rungs: list[list] = [[] for _ in steps]
    promoted: list[set] = [set() for _ in steps]
    events: list[tuple[float, int, int]] = []
    completions, busy, seq = [], 0.0, 0

    def assign(now: float) -> None:
        nonlocal seq, busy
        job = next_promotion(rungs, promoted, eta=search.eta, direction=search.problem.direction)
        if job is None:
            trial = search.new_trial()
        else:
            promoted[job.from_rung].add(job.trial_id)
            trial = search.trials[job.trial_id]
        dt = search.segment(trial)
        busy += dt
        seq += 1
        heapq.heappush(events, (now + dt, seq, trial.id))

    for _ in range(n_workers):
        assign(0.0)
    while events:
        now, _, tid = heapq.heappop(events)
        if now > budget_time:
            break
        trial = search.trials[tid]
        trial.pos += 1
        if trial.pos == len(trial.checkpoints) - 1:
            trial.state = "complete"
            completions.append((now, float(trial.values[-1])))
        else:
            rungs[trial.pos].append((trial.id, float(trial.values[trial.pos])))
            trial.state = "paused"
        assign(now)
    n_complete = sum(t.state == "complete" for t in search.trials)
    return Result(completions, len(search.trials), n_complete, busy)
