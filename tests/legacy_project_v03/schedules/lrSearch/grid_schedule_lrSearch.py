from main import get_run_args  # noqa: F401

ALG_NAMES = ["sgd", "momentum"]
TASK_NAMES = ["bowl"]
SEEDS = [1, 2]
VARIATIONS = {"lr": [0.01, 0.05, 0.2], "noise": [0.0, 0.5]}
