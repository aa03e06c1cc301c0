"""alfred.adaptive.rungs: rung steps, Hyperband brackets, the stop rule (checked against Optuna's own
pruners on the same reports) and ASHA's promote rule (checked against a plain full-sort reference)."""
from __future__ import annotations

import math
import random

import pytest

from alfred.adaptive.rungs import (
    Promotion,
    bracket_of,
    bracket_weights,
    n_brackets,
    next_promotion,
    rung_steps,
    rungs_crossed,
    should_continue,
    top_records,
)
from alfred.errors import AlfredError


def test_rung_steps_stop_below_max_and_brackets_start_later():
    assert rung_steps(min_resource=1, max_resource=52, eta=3) == (1, 3, 9, 27)
    assert rung_steps(min_resource=1, max_resource=27, eta=3) == (1, 3, 9)  # 27 is completion, not a rung
    assert rung_steps(min_resource=1, max_resource=52, eta=3, bracket=2) == (9, 27)
    assert rung_steps(min_resource=3, max_resource=100, eta=3) == (3, 9, 27, 81)
    assert rung_steps(min_resource=1, max_resource=27, eta=3, bracket=3) == ()  # Hyperband's last: no stops
    for bad in ({"min_resource": 0, "max_resource": 9, "eta": 3}, {"min_resource": 9, "max_resource": 9, "eta": 3},
                {"min_resource": 1, "max_resource": 9, "eta": 1}, {"min_resource": 1, "max_resource": 9, "eta": 2.5}):
        with pytest.raises(AlfredError):
            rung_steps(**bad)


def test_brackets_as_hyperband_counts_them():
    assert n_brackets(min_resource=1, max_resource=52, eta=3) == 4
    assert n_brackets(min_resource=1, max_resource=27, eta=3) == 4  # exact power: no float rounding lost
    assert n_brackets(min_resource=1, max_resource=81, eta=3) == 5
    assert bracket_weights(4, eta=3) == (27, 12, 6, 4)  # ceil(4 * 3**s / (s + 1)), s = 3, 2, 1, 0
    counts = [0, 0, 0, 0]
    for t in range(4900):
        counts[bracket_of(t, n=4, eta=3, seed=5)] += 1
    assert counts[0] > counts[1] > counts[2] > counts[3] > 0
    assert bracket_of("experiment3/seed1", n=4, eta=3) == bracket_of("experiment3/seed1", n=4, eta=3)


def test_rungs_crossed_counts_each_rung_once_whatever_the_report_steps():
    steps = (1, 3, 9, 27)
    assert list(rungs_crossed(None, 0, steps)) == []
    assert list(rungs_crossed(None, 1, steps)) == [0]
    assert list(rungs_crossed(1, 2, steps)) == []
    assert list(rungs_crossed(2, 10, steps)) == [1, 2]
    assert list(rungs_crossed(None, 52, steps)) == [0, 1, 2, 3]
    rng = random.Random(0)
    for _ in range(200):
        reports = sorted(rng.sample(range(60), rng.randint(1, 12)))
        crossed = [k for prev, step in zip([None] + reports[:-1], reports) for k in rungs_crossed(prev, step, steps)]
        assert crossed == [k for k, s in enumerate(steps) if s <= reports[-1]]


def test_stop_rule_on_small_counts_and_ties():
    # n < eta: only the best so far continues (Optuna's rule for the first eta - 1 records)
    assert should_continue([("a", 0.5)], "a", eta=3, direction="min")
    assert not should_continue([("a", 0.5), ("b", 0.7)], "b", eta=3, direction="min")
    assert should_continue([("a", 0.5), ("b", 0.7)], "b", eta=3, direction="max")
    # n = 6, eta = 3: the best 2 continue; a tie at the cut continues too
    recs = [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 2.0), ("e", 5.0), ("f", 6.0)]
    assert [should_continue(recs, t, eta=3, direction="min") for t, _ in recs] == [True, True, False, True, False,
                                                                                   False]
    # NaN: stopped, and not counted (3 non-NaN records: only the best continues)
    recs = [("a", 1.0), ("b", float("nan")), ("c", 2.0), ("d", 0.5)]
    assert not should_continue(recs, "b", eta=2, direction="min")
    assert should_continue(recs, "d", eta=2, direction="min") and not should_continue(recs, "c", eta=2, direction="min")
    with pytest.raises(AlfredError, match="needs exactly one"):
        should_continue(recs, "zz", eta=2, direction="min")
    with pytest.raises(AlfredError, match="'min' or 'max'"):
        should_continue(recs, "a", eta=2, direction="minimize")


