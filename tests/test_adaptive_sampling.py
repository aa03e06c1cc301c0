"""alfred.adaptive.sampling: proposals from Optuna's samplers on a study rebuilt from a plain list of trials."""
from __future__ import annotations

import numpy as np
import pytest

from alfred.adaptive.sampling import TrialRecord, build_study, propose
from alfred.adaptive.space import check_config, parse_space, sample_config
from alfred.errors import AlfredError

SPACE = parse_space({
    "x": {"type": "float", "low": -5.0, "high": 5.0},
    "y": {"type": "float", "low": 1e-3, "high": 1e3, "log": True},
    "n": {"type": "int", "low": 1, "high": 8},
    "act": {"type": "categorical", "choices": ["relu", "tanh"]},
})


def loss(c) -> float:
    return (c["x"] - 1.0) ** 2 + np.log10(c["y"]) ** 2 + 0.1 * (c["n"] - 3) ** 2 + (0.5 if c["act"] == "tanh" else 0)


def history(n: int, seed: int = 0) -> list[TrialRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        c = sample_config(SPACE, rng)
        state = ("complete", "pruned", "running")[i % 3]
        out.append(TrialRecord(c, state, value=loss(c) if state == "complete" else None,
                               intermediate={1: loss(c) + 1.0} if state != "running" else {}))
    return out


def test_random_needs_no_history_follows_the_seed_and_moves_on_with_each_trial():
    trials = history(5)
    a = propose(SPACE, trials, sampler="random", seed=3)
    assert a == propose(SPACE, trials, sampler="random", seed=3)
    assert a.params != propose(SPACE, trials + history(1, seed=9), sampler="random", seed=3).params
    assert a.params != propose(SPACE, trials, sampler="random", seed=4).params
    assert a.system_attrs == {}
    check_config(SPACE, a.params)


def test_bad_names_get_one_line():
    with pytest.raises(AlfredError, match="unknown sampler 'bohb'; valid samplers: random, tpe, cmaes, gp"):
        propose(SPACE, [], sampler="bohb", seed=0)
    pytest.importorskip("optuna", reason="Optuna is the optional 'adaptive' extra (CI installs it)")
    with pytest.raises(AlfredError, match="trial state 'failed'"):
        propose(SPACE, [TrialRecord({"x": 0.0, "y": 1.0, "n": 1, "act": "relu"}, "failed")], sampler="tpe", seed=0)


def test_the_study_holds_the_trials_as_given():
    optuna = pytest.importorskip("optuna", reason="Optuna is the optional 'adaptive' extra (CI installs it)")
    trials = history(9) + [TrialRecord(sample_config(SPACE, np.random.default_rng(1)), "complete", value=float("nan"))]
    study = build_study(SPACE, trials, direction="min", sampler=optuna.samplers.RandomSampler(seed=0))
    frozen = study.get_trials()
    assert [t.state.name for t in frozen] == ["COMPLETE", "PRUNED", "RUNNING"] * 3 + ["COMPLETE"]
    assert frozen[0].value == pytest.approx(trials[0].value) and frozen[1].intermediate_values == {1: pytest.approx(
        trials[1].intermediate[1])}
    assert frozen[-1].value == float("inf")  # a NaN result ranks last
    assert frozen[4].params == dict(trials[4].params)


@pytest.mark.parametrize("sampler", ["tpe", "cmaes"])
def test_proposals_are_reproducible_inside_the_space_and_pending_trials_change_them(sampler):
    pytest.importorskip("optuna", reason="Optuna is the optional 'adaptive' extra (CI installs it)")
    if sampler == "cmaes":
        pytest.importorskip("cmaes", reason="CMA-ES needs the cmaes package (in the 'adaptive' extra)")
    trials = history(40)
    a = propose(SPACE, trials, sampler=sampler, direction="min", seed=1)
    check_config(SPACE, a.params)
    assert a == propose(SPACE, trials, sampler=sampler, direction="min", seed=1)
    pending = trials + [TrialRecord(a.params, "running", system_attrs=a.system_attrs)]
    b = propose(SPACE, pending, sampler=sampler, direction="min", seed=1)
    assert b.params != a.params


def run_loop(sampler: str, n: int, *, seed: int, carry_attrs: bool = True) -> list[float]:
    trials: list[TrialRecord] = []
    for _ in range(n):
        p = propose(SPACE, trials, sampler=sampler, direction="min", seed=seed)
        trials.append(TrialRecord(p.params, "complete", value=loss(p.params),
                                  system_attrs=p.system_attrs if carry_attrs else {}))
    return [t.value for t in trials]


def test_tpe_learns_from_the_rebuilt_study():
    pytest.importorskip("optuna", reason="Optuna is the optional 'adaptive' extra (CI installs it)")
    tpe = [np.median(run_loop("tpe", 60, seed=s)[30:]) for s in range(3)]
    rnd = [np.median(run_loop("random", 60, seed=s)[30:]) for s in range(3)]
    assert max(tpe) < min(rnd)


def test_tpe_on_max_direction_goes_up():
    pytest.importorskip("optuna", reason="Optuna is the optional 'adaptive' extra (CI installs it)")
    trials: list[TrialRecord] = []
    for _ in range(50):
        p = propose(SPACE, trials, sampler="tpe", direction="max", seed=0)
        trials.append(TrialRecord(p.params, "complete", value=-loss(p.params)))
    values = [t.value for t in trials]
    assert np.median(values[30:]) > np.median(values[:10])


def test_cmaes_keeps_its_optimizer_in_the_trials_it_is_handed_back():
    pytest.importorskip("optuna", reason="Optuna is the optional 'adaptive' extra (CI installs it)")
    pytest.importorskip("cmaes", reason="CMA-ES needs the cmaes package (in the 'adaptive' extra)")
    trials: list[TrialRecord] = []
    for _ in range(40):
        p = propose(SPACE, trials, sampler="cmaes", direction="min", seed=2)
        trials.append(TrialRecord(p.params, "complete", value=loss(p.params), system_attrs=p.system_attrs))
    generations = [t.system_attrs.get("cma:generation") for t in trials]
    assert max(g for g in generations if g is not None) >= 2  # it told whole generations and moved on
    assert any(k.startswith("cma:optimizer") for t in trials for k in t.system_attrs)
    values = [t.value for t in trials]
    assert np.median(values[-10:]) < np.median(values[:10])


def test_gp_proposes_inside_the_space():
    pytest.importorskip("optuna", reason="Optuna is the optional 'adaptive' extra (CI installs it)")
    pytest.importorskip("torch", reason="Optuna's GPSampler needs torch, not installed by alfred's extras")
    p = propose(SPACE, history(12), sampler="gp", direction="min", seed=0)
    check_config(SPACE, p.params)
