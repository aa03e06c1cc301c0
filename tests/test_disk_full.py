"""A full disk (blocks or inodes) and a filesystem that stops answering, under real workers.

A small tmpfs (root only) is a disk that fills up; ``strace -e inject`` makes a live worker's
heartbeats fail as they would on a hung or partitioned filesystem. None of these may turn a
search into crashes: seeds go back to UNHATCHED with their files, and the launch stops with
one line.
"""
from __future__ import annotations

import collections
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import attempt_run, grid_schedule, seed_trees, wait_for

from alfred.protocol.layout import is_seed_flag
from alfred.protocol.seed_state import SeedState, read_flag_info, seed_state

# main fills the disk when asked (a checkpoint that does not fit), else writes a little and sleeps.
MAIN = '''
import argparse, os, time
from alfred.utils.misc import atomic_write_text

def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    for name, kind, default in (("alg_name", str, "algA"), ("task_name", str, "taskA"), ("desc", str, ""),
                                ("seed", int, 0), ("lr", float, 0.1), ("fill", int, 0), ("sleep_s", float, 0.0)):
        parser.add_argument("--" + name, type=kind, default=default)
    return parser.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

def main(config, dir_tree, logger, pbar):
    fd = os.open(os.environ["ALFRED_TEST_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, f"start {dir_tree.experiment_dir.name}/{dir_tree.seed_dir.name}\\n".encode())
    os.close(fd)
    logger.info("running")
    time.sleep(config.sleep_s)
    if config.fill:
        atomic_write_text(dir_tree.incrementals_dir / "ckpt.txt", "x" * (8 << 20))
    (dir_tree.recorders_dir / "r.jsonl").write_text('{"step": 0, "score": 1}\\n')
'''


@pytest.fixture
def proj(project):
    (project.path / "main.py").write_text(MAIN)
    return project


def mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("needs to mount a small tmpfs (root) to fill a disk")


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk"
    mount_tmpfs(path, "size=4m,nr_inodes=400")
    yield path
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def flags_of(tree) -> list[str]:
    return sorted(n for n in os.listdir(tree.seed_dir) if is_seed_flag(n))


def launch(project, list_file: str, *extra: str) -> subprocess.CompletedProcess:
    return project.run_module("alfred.launch_schedule", "--from_file", list_file, "--no_summary", *extra, timeout=120)


def fill_inodes(folder: Path) -> int:
    n = 0
    while True:
        try:
            (folder / f".fill{n}").touch()
        except OSError:
            return n
        n += 1


def test_no_inode_left_stops_the_launch_with_one_line_and_no_crash(proj, disk):
    schedule = proj.write_schedule("grid_schedule_ino.py", grid_schedule({"lr": [0.1, 0.2, 0.3]}, seeds=(1, 2)))
    assert proj.prepare(schedule, "--root_dir", str(disk)) == 0
    assert fill_inodes(disk) > 0
    r = launch(proj, "schedules/list_searches_ino.txt", "--n_processes", "2")
    assert r.returncode == 1, r.stdout + r.stderr
    stopped = [line for line in r.stdout.splitlines() if line.strip().startswith("stopped:")]
    assert stopped and all("No space left on device" in line for line in stopped), r.stdout
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    (storage,) = [p for p in disk.iterdir() if p.name.startswith("Se")]
    trees = seed_trees(storage)
    assert collections.Counter(seed_state(t).state for t in trees) == {SeedState.UNHATCHED: 6}
    assert all(len(flags_of(t)) == 1 for t in trees)
    for f in disk.glob(".fill*"):  # room again: the same search runs to the end
        f.unlink()
    assert launch(proj, "schedules/list_searches_ino.txt").returncode == 0
    assert collections.Counter(seed_state(t).state for t in trees) == {SeedState.COMPLETED: 6}


