"""Bad input said before anything runs: schedule values against get_run_args' types and choices,
'did you mean' for storage names and list files, a search prepared twice, a list file shared by a
grid and a random schedule; and the small things a newcomer meets first: the version, output
piped into ``head``, a launch with nothing left to run, a launch that ignores SIGINT."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import REPO, grid_schedule, snapshot

from alfred.prepare_schedule import main as prepare_main
from alfred.utils.misc import AlfredError

CHOICES_MAIN = '''
import argparse
from alfred.utils import Recorder
from alfred.utils.config import parse_bool

def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg_name", default="ppo", choices=["ppo", "dqn"])
    parser.add_argument("--task_name", default="cartpole", choices=["cartpole", "pong"])
    parser.add_argument("--desc", default="")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning_rate", type=float, default=0.1)
    parser.add_argument("--n_steps", type=int, default=10)
    parser.add_argument("--optimizer", type=str, default="adam", choices=["adam", "sgd"])
    parser.add_argument("--layers", type=int, nargs="+", default=[64])
    parser.add_argument("--use_bn", type=parse_bool, default=False)
    parser.add_argument("--note", default="")
    return parser.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

def main(config, dir_tree, logger, pbar):
    r = Recorder(["step", "score"])
    r.write_to_tape({"step": 0, "score": config.learning_rate * config.n_steps})
    r.save(dir_tree.recorders_dir / "train_recorder.pkl")
'''


@pytest.fixture
def choices_project(project):
    (project.path / "main.py").write_text(CHOICES_MAIN)
    return project


def _schedule(project, variations: dict, *, algs=("ppo",), tasks=("cartpole",), name="grid_schedule_t.py"):
    return project.write_schedule(name, grid_schedule(variations, algs=algs, tasks=tasks, seeds=(1,)))


# ----------------------------------------------------------------------------- 9. types and choices
@pytest.mark.parametrize("variations, expected", [
    ({"learning_rate": ["0.1"]}, "VARIATIONS gives 'learning_rate' '0.1' is a str, but it is parsed with type=float: "
                                 "write 0.1 (get_run_args' --learning_rate)"),
    ({"learning_rate": [True]}, "'learning_rate' True is a bool, but it is parsed with type=float"),
    ({"n_steps": [1e5]}, "'n_steps' 100000.0 is a float, but it is parsed with type=int: write 100000"),
    ({"optimizer": ["adamw"]}, "'optimizer' 'adamw' is not one of its choices ('adam', 'sgd')"),
    ({"optimizer": [3]}, "'optimizer' 3 is not one of its choices"),
    ({"layers": [[64, "128"]]}, "'layers' '128' is a str, but it is parsed with type=int"),
    ({"use_bn": ["yes"]}, "'use_bn' 'yes' is a string; parse_bool() turns it into True on a command line, and main "
                          "would get the string: write True"),
])
def test_values_get_run_args_would_not_give_main_are_refused_before_anything_is_written(
        choices_project, capsys, variations, expected):
    schedule = _schedule(choices_project, variations)
    before = snapshot(choices_project.path)
    assert choices_project.prepare(schedule) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err, err
    assert "every seed would crash" in err
    assert snapshot(choices_project.path) == before


def test_a_task_or_alg_not_in_choices_is_refused(choices_project, capsys):
    assert choices_project.prepare(_schedule(choices_project, {"learning_rate": [0.1]}, tasks=("cartpole", "Pong")))\
        == 2
    assert "TASK_NAMES gives 'task_name' 'Pong' is not one of its choices ('cartpole', 'pong')" in \
        capsys.readouterr().err
    assert choices_project.prepare(_schedule(choices_project, {"learning_rate": [0.1]}, algs=("a2c",))) == 2
    assert "ALG_NAMES gives 'alg_name' 'a2c' is not one of its choices" in capsys.readouterr().err


def test_values_argparse_would_give_are_accepted(choices_project):
    schedule = _schedule(choices_project, {"learning_rate": [1, 0.5], "n_steps": [5], "optimizer": ["sgd"],
                                           "layers": [[32, 32]], "use_bn": [True, False], "note": [3, None]})
    assert choices_project.prepare(schedule) == 0
    (storage,) = choices_project.storage_dirs()
    assert len(list(storage.glob("experiment*"))) == 8


def test_random_samples_are_checked_too(choices_project, capsys):
    schedule = choices_project.write_schedule("random_schedule_r.py", textwrap.dedent("""
        from main import get_run_args
        ALG_NAMES, TASK_NAMES, SEEDS, N_EXPERIMENTS = ["ppo"], ["pong"], [1], 3
        def sample_experiment():
            return {"optimizer": "rmsprop"}
        """))
    assert choices_project.prepare(schedule) == 2
    assert "sample_experiment() gives 'optimizer' 'rmsprop' is not one of its choices" in capsys.readouterr().err
    assert not (choices_project.path / "storage").exists()


# ----------------------------------------------------------------------------- 9. did you mean
def test_a_misspelt_storage_name_or_list_file_gets_a_suggestion(project, capsys):
    from alfred.status import main as status_main

    assert project.prepare(project.write_schedule("grid_schedule_demo.py", grid_schedule({"lr": [0.1]}))) == 0
    (storage,) = project.storage_dirs()
    assert status_main(["--storage_name", storage.name.replace("taskA", "taskB")]) == 2
    err = capsys.readouterr().err
    assert f"(did you mean {storage.name!r}?)" in err and err.count("\n") == 1
    assert status_main(["--from_file", "schedules/list_search_demo.txt"]) == 2
    assert "(did you mean 'list_searches_demo.txt'?)" in capsys.readouterr().err
    from pathlib import Path

    from alfred.utils.selection import read_list_file

    with pytest.raises(AlfredError, match=r"list files in schedules: list_searches_demo.txt"):
        read_list_file(Path("schedules/zzz.txt"))


# ----------------------------------------------------------------------------- 5. prepared twice
def test_preparing_the_same_search_again_asks_and_points_to_add_to_folder(project, monkeypatch, capsys):
    schedule = project.write_schedule("grid_schedule_twice.py", grid_schedule({"lr": [0.1, 0.2]}))
    assert project.prepare(schedule) == 0
    (first,) = project.storage_dirs()
    capsys.readouterr()
    before = snapshot(project.path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert prepare_main(["--schedule_file", str(schedule)]) == 1
    out = capsys.readouterr().out
    assert f"already holds this grid search with desc 'twice' ({first.name})" in out
    assert f"--add_to_folder {first.name}" in out and "--desc <another name>" in out
    assert "Create a second copy anyway? (y/n)" in out and "aborted: nothing was created" in out
    assert snapshot(project.path) == before  # no second storage dir, the list file unchanged
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert prepare_main(["--schedule_file", str(schedule)]) == 0  # asked for: a second copy
    assert len(project.storage_dirs()) == 2
    capsys.readouterr()
    assert prepare_main(["--schedule_file", str(schedule), "--desc", "other", "--yes"]) == 0
    assert "already holds" not in capsys.readouterr().out  # another desc: no question


# ----------------------------------------------------------------------------- 10. shared list files
def test_grid_and_random_schedules_of_one_name_say_they_share_a_list_file(project, capsys):
    assert project.prepare(project.write_schedule("grid_schedule_demo.py", grid_schedule({"lr": [0.1]}))) == 0
    random = project.write_schedule("random_schedule_demo.py", textwrap.dedent("""
        from main import get_run_args
        ALG_NAMES, TASK_NAMES, SEEDS, N_EXPERIMENTS = ["algA"], ["taskA"], [1], 2
        def sample_experiment():
            return {"lr": 0.3}
        """))
    capsys.readouterr()
    assert project.prepare(random) == 0
    out = capsys.readouterr().out
    assert "list_searches_demo.txt also lists 1 grid search: grid and random schedules of the same name share " \
           "one list file, so launching it runs them all" in out
    readme = (REPO / "README.md").read_text()
    assert "grid and random schedules of the same name share" in readme


# ----------------------------------------------------------------------------- 10. small things
def test_the_version_is_after_the_released_ones():
    import alfred

    out = subprocess.run([sys.executable, "-m", "alfred", "--version"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True).stdout
    assert out == f"alfred {alfred.__version__}\n"
    assert tuple(int(x) for x in alfred.__version__.split(".")[:2]) > (0, 3)


@pytest.mark.parametrize("args", [["--aliases"], ["--help"], ["status", "--help"]])
def test_output_into_a_closed_pipe_ends_quietly(args):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written: every write fails with EPIPE
    try:
        result = subprocess.run([sys.executable, "-m", "alfred", *args], stdout=write_end, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.returncode in (0, 141)


def test_a_finished_launch_says_nothing_is_left_to_run(project):
    project.write_schedule("grid_schedule_done.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=(1, 2)))
    assert project.prepare(project.schedules / "grid_schedule_done.py") == 0
    args = ("--from_file", "schedules/list_searches_done.txt", "--no_summary")
    assert project.run_module("alfred.launch_schedule", *args).returncode == 0
    again = project.run_module("alfred.launch_schedule", *args)
    assert again.returncode == 0 and "nothing to run: all 4 seeds COMPLETED" in again.stdout, again.stdout
    assert "0 run(s) completed" not in again.stdout


def test_a_group_sigint_leaves_a_launch_started_with_sigint_ignored_running(project):
    """``cmd &`` in a script starts the launcher with SIGINT ignored: SIGINT to its process group
    (as a terminal's Ctrl-C would send) must not release the seeds and respawn workers, again and again."""
    project.write_schedule("grid_schedule_bg.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=(1,),
                                                                 extra="VARIATIONS['sleep_s'] = [1.5]\n"))
    assert project.prepare(project.schedules / "grid_schedule_bg.py") == 0
    proc = subprocess.Popen([sys.executable, "-m", "alfred.launch_schedule", "--from_file",
                             "schedules/list_searches_bg.txt", "--n_processes", "2", "--no_summary"],
                            cwd=project.path, env=project.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        for _ in range(3):
            time.sleep(0.6)
            os.killpg(proc.pid, signal.SIGINT)
        out = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert "interrupted, seed sent back" not in out and "done in" in out and "2 run(s) completed" in out
    (storage,) = project.storage_dirs()
    assert not list(storage.glob("experiment*/seed*/attempts"))  # no release happened
    assert len(project.calls()) == 2  # each seed ran once
