"""A random search: N_EXPERIMENTS draws of sample_experiment() per (alg, task) pair.

By default every (alg, task) pair gets the same draws (so searches compare like with like);
prepare_schedule --resample draws anew for each pair. The sampled values of each storage
dir are plotted in its variations<k>.png.

    python -m alfred.prepare_schedule --schedule_file schedules/random_schedule_demo.py --desc demo
"""
import numpy as np

from main import get_run_args  # noqa: F401  (alfred calls schedule.get_run_args(""))

ALG_NAMES = ["mlp"]
TASK_NAMES = ["moons"]
SEEDS = [1, 2]
N_EXPERIMENTS = 8

# Seeded, so that preparing the same schedule twice draws the same experiments.
_rng = np.random.default_rng(2024)


def sample_experiment():
    """One experiment: a dict of hyperparameter values (names from get_run_args)."""
    return {
        "learning_rate": float(10 ** _rng.uniform(-2, 0.3)),  # log-uniform in [0.01, 2]
        "hidden_size": int(_rng.choice([4, 8, 16, 32])),
        "weight_decay": float(_rng.choice([0.0, 1e-4, 1e-3])),
    }
