from main import get_run_args  # noqa: F401

from alfred.utils.misc import check_params_defined_twice

ALG_NAMES = ["descent"]
TASK_NAMES = ["bowl"]
SEEDS = [1, 2]
VARIATIONS = {"lr": [0.01, 0.1], "momentum": [0.0, 0.5]}

check_params_defined_twice(keys=list(VARIATIONS))
