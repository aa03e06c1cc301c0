"""A grid search: every combination of the VARIATIONS lists, for every (alg, task) pair.

prepare_schedule creates one storage dir per (alg_name, task_name) pair, one experiment
per combination of VARIATIONS, and one seed folder per entry of SEEDS in each experiment:
here 1 alg x 2 tasks -> 2 storage dirs, each 3 x 2 = 6 experiments x 3 seeds = 18 runs.

    python -m alfred.prepare_schedule --schedule_file schedules/grid_schedule_demo.py --desc demo
"""
# The project's own hyperparameter parser: every name below must be one of its arguments.
from main import get_run_args  # noqa: F401  (alfred calls schedule.get_run_args(""))

# Optional: where the storage dirs go (else ./storage, or --root_dir) and which git
# repos' commits go into the storage names (else this folder, when it is a git repo).
# from alfred.utils.directory_tree import DirectoryTree
# DirectoryTree.default_root = "./storage"
# DirectoryTree.git_repos_to_track["project"] = "."

# One storage dir per pair (names: letters, digits, . + = - _).
ALG_NAMES = ["mlp"]
TASK_NAMES = ["moons", "blobs"]

# Every experiment is run once per seed; the first seed of every experiment runs before
# the second seed of any, so partial results already cover the whole grid.
SEEDS = [1, 2, 3]

# Hyperparameters to vary, each a non-empty list. alg_name, task_name, seed and desc are
# set by alfred (ALG_NAMES, TASK_NAMES, SEEDS, --desc) and must not appear here.
VARIATIONS = {
    "learning_rate": [0.03, 0.3, 1.0],
    "hidden_size": [4, 16],
}

# Optional: how summaries read the results (used by the automatic summary at the end of
# launch_schedule, by benchmark, make_plot_arrays and create_retrainbest; flags override).
RESULTS = {
    "x_metric": "step",
    "y_metric": "test_accuracy",
    "performance_metric": "test_accuracy",
    "performance_aggregation": "last_10%",  # min | max | avg | last | last_<k>%
    "y_error_bars": "bootstrapped_CI",  # bootstrapped_CI | stderr | 10th_quantile | none
}