def simulate_pruner(pruner_name: str, schedule, *, eta: int, min_resource: int, max_resource: int, direction: str):
    """Replay ``schedule`` (a list of (trial, step, value) reports, trials started in order) through
    Optuna's pruner, and through alfred's rules; return both lists of (trial, step, pruned)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if pruner_name == "sha":
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=eta)
    else:
        pruner = optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=max_resource,
                                                reduction_factor=eta)
    study = optuna.create_study(study_name="s", direction="minimize" if direction == "min" else "maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0), pruner=pruner)
    n_br = n_brackets(min_resource=min_resource, max_resource=max_resource, eta=eta) if pruner_name == "hb" else 1
    rungs: dict[tuple[int, int], list] = {}  # (bracket, rung) -> records
    trials, last_step, stopped = {}, {}, set()
    ours, theirs = [], []
    for t, step, value in schedule:
        if t in stopped:
            continue
        if t not in trials:
            trials[t] = study.ask()
        trials[t].report(value, step)
        optuna_pruned = trials[t].should_prune()
        bracket = bracket_of(trials[t].number, n=n_br, eta=eta, seed="s") if pruner_name == "hb" else 0
        steps = rung_steps(min_resource=min_resource, max_resource=max_resource, eta=eta, bracket=bracket)
        pruned = False
        for k in rungs_crossed(last_step.get(t), step, steps):
            records = rungs.setdefault((bracket, k), [])
            records.append((t, value))
            if not should_continue(records, t, eta=eta, direction=direction):
                pruned = True
                break
        last_step[t] = step
        ours.append((t, step, pruned))
        theirs.append((t, step, optuna_pruned))
        if optuna_pruned or pruned:
            stopped.add(t)
            study.tell(trials[t], state=optuna.trial.TrialState.PRUNED)
    return ours, theirs


def random_schedule(rng: random.Random, *, n_trials: int, max_resource: int, ties: bool, nan: bool):
    """Trials that start in order and interleave their reports (every step, or a few sparse steps)."""
    streams = []
    for t in range(n_trials):
        sparse = rng.random() < 0.3
        steps = sorted(rng.sample(range(1, max_resource), 4)) if sparse else list(range(1, max_resource))
        base = rng.random()
        values = []
        for s in steps:
            v = base + rng.random() / s
            v = round(v, 1) if ties else v
            values.append(float("nan") if nan and rng.random() < 0.02 else v)
        streams.append(list(zip(steps, values)))
    schedule, active, nxt = [], [], 0
    while nxt < n_trials or active:
        if nxt < n_trials and (len(active) < 4 or rng.random() < 0.1):
            active.append(nxt)
            nxt += 1
        t = rng.choice(active)
        step, value = streams[t].pop(0)
        schedule.append((t, step, value))
        if not streams[t]:
            active.remove(t)
    return schedule


@pytest.mark.parametrize("pruner_name", ["sha", "hb"])
@pytest.mark.parametrize("direction", ["min", "max"])
@pytest.mark.parametrize("eta, min_resource", [(2, 1), (3, 1), (3, 2), (4, 1)])
def test_stop_rule_makes_optunas_decisions_on_the_same_reports(pruner_name, direction, eta, min_resource):
    pytest.importorskip("optuna", reason="Optuna is the optional 'adaptive' extra (CI installs it)")
    rng = random.Random(hash((pruner_name, direction, eta, min_resource)) % 2**32)
    n_pruned = 0
    for case in range(4):
        schedule = random_schedule(rng, n_trials=40, max_resource=30, ties=case % 2 == 0, nan=case == 3)
        ours, theirs = simulate_pruner(pruner_name, schedule, eta=eta, min_resource=min_resource, max_resource=30,
                                       direction=direction)
        assert ours == theirs
        n_pruned += sum(p for _, _, p in ours)
    assert n_pruned > 20  # the comparison exercised both outcomes


def reference_promotion(rungs, promoted, eta, direction):
    """ASHA's get_job, written plainly: full sort of each rung, top n // eta, first not promoted."""
    sign = 1 if direction == "min" else -1
    for k in reversed(range(len(rungs))):
        finite = [r for r in rungs[k] if not math.isnan(r[1])]
        top = sorted(finite, key=lambda r: (sign * r[1], r[0]))[: len(finite) // eta]
        for t, v in top:
            if t not in promoted[k]:
                return Promotion(t, k, v)
    return None


def test_promotion_by_hand():
    rung0 = [(0, 5.0), (1, 3.0), (2, 4.0), (3, 1.0), (4, 2.0), (5, 9.0)]
    assert next_promotion([rung0], [set()], eta=3, direction="min") == Promotion(3, 0, 1.0)
    assert next_promotion([rung0], [{3}], eta=3, direction="min") == Promotion(4, 0, 2.0)
    assert next_promotion([rung0], [{3, 4}], eta=3, direction="min") is None  # top 2 both promoted
    assert next_promotion([rung0], [set()], eta=3, direction="max") == Promotion(5, 0, 9.0)
    assert next_promotion([rung0[:2]], [set()], eta=3, direction="min") is None  # n < eta: nobody yet
    # the highest rung first: rung 1 has 3 records, its best is not promoted yet
    rung1 = [(3, 0.5), (4, 0.7), (1, 0.6)]
    assert next_promotion([rung0, rung1], [{3, 4, 1}, set()], eta=3, direction="min") == Promotion(3, 1, 0.5)
    # ties: the smaller trial id first; NaN never promoted nor counted
    tied = [(7, 1.0), (2, 1.0), (9, float("nan")), (5, 3.0)]
    assert next_promotion([tied], [set()], eta=3, direction="min") == Promotion(2, 0, 1.0)
    assert next_promotion([[(1, float("nan"))] * 3], [set()], eta=3, direction="min") is None
    assert top_records(tied, 2, direction="min") == [(2, 1.0), (7, 1.0)]
    with pytest.raises(AlfredError, match="one promoted set per rung"):
        next_promotion([rung0, rung1], [set()], eta=3, direction="min")


@pytest.mark.parametrize("direction", ["min", "max"])
def test_promotion_matches_the_reference_and_a_simulated_asha_never_promotes_twice(direction):
    rng = random.Random(1 if direction == "min" else 2)
    for eta in (2, 3, 4):
        n_rungs = 4
        rungs: list[list] = [[] for _ in range(n_rungs)]
        promoted: list[set] = [set() for _ in range(n_rungs)]
        value_of = {}
        next_id = 0
        for _ in range(600):  # a free worker asks for a job 600 times
            job = next_promotion(rungs, promoted, eta=eta, direction=direction)
            assert job == reference_promotion(rungs, promoted, eta, direction)
            if job is None:
                t, k = next_id, 0
                next_id += 1
                value_of[t] = round(rng.random(), 2)
            else:
                assert job.trial_id not in promoted[job.from_rung]
                top = top_records(rungs[job.from_rung], len(rungs[job.from_rung]) // eta, direction=direction)
                assert job.trial_id in {r[0] for r in top}
                promoted[job.from_rung].add(job.trial_id)
                t, k = job.trial_id, job.from_rung + 1
            if k < n_rungs:
                rungs[k].append((t, value_of[t] + rng.random() * 0.1 / (k + 1)))
        # a run was promoted out of a rung at most once: the records of the next rung have distinct ids
        assert all(len({t for t, _ in rungs[k]}) == len(rungs[k]) for k in range(n_rungs))
        assert len(rungs[n_rungs - 1]) > 0  # the simulation reached the top rung


def test_decisions_do_not_depend_on_the_order_of_the_listing():
    rng = random.Random(3)
    recs = [(f"e{i}", round(rng.random(), 1)) for i in range(200)]
    shuffled = recs[:]
    rng.shuffle(shuffled)
    for t, _ in recs[:50]:
        assert should_continue(recs, t, eta=3, direction="min") == should_continue(shuffled, t, eta=3, direction="min")
    assert next_promotion([recs], [set()], eta=3, direction="max") == next_promotion([shuffled], [set()], eta=3,
                                                                                    direction="max")
