from main import get_run_args  # noqa: F401

from alfred.utils.misc import check_params_defined_twice

ALG_NAMES = ["hillclimb"]
TASK_NAMES = ["quadratic"]
SEEDS = [1, 2]
VARIATIONS = {
    "lr": [0.005, 0.05, 0.2],
    "noise": [0.2, 0.5],
}

check_params_defined_twice(keys=list(VARIATIONS.keys()))
