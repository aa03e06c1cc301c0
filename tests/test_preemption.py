"""Preemption inside a worker (no SLURM needed) and --max_attempts."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest
from conftest import attempt_run, grid_schedule, seed_trees

from alfred.protocol import attempts, flags
from alfred.protocol.seed_state import SeedState, seed_state
from alfred.search.worker import run_worker
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.preemption import Preempted, install_handlers, latest_checkpoint, restore_handlers


@pytest.fixture
def handlers():
    previous = install_handlers(("SIGUSR1", "SIGUSR2", "SIGTERM"))
    yield
    restore_handlers(previous)


def project_trees(project) -> list[DirectoryTree]:
    return [t for d in project.storage_dirs() for t in seed_trees(d)]


def test_signal_in_main_raises_preempted_and_releases_the_seed(project, handlers):
    schedule = project.write_schedule("grid_schedule_pre.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    seen = []

    def user_main(config, dir_tree, logger, pbar):
        seen.append(dir_tree.seed_dir)
        try:
            try:
                os.kill(os.getpid(), signal.SIGUSR2)
                time.sleep(5)
            except Exception:  # an ordinary `except Exception` does not swallow it
                seen.append("swallowed")
        except Preempted as e:
            (dir_tree.incrementals_dir / "ckpt_1").write_text("1")
            os.kill(os.getpid(), signal.SIGTERM)  # a second signal while checkpointing: only logged
            seen.append(e.signal_name)
            raise

    report = run_worker(project.storage_dirs(), worker_id="w", user_main=user_main)
    assert report.preempted == "SIGUSR2" and report.completed == 0 and not report.crashed
    assert seen[1:] == ["SIGUSR2"]  # and the worker claimed no other seed after the signal
    tree = DirectoryTree(seen[0])
    assert seed_state(tree).state is SeedState.UNHATCHED
    assert json.loads((tree.attempts_dir / "1" / "RELEASED").read_text())["released"] == "preempted (SIGUSR2)"
    run = attempt_run(tree.seed_dir)  # the run's files wait in its attempt record...
    assert (run.incrementals_dir / "ckpt_1").read_text() == "1" and latest_checkpoint(tree) is None
    assert "stopped by SIGUSR2" in run.log_path.read_text()
    again = flags.claim(tree, worker_id="w2", heartbeat_s=5.0)  # ...until the next claim resumes from it
    assert latest_checkpoint(again.tree) == again.tree.incrementals_dir / "ckpt_1" and not run.incrementals_dir.exists()


def test_signal_between_runs_stops_before_the_next_claim(project, handlers):
    schedule = project.write_schedule("grid_schedule_btw.py", grid_schedule({"lr": [0.1, 0.2, 0.3]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    ran = []

    def user_main(config, dir_tree, logger, pbar):
        ran.append(dir_tree.seed_dir)

    real_complete = flags.complete

    def complete_then_signal(claim, **kwargs):  # the signal lands in alfred's code, after main returned
        done = real_complete(claim, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return done

    flags.complete = complete_then_signal
    try:
        report = run_worker(project.storage_dirs(), worker_id="w", user_main=user_main)
    finally:
        flags.complete = real_complete
    assert report.preempted == "SIGTERM" and report.completed == 1 and len(ran) == 1
    states = sorted(seed_state(t).state.value for t in project_trees(project))
    assert states == ["COMPLETED", "UNHATCHED", "UNHATCHED"]
    assert not any(t.attempts_dir.exists() for t in project_trees(project))


def test_latest_checkpoint_is_the_newest_complete_file(tmp_path):
    tree = DirectoryTree(tmp_path / "storage" / "experiment1" / "seed1")
    assert latest_checkpoint(tree) is None
    tree.create_directories()
    assert latest_checkpoint(tree) is None
    old, new = tree.incrementals_dir / "ckpt_1", tree.incrementals_dir / "ckpt_2"
    old.write_text("1")
    new.write_text("2")
    os.utime(old, (1, 1))
    (tree.incrementals_dir / ".ckpt_3.tmp").write_text("half")
    assert latest_checkpoint(tree) == new
    assert latest_checkpoint(tree, "*_1") == old


def test_max_attempts_gives_up_and_keeps_every_attempt(project):
    schedule = project.write_schedule("grid_schedule_att.py", grid_schedule({"crash": [1]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    from alfred.clean_interrupted import main as clean
    from alfred.launch_schedule import main as launch

    list_file = "schedules/list_searches_att.txt"
    (tree,) = project_trees(project)
    for _ in range(2):  # two failed attempts, each reset with its trace kept
        assert launch(["--from_file", list_file, "--max_attempts", "2", "--no_summary"]) == 1
        assert "boom" in tree.flag_path("CRASH.txt").read_text()
        assert clean(["--from_file", list_file, "--yes", "--clean_crashes"]) == 0
    # A released attempt (preemption) is not a failure and does not count.
    (tree.attempts_dir / "3").mkdir()
    (tree.attempts_dir / "3" / "RELEASED").write_text("{}")
    assert attempts.failed_attempts(tree.seed_dir) == 2
    calls = len(project.calls())
    assert launch(["--from_file", list_file, "--max_attempts", "2", "--no_summary"]) == 1
    assert len(project.calls()) == calls  # main was not run again
    text = tree.flag_path("CRASH.txt").read_text()
    assert text.startswith("exception: gave up after 2 failed attempt(s) (--max_attempts 2)")
    assert f"{tree.attempts_dir}/<n>/" in text and "nothing was deleted" in text
    for n in ("1", "2"):
        assert "boom" in (tree.attempts_dir / n / "CRASH.txt").read_text()
        assert attempt_run(tree.seed_dir, int(n)).log_path.exists()
    # A higher limit runs it again (it crashes again: config.crash is 1).
    assert clean(["--from_file", list_file, "--yes", "--clean_crashes"]) == 0
    assert launch(["--from_file", list_file, "--max_attempts", "5", "--no_summary"]) == 1
    assert len(project.calls()) == calls + 1
    assert "boom" in tree.flag_path("CRASH.txt").read_text()
