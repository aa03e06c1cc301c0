import numpy as np
from main import get_run_args  # noqa: F401

from alfred.utils.misc import check_params_defined_twice

ALG_NAMES = ["hillclimb"]
TASK_NAMES = ["quadratic", "quartic"]
SEEDS = [1, 2]
N_EXPERIMENTS = 4


def sample_experiment():
    sampled_config = {"lr": float(10 ** np.random.uniform(-2.5, -0.7)),
                      "noise": float(np.random.choice([0.2, 0.5]))}
    check_params_defined_twice(keys=list(sampled_config.keys()))
    return sampled_config
