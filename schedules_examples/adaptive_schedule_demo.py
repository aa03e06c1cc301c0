"""An adaptive search: asynchronous successive halving over a search space.

Configurations are sampled from ADAPTIVE["search_space"] (up to max_experiments of them); each
run reports its value from main with ``dir_tree.report(step, value)``, and at each rung
(min_resource * eta**k steps) only the best 1/eta of what the rung has recorded go on
(mode "stop"; "promote" pauses runs and needs checkpoints). Prepare writes the settings into
the storage dir (adaptive.json): editing this file afterwards changes nothing there.

    python -m alfred.prepare_schedule --schedule_file schedules/adaptive_schedule_demo.py --desc demo
"""
from main import get_run_args  # noqa: F401  (alfred calls schedule.get_run_args(""))

ALG_NAMES = ["mlp"]
TASK_NAMES = ["moons"]
SEEDS = [1]  # seeds per configuration (default [1])

ADAPTIVE = dict(
    search_space={
        "learning_rate": {"type": "float", "low": 0.01, "high": 2.0, "log": True},
        "hidden_size": {"type": "int", "low": 2, "high": 32, "log": True},
        "weight_decay": {"type": "categorical", "choices": [0.0, 1e-4, 1e-3]},
    },
    metric="test_accuracy",  # what main reports
    direction="max",
    eta=3,
    min_resource=30,  # the first rung, in main's own steps
    max_resource=300,  # a run is complete here
    resource_key="n_steps",  # alfred sets config.n_steps = max_resource
    mode="stop",
    sampler="random",  # or "tpe", "cmaes", "gp" (pip install 'alfred[adaptive]')
    max_experiments=12,
    seed=2024,
)