def test_a_main_that_fills_the_disk_releases_its_seed_and_the_launch_stops(proj, disk):
    schedule = proj.write_schedule("grid_schedule_fill.py", grid_schedule({"fill": [1], "lr": [0.1, 0.2, 0.3]},
                                                                          seeds=(1, 2)))
    assert proj.prepare(schedule, "--root_dir", str(disk)) == 0
    r = launch(proj, "schedules/list_searches_fill.txt", "--n_processes", "2")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "crashed" in r.stdout and " 0 crashed" in r.stdout, r.stdout
    assert any(line.strip().startswith("stopped:") and "No space left" in line for line in r.stdout.splitlines())
    (storage,) = [p for p in disk.iterdir() if p.name.startswith("Se")]
    trees = seed_trees(storage)
    states = collections.Counter(seed_state(t).state for t in trees)
    assert states == {SeedState.UNHATCHED: 6}, states
    started = {line.split()[1] for line in proj.calls()}
    assert 1 <= len(started) <= 2  # the other worker stopped: no run started after the first failed
    ran = [t for t in trees if f"{t.experiment_dir.name}/{t.seed_dir.name}" in started]
    reasons = []
    for tree in ran:  # released, its files kept: in its attempt's record, or in the seed folder if no room for one
        if (tree.attempts_dir / "1" / "RELEASED").exists():
            reasons.append(read_flag_info(tree.attempts_dir / "1" / "RELEASED")["released"])
            assert attempt_run(tree.seed_dir).log_path.exists()
        else:
            assert (tree.seed_dir / "recorders.unrecorded").is_dir()
    assert any("no space left" in r for r in reasons) or len(reasons) < len(ran)


def test_a_release_on_a_disk_with_no_room_leaves_one_flag(proj, tmp_path):
    """Preempted while the disk is full: the attempt cannot be recorded, the seed is released anyway."""
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "size=4m,nr_inodes=400")
    try:
        schedule = proj.write_schedule("grid_schedule_rel.py", grid_schedule({"sleep_s": [30.0]}, seeds=(1,)))
        assert proj.prepare(schedule, "--root_dir", str(disk)) == 0
        launcher = proj.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_rel.txt",
                                     "--no_summary")
        wait_for(lambda: proj.calls(), 60, "main to start")
        with open(disk / ".blocks", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        fill_inodes(disk)
        launcher.terminate()
        out = launcher.communicate(timeout=60)[0]
        (storage,) = [p for p in disk.iterdir() if p.name.startswith("Se")]
        for tree in seed_trees(storage):
            assert flags_of(tree) == ["UNHATCHED"] or flags_of(tree) == ["COMPLETED"], (flags_of(tree), out)
        assert "Traceback" not in out, out
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# The holder's own lease ----------------------------------------------------------------------------

needs_strace = pytest.mark.skipif(shutil.which("strace") is None or
                                  subprocess.run(["strace", "-o", "/dev/null", "true"],
                                                 capture_output=True).returncode != 0,
                                  reason="needs strace (ptrace allowed) to make a worker's heartbeats fail")


@needs_strace
def test_a_worker_whose_heartbeats_fail_stops_its_run_before_anyone_may_call_it_dead(proj):
    """Every utime of the worker fails (as on a filesystem that stopped answering): once its
    lease runs out (10 s threshold less 2.5 s) main is stopped and the seed released by the
    worker itself; nobody had to reset it, and the next attempt completes it."""
    schedule = proj.write_schedule("grid_schedule_lease.py", grid_schedule({"sleep_s": [25.0]}, seeds=(1,)))
    assert proj.prepare(schedule) == 0
    launcher = proj.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_lease.txt",
                                 "--no_summary", "--heartbeat_s", "0.3", "--stale_after_s", "10")
    (tree,) = seed_trees(proj.storage_dirs()[0])
    info = wait_for(lambda: (c := next(tree.seed_dir.glob("OPENED.*"), None)) and read_flag_info(c), 60, "the claim")
    wait_for(lambda: proj.calls(), 60, "main to start")
    threads = [arg for tid in os.listdir(f"/proc/{info['pid']}/task") for arg in ("-p", tid)]  # every thread
    tracer = subprocess.Popen(["strace", "-f", "-o", "/dev/null", "-e", "trace=utimensat",
                               "-e", "inject=utimensat:error=EIO", *threads])
    started = time.time()
    try:
        wait_for(lambda: (tree.attempts_dir / "1" / "RELEASED").exists(), 30, "the worker to release its seed")
    finally:
        tracer.terminate()
        tracer.wait(timeout=10)
    took = time.time() - started
    out = launcher.communicate(timeout=120)[0]
    released = read_flag_info(tree.attempts_dir / "1" / "RELEASED")["released"]
    assert "no heartbeat succeeded" in released and 6.0 <= took <= 12.0, (released, took, out)
    assert "RELEASED" in out and "LOST" not in out, out
    assert launcher.returncode == 0 and seed_state(tree).state is SeedState.COMPLETED, out
    assert len(proj.calls()) == 2  # the stopped run, and the one that completed it
