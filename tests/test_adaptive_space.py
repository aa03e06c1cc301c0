"""alfred.adaptive.space: the search-space schema, its one-line errors, sampling, Optuna distributions."""
from __future__ import annotations

import math

import numpy as np
import pytest

from alfred.adaptive.space import (
    CategoricalParam,
    FloatParam,
    IntParam,
    check_config,
    parse_space,
    sample_config,
    to_optuna_distributions,
)
from alfred.errors import AlfredError

SPEC = {
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "dropout": {"type": "float", "low": 0.0, "high": 1.0},
    "layers": {"type": "int", "low": 1, "high": 5},
    "batch": {"type": "int", "low": 16, "high": 512, "log": True},
    "act": {"type": "categorical", "choices": ["relu", "tanh", None, 3]},
}


def test_parse_keeps_order_and_types():
    space = parse_space(SPEC)
    assert space.names == ("lr", "dropout", "layers", "batch", "act")
    assert space.params[0] == FloatParam("lr", 1e-4, 1e-1, True)
    assert space.params[2] == IntParam("layers", 1, 5, False)
    assert space.params[4] == CategoricalParam("act", ("relu", "tanh", None, 3))


@pytest.mark.parametrize("spec, needle", [
    ({}, "non-empty dict"),
    ({"lr": 0.1}, "'lr' must be a dict with a 'type'"),
    ({"lr": {"type": "real", "low": 0, "high": 1}}, "valid types: float, int, categorical"),
    ({"lr": {"type": "float", "low": 0, "high": 1, "scale": "log"}}, "unknown key(s) ['scale']"),
    ({"lr": {"type": "float", "high": 1}}, "needs 'low'"),
    ({"lr": {"type": "float", "low": 1, "high": 1}}, "'low' must be < 'high'"),
    ({"lr": {"type": "float", "low": 0, "high": 1, "log": True}}, "needs 'low' > 0"),
    ({"lr": {"type": "float", "low": 0, "high": float("inf")}}, "must be a finite number"),
    ({"lr": {"type": "float", "low": 0, "high": 1, "log": "yes"}}, "'log' must be true or false"),
    ({"n": {"type": "int", "low": 1.5, "high": 4}}, "'low' must be an integer"),
    ({"n": {"type": "int", "low": 5, "high": 4}}, "'low' must be <= 'high'"),
    ({"n": {"type": "int", "low": 0, "high": 4, "log": True}}, "needs 'low' >= 1"),
    ({"n": {"type": "int", "low": True, "high": 4}}, "'low' must be an integer"),
    ({"a": {"type": "categorical", "choices": []}}, "non-empty list"),
    ({"a": {"type": "categorical", "choices": [[1]]}}, "valid choices are null, booleans"),
    ({"a": {"type": "categorical", "choices": ["x", "x"]}}, "repeats a choice"),
])
def test_bad_spaces_get_one_line_saying_what_is_valid(spec, needle):
    with pytest.raises(AlfredError) as err:
        parse_space(spec)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_true_and_1_are_distinct_choices():
    assert parse_space({"a": {"type": "categorical", "choices": [True, 1, 1.0]}}).params[0].choices == (True, 1, 1.0)


def test_samples_stay_in_range_follow_the_seed_and_are_log_uniform():
    space = parse_space(SPEC)
    draws = [sample_config(space, np.random.default_rng(7)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(0)
    configs = [sample_config(space, rng) for _ in range(4000)]
    for c in configs:
        check_config(space, c)
        assert isinstance(c["layers"], int) and isinstance(c["batch"], int) and isinstance(c["lr"], float)
    logs = np.log10([c["lr"] for c in configs])
    # log-uniform over 3 decades: each decade holds about a third of the draws
    assert all(abs(np.mean((logs >= lo) & (logs < lo + 1)) - 1 / 3) < 0.04 for lo in (-4, -3, -2))
    assert {c["layers"] for c in configs} == {1, 2, 3, 4, 5}
    assert {c["act"] for c in configs} == {"relu", "tanh", None, 3}
    batches = np.array([c["batch"] for c in configs])
    assert batches.min() == 16 and batches.max() > 450 and np.median(batches) < 150  # log: median near 90


def test_check_config_names_what_is_outside():
    space = parse_space(SPEC)
    good = sample_config(space, np.random.default_rng(1))
    with pytest.raises(AlfredError, match=r"layers=9 is outside the search space; valid: an integer in \[1, 5\]"):
        check_config(space, {**good, "layers": 9})
    with pytest.raises(AlfredError, match=r"missing \['act'\]"):
        check_config(space, {k: v for k, v in good.items() if k != "act"})
    with pytest.raises(AlfredError, match="act='gelu'"):
        check_config(space, {**good, "act": "gelu"})


def test_optuna_distributions_match_the_space():
    optuna = pytest.importorskip("optuna", reason="Optuna is the optional 'adaptive' extra")
    dists = to_optuna_distributions(parse_space(SPEC))
    assert dists["lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    assert dists["layers"] == optuna.distributions.IntDistribution(1, 5)
    assert dists["batch"] == optuna.distributions.IntDistribution(16, 512, log=True)
    assert dists["act"] == optuna.distributions.CategoricalDistribution(["relu", "tanh", None, 3])
    config = sample_config(parse_space(SPEC), np.random.default_rng(3))
    for name, dist in dists.items():  # every sample is inside Optuna's distribution too
        assert dist._contains(dist.to_internal_repr(config[name]))
    assert math.isclose(dists["lr"].low, 1e-4)
