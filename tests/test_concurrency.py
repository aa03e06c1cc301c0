"""Many workers from several launches at once: every seed runs exactly once."""
from __future__ import annotations

import collections
import resource
import subprocess
import sys

import pytest
from conftest import grid_schedule, seed_trees

from alfred.protocol.seed_state import SeedState, seed_state
from alfred.utils.directory_tree import DirectoryTree


def _all_seed_dirs(project) -> list[str]:
    return [str(t.seed_dir) for d in project.storage_dirs() for t in seed_trees(d)]


@pytest.mark.slow
def test_two_launches_eight_workers_run_each_of_500_seeds_once(project):
    lrs = [round(0.01 * i, 2) for i in range(1, 51)]
    schedule = project.write_schedule("grid_schedule_big.py", grid_schedule({"lr": lrs, "width": [1, 2, 3, 4, 5]}))
    assert project.prepare(schedule) == 0
    seeds = _all_seed_dirs(project)
    assert len(seeds) == 500

    launches = [project.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_big.txt",
                                     "--n_processes", "4", "--log_level", "WARNING") for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in launches]
    assert [p.returncode for p in launches] == [0, 0], outputs

    counts = collections.Counter(project.calls())
    assert set(counts) == set(seeds)
    assert [s for s, n in counts.items() if n != 1] == []
    assert all(seed_state(DirectoryTree(s)).state is SeedState.COMPLETED for s in seeds)
    # Both launches took part: the work was shared, not done by one of them alone.
    done_by = [out.split("done in")[1] for out in outputs]
    assert all(" 0 run(s) completed" not in d for d in done_by), outputs


def test_first_seed_of_every_experiment_runs_before_any_second_seed(project):
    schedule = project.write_schedule("grid_schedule_order.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3, 0.4]}, seeds=[7, 3, 5]))
    assert project.prepare(schedule) == 0
    from alfred.launch_schedule import main

    assert main(["--from_file", "schedules/list_searches_order.txt"]) == 0
    order = [DirectoryTree(line).seed for line in project.calls()]
    assert order == [3] * 4 + [5] * 4 + [7] * 4


def test_over_tasks_interleaves_storage_dirs(project):
    schedule = project.write_schedule("grid_schedule_tasks.py",
                                      grid_schedule({"lr": [0.1, 0.2]}, tasks=["t1", "t2"], seeds=[1]))
    assert project.prepare(schedule) == 0
    from alfred.launch_schedule import main

    assert main(["--from_file", "schedules/list_searches_tasks.txt", "--over_tasks"]) == 0
    runs = [DirectoryTree(line) for line in project.calls()]
    assert [(t.experiment_num, t.storage_name.split("_")[3]) for t in runs] == [
        (1, "t1"), (1, "t2"), (2, "t1"), (2, "t2")]


@pytest.mark.slow
def test_recycled_workers_finish_the_search(project):
    schedule = project.write_schedule("grid_schedule_recycle.py", grid_schedule({"lr": [0.1, 0.2, 0.3, 0.4, 0.5]}))
    assert project.prepare(schedule) == 0
    result = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_recycle.txt",
                                "--n_processes", "2", "--n_experiments_per_proc", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(collections.Counter(project.calls()).values()) == [1] * 10
    assert "10 run(s) completed" in result.stdout


@pytest.mark.slow
def test_worker_runs_10000_seeds_under_256_open_files(project):
    """A worker closes each run's logger and files: 10,000 runs fit under ulimit -n 256."""
    seeds = list(range(100))
    schedule = project.write_schedule("grid_schedule_fd.py",
                                      grid_schedule({"lr": [round(0.001 * i, 3) for i in range(1, 101)]}, seeds=seeds))
    assert project.prepare(schedule) == 0
    assert len(_all_seed_dirs(project)) == 10_000

    def limit_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    env = project.env()
    env.pop("ALFRED_TEST_LOG")  # keep the runs cheap: no shared log file
    result = subprocess.run([sys.executable, "-m", "alfred.launch_schedule", "--from_file",
                             "schedules/list_searches_fd.txt", "--log_level", "WARNING"],
                            cwd=project.path, env=env, capture_output=True, text=True, timeout=900,
                            preexec_fn=limit_files)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "10000 run(s) completed, 0 crashed" in result.stdout
