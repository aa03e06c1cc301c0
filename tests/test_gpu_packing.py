"""--gpus / --runs_per_gpu: each worker process sees exactly one GPU, K workers per GPU (CPU only)."""
from __future__ import annotations

import collections
import subprocess
import sys

import pytest
from conftest import grid_schedule, seed_trees

from alfred.protocol.seed_state import read_flag_info
from alfred.search.launch import resolve_processes
from alfred.utils.misc import AlfredError

# Appended to the test main: every run logs "<pid> <CUDA_VISIBLE_DEVICES>" to $GPU_LOG, and
# records whether torch-like code could have seen the variable before main.py was imported.
GPU_MAIN_EXTRA = '''
_VISIBLE_AT_IMPORT = os.environ.get("CUDA_VISIBLE_DEVICES")
_main = main

def main(config, dir_tree, logger, pbar):
    fd = os.open(os.environ["GPU_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    line = f"{os.getpid()} {os.environ.get('CUDA_VISIBLE_DEVICES')} {_VISIBLE_AT_IMPORT}\\n"
    os.write(fd, line.encode())
    os.close(fd)
    _main(config, dir_tree, logger, pbar)
'''


def test_each_worker_sees_one_gpu_k_workers_per_gpu(project, monkeypatch):
    gpu_log = project.path / "gpus.log"
    monkeypatch.setenv("GPU_LOG", str(gpu_log))
    with open(project.path / "main.py", "a") as f:
        f.write(GPU_MAIN_EXTRA)
    schedule = project.write_schedule("grid_schedule_gpu.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3, 0.4], "sleep_s": [1.0]}, seeds=[1, 2]))
    assert project.prepare(schedule) == 0
    result = subprocess.run([sys.executable, "-m", "alfred.launch_schedule", "--from_file",
                             "schedules/list_searches_gpu.txt", "--gpus", "3,5", "--runs_per_gpu", "2", "--no_summary"],
                            cwd=project.path, capture_output=True, text=True, timeout=120,
                            env={**project.env(), "GPU_LOG": str(gpu_log), "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "with 4 worker process(es)" in result.stdout
    seen = collections.defaultdict(set)
    for line in gpu_log.read_text().splitlines():
        pid, visible, at_import = line.split()
        assert visible == at_import  # set before main.py was imported
        seen[pid].add(visible)
    assert all(len(v) == 1 for v in seen.values()), seen  # one GPU per process, for all its runs
    per_gpu = collections.Counter(next(iter(v)) for v in seen.values())
    assert per_gpu == {"3": 2, "5": 2}, per_gpu  # K = 2 worker processes on each GPU
    infos = [read_flag_info(t.flag_path("COMPLETED"))
             for d in project.storage_dirs() for t in seed_trees(d)]
    assert len(infos) == 8 and {i["gpu"] for i in infos} == {"3", "5"}


def test_gpu_options_resolve_the_number_of_processes():
    assert resolve_processes(None, None, None) == 1
    assert resolve_processes(3, None, None) == 3
    assert resolve_processes(None, ["0", "1"], None) == 2
    assert resolve_processes(None, ["0", "1"], 4) == 8
    assert resolve_processes(8, ["0", "1"], 4) == 8
    with pytest.raises(AlfredError, match="contradicts"):
        resolve_processes(3, ["0", "1"], 4)
    with pytest.raises(AlfredError, match="needs --gpus"):
        resolve_processes(None, None, 2)


def test_inconsistent_gpu_options_are_a_bad_input(project):
    schedule = project.write_schedule("grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    from alfred.launch_schedule import main

    assert main(["--from_file", "schedules/list_searches_bad.txt", "--gpus", "0,1", "--n_processes", "3"]) == 2
    with pytest.raises(SystemExit) as exc:  # argparse refuses it
        main(["--from_file", "schedules/list_searches_bad.txt", "--gpus", "0,0"])
    assert exc.value.code == 2
