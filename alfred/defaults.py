"""Settable defaults: a project assigns them at import time, alfred reads them where it uses them.

    import alfred.defaults
    alfred.defaults.DEFAULT_DIRECTORY_TREE_ROOT = "./my_storage"
    alfred.defaults.DEFAULT_BENCHMARK_Y_METRIC = "return"

Nothing copies these values when alfred is imported: ``DirectoryTree.default_root`` and
``DirectoryTree.git_repos_to_track`` are views of the first two (assigning either name sets
the same value), and the results settings read the others each time they are resolved
(alfred.results.settings). prepare_schedule records the benchmark and plot defaults in
force when it loaded the project's main.py and schedule (``prepare_info.json``, under
``"defaults"``), so that a summary made later, by a process that never imports main.py,
uses them too.

The benchmark defaults are used only when the metric is recorded: a project recording
other names gets today's rules (``step`` on the x-axis, the one other recorded metric on the
y-axis) instead, and a schedule's ``RESULTS`` or a command-line flag overrides them all.
"""
from __future__ import annotations

# Where storage dirs go when neither --root_dir nor a schedule says (DirectoryTree.default_root).
DEFAULT_DIRECTORY_TREE_ROOT: str = "./storage"
# {name: repo path}: the repos whose commits name and describe each search (DirectoryTree.git_repos_to_track).
DEFAULT_DIRECTORY_TREE_GIT_REPOS_TO_TRACK: dict[str, str] = {}

# Results, when neither RESULTS nor a flag names them, each used only when recorded.
DEFAULT_BENCHMARK_X_METRIC: str = "episode"
DEFAULT_BENCHMARK_Y_METRIC: str = "eval_return"
DEFAULT_BENCHMARK_PERFORMANCE_METRIC: str = "avg_eval_return"

# Plot arrays make_plot_arrays draws when no --x_metric / --y_metric is given and RESULTS names
# no metric: (x_metric, y_metric, x_lim, y_lim), a limit being (low, high) or None; pairs whose
# metrics are not recorded are skipped.
DEFAULT_PLOTS_ARRAYS_TO_MAKE: list[tuple] = [("episode", "eval_return", None, None)]

# Size limits: a file over its limit is refused with one line (its size, the limit, the name to
# raise), so that a runaway or planted file cannot stall a launch, status or summary. Configs
# are read by every run, recorders by every summary, report and plot.
MAX_CONFIG_BYTES: int = 1 << 20  # config.json, config_unique.json
MAX_RECORDER_BYTES: int = 512 << 20  # recorders/<name>.pkl | .jsonl | .csv, read by summaries and plots


def results_defaults() -> dict:
    """The results defaults in force now, as prepare_schedule records them in prepare_info.json."""
    return {"x_metric": DEFAULT_BENCHMARK_X_METRIC, "y_metric": DEFAULT_BENCHMARK_Y_METRIC,
            "performance_metric": DEFAULT_BENCHMARK_PERFORMANCE_METRIC,
            "plot_arrays": [list(p) for p in DEFAULT_PLOTS_ARRAYS_TO_MAKE]}
