"""A claim is an identity: lost workers are fenced, mains cannot take a launch down, locks hold.

Real processes and real signals throughout. A stall between two file operations is placed with
alfred's test hook ALFRED_STALL_AT="<point>:<marker>" (alfred.protocol.flags.stall_point): the
process stops itself there with SIGSTOP and writes its pid into the marker. A worker "on
another host" runs in its own UTS namespace (``unshare -u``) under another hostname, so that
clean_interrupted judges it by its heartbeat, as it would judge a worker on another node.
"""
from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import claim_file, grid_schedule, seed_trees, wait_for

from alfred.protocol.seed_state import SeedState, pid_alive, read_flag_info, seed_state

# Each step appends a line to the calls log (outside the seed folder) and, by path, to a file
# of the run's folder, and rewrites a checkpoint: a worker that went on after losing its seed
# would write into the next owner's files. The run's token is its claim's (OPENED.<token>).
FENCE_MAIN = '''
import argparse, ctypes, json, os, signal, sys, time

def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    for name, kind, default in (("alg_name", str, "algA"), ("task_name", str, "taskA"), ("desc", str, ""),
                                ("seed", int, 0), ("steps", int, 3), ("step_s", float, 0.1), ("mode", str, "none"),
                                ("lr", float, 0.1)):
        parser.add_argument("--" + name, type=kind, default=default)
    return parser.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

def _log(line):
    fd = os.open(os.environ["ALFRED_TEST_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, (line + "\\n").encode())
    os.close(fd)

def main(config, dir_tree, logger, pbar):
    token = dir_tree.run_token
    score = float(os.environ.get("TEST_SCORE", "1"))
    _log(f"start {dir_tree.seed_dir} {token}")
    for name in ("train_recorder.jsonl", "tokens.txt"):  # no resume: each run starts its recorders afresh
        open(dir_tree.recorders_dir / name, "w").close()
    for step in range(config.steps):
        with open(dir_tree.recorders_dir / "train_recorder.jsonl", "a") as f:
            f.write(json.dumps({"step": step, "score": score}) + "\\n")
        with open(dir_tree.recorders_dir / "tokens.txt", "a") as f:
            f.write(token + "\\n")
        (dir_tree.incrementals_dir / "ckpt.txt").write_text(f"{token} {step}")
        _log(f"step {token} {step}")
        time.sleep(config.step_s)
    if config.mode == "os_exit":
        os._exit(0)
    if config.mode == "segfault":
        ctypes.string_at(0)
    if config.mode == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if config.mode == "keyboardinterrupt":
        raise KeyboardInterrupt
    if config.mode == "chdir":
        os.chdir("/")
    _log(f"done {token}")
'''



def can_unshare_uts() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-u", "true"], capture_output=True).returncode == 0


needs_unshare = pytest.mark.skipif(not can_unshare_uts(),
                                   reason="needs `unshare -u` (root, util-linux) to run a worker under another "
                                          "hostname, as on another node")


@pytest.fixture
def fence_project(project):
    (project.path / "main.py").write_text(FENCE_MAIN)
    return project


def prepare(project, name: str, variations: dict, seeds=(1,)) -> tuple[str, Path]:
    schedule = project.write_schedule(f"grid_schedule_{name}.py", grid_schedule(variations, seeds=seeds))
    assert project.prepare(schedule) == 0
    return f"schedules/list_searches_{name}.txt", project.storage_dirs()[-1]


def launch(project, list_file: str, *extra: str, host: str | None = None, env: dict | None = None,
           **popen) -> subprocess.Popen:
    """``python -m alfred.launch_schedule`` as a user starts it, on another host if ``host``."""
    cmd = [sys.executable, "-m", "alfred.launch_schedule", "--from_file", list_file, "--no_summary", *extra]
    if host is not None:
        cmd = ["unshare", "-u", "sh", "-c", f'hostname {host} && exec "$@"', "sh", *cmd]
    return subprocess.Popen(cmd, cwd=project.path, env={**project.env(), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **popen)


def clean(project, list_file: str, *extra: str) -> subprocess.CompletedProcess:
    return project.run_module("alfred.clean_interrupted", "--from_file", list_file, "--yes", *extra)


def files_of(seed_dir: Path) -> dict[str, str]:
    """Every file of a seed folder but its attempts, with a hash of its content."""
    return {str(p.relative_to(seed_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(seed_dir.rglob("*")) if p.is_file() and "attempts" not in p.relative_to(seed_dir).parts}


def stalled_pid(marker: Path) -> int:
    wait_for(lambda: marker.exists() and marker.read_text(), 60, f"a process to stop at {marker.name}")
    pid = int(marker.read_text())
    wait_for(lambda: _proc_state(pid) == "T", 10, "the process to be stopped")
    return pid


def _proc_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def completed_token(seed_dir: Path) -> str:
    return read_flag_info(seed_dir / "COMPLETED")["token"]


def age_claim(tree, seconds: float = 1000.0) -> None:
    """Make a stopped holder's heartbeat look ``seconds`` old (it cannot touch it while stopped)."""
    past = time.time() - seconds
    os.utime(claim_file(tree), (past, past))


# Fencing ---------------------------------------------------------------------------------------

@needs_unshare
def test_a_stopped_worker_that_lost_its_seed_writes_nothing_when_it_runs_again(fence_project):
    """SIGSTOP a worker of another host mid-run; clean resets its seed; a second worker runs it
    to COMPLETED; SIGCONT the first: it stops at once (ClaimLost in its main), writes nothing
    more into the seed folder, changes no flag, and says where its partial output went."""
    project = fence_project
    list_file, storage = prepare(project, "fence", {"steps": [20], "step_s": [0.1]})
    first = launch(project, list_file, "--heartbeat_s", "0.5", host="elsewhere-node")
    (tree,) = seed_trees(storage)
    info = wait_for(lambda: (c := claim_file(tree)) and read_flag_info(c).get("host") == "elsewhere-node"
                    and read_flag_info(c), 60, "the first worker's claim")
    wait_for(lambda: sum(line.startswith("step ") for line in project.calls()) >= 3, 60, "a few steps")
    worker = info["pid"]
    os.kill(worker, signal.SIGSTOP)
    wait_for(lambda: _proc_state(worker) == "T", 10, "the worker to be stopped")
    lost_token = info["token"]
    steps_when_stopped = sum(line.startswith(f"step {lost_token}") for line in project.calls())
    age_claim(tree)
    cleaned = clean(project, list_file)
    assert "reset 1 seed(s)" in cleaned.stdout, cleaned.stdout + cleaned.stderr

    second = launch(project, list_file, "--heartbeat_s", "0.5", env={"TEST_SCORE": "2"})
    assert second.wait(timeout=120) == 0, second.stdout.read()
    owner = completed_token(tree.seed_dir)
    assert owner != lost_token
    before = files_of(tree.seed_dir)

    resumed = time.time()
    os.kill(worker, signal.SIGCONT)
    wait_for(lambda: _proc_state(worker) in ("gone", "Z"), 10, "the fenced worker to stop")
    stopped_after = time.time() - resumed
    out, _ = first.communicate(timeout=60)
    time.sleep(1.0)  # anything still writing would show now
    assert stopped_after <= 2.0, f"the fenced worker ran {stopped_after:.1f} s after SIGCONT"
    assert files_of(tree.seed_dir) == before  # byte for byte what the owning run wrote
    assert sum(line.startswith(f"step {lost_token}") for line in project.calls()) == steps_when_stopped
    assert set((tree.recorders_dir / "tokens.txt").read_text().split()) == {owner}
    assert seed_state(tree).state is SeedState.COMPLETED and completed_token(tree.seed_dir) == owner
    assert first.returncode == 1 and "LOST" in out and f"{tree.attempts_dir}/1" in out, out
    assert read_flag_info(tree.attempts_dir / "1" / "OPENED")["token"] == lost_token


def test_a_claim_stalled_before_its_facts_are_written_is_given_up(fence_project, tmp_path):
    """The stall sits between the claim's rename and the write of its facts: clean resets the
    empty claim, a second worker completes the seed, and the first, run again, finds its claim
    gone and starts nothing: main ran once."""
    project = fence_project
    list_file, storage = prepare(project, "mid", {"steps": [3]})
    marker = tmp_path / "stalled"
    first = launch(project, list_file, env={"ALFRED_STALL_AT": f"after_claim_rename:{marker}"})
    worker = stalled_pid(marker)
    (tree,) = seed_trees(storage)
    assert claim_file(tree).read_bytes() == b""  # claimed, facts not written yet: judged by when it was renamed
    time.sleep(10.5)
    cleaned = clean(project, list_file, "--stale_after_s", "10")
    assert "reset 1 seed(s)" in cleaned.stdout, cleaned.stdout
    second = launch(project, list_file)
    assert second.wait(timeout=120) == 0, second.stdout.read()
    owner = completed_token(tree.seed_dir)
    before = files_of(tree.seed_dir)
    os.kill(worker, signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 0, out
    assert files_of(tree.seed_dir) == before
    assert [line for line in project.calls() if line.startswith("start")] == [f"start {tree.seed_dir} {owner}"]
    assert (tree.attempts_dir / "1" / "OPENED").read_bytes() == b""  # the abandoned claim, kept


@needs_unshare
def test_a_worker_stalled_before_completing_touches_no_flag_of_the_next_claim(fence_project, tmp_path):
    """The stall sits just before the rename to COMPLETED: the seed is reset and run again by
    another worker; the first, run again, cannot rename anything: one COMPLETED, the owner's,
    and the summary reads only the finished run."""
    project = fence_project
    list_file, storage = prepare(project, "fin", {"steps": [3]})
    marker = tmp_path / "stalled"
    first = launch(project, list_file, "--heartbeat_s", "0.5", host="elsewhere-node",
                   env={"ALFRED_STALL_AT": f"before_complete_rename:{marker}", "TEST_SCORE": "1"})
    worker = stalled_pid(marker)
    (tree,) = seed_trees(storage)
    age_claim(tree)
    cleaned = clean(project, list_file)
    assert "reset 1 seed(s)" in cleaned.stdout, cleaned.stdout
    second = launch(project, list_file, env={"TEST_SCORE": "2"})
    assert second.wait(timeout=120) == 0, second.stdout.read()
    owner = completed_token(tree.seed_dir)
    before = files_of(tree.seed_dir)
    os.kill(worker, signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 1 and "LOST" in out, out
    assert files_of(tree.seed_dir) == before
    names = os.listdir(tree.seed_dir)
    assert "COMPLETED" in names and not [n for n in names if n.startswith("OPENED")]
    assert completed_token(tree.seed_dir) == owner
    summary = project.run_module("alfred.benchmark", "--storage_names", storage.name, "--y_metric", "score",
                                 "--x_metric", "step")
    assert summary.returncode == 0, summary.stdout + summary.stderr
    result = json.loads((storage / "summary" / "summary.json").read_text())
    assert result["best_score"] == 2.0 and result["load_report"]["loaded"] == 1  # the owner's run only


# No orphans ---------------------------------------------------------------------------------

def test_sigkill_of_a_launcher_releases_its_workers_seeds_and_leaves_no_worker(fence_project):
    project = fence_project
    list_file, storage = prepare(project, "orphan", {"steps": [40], "step_s": [0.05], "lr": [0.1, 0.2, 0.3]})
    launcher = launch(project, list_file, "--n_processes", "2")
    trees = seed_trees(storage)
    running = wait_for(lambda: len(infos := [read_flag_info(c) for t in trees if (c := claim_file(t))
                                             and read_flag_info(c)]) == 2 and infos, 60, "two running seeds")
    wait_for(lambda: sum(line.startswith("start") for line in project.calls()) == 2, 60, "both mains started")
    workers = [i["pid"] for i in running]
    killed = time.time()
    launcher.kill()
    launcher.wait(timeout=30)
    wait_for(lambda: not any(pid_alive(pid, None) for pid in workers), 10, "the workers to stop")
    assert time.time() - killed <= 5.0
    time.sleep(0.5)
    states = collections.Counter(seed_state(t).state for t in trees)
    assert states == {SeedState.UNHATCHED: 3}, states  # nothing keeps running or claiming
    released = [t for t in trees if (t.attempts_dir / "1" / "RELEASED").exists()]
    assert len(released) == 2  # each attempt kept
    assert sum(line.startswith("start") for line in project.calls()) == 2  # no worker started another run

    relaunch = launch(project, list_file, "--n_processes", "2")
    assert relaunch.wait(timeout=180) == 0, relaunch.stdout.read()
    assert collections.Counter(seed_state(t).state for t in trees) == {SeedState.COMPLETED: 3}
    starts = collections.Counter(line[len("start "):].rsplit(" ", 1)[0] for line in project.calls()
                                 if line.startswith("start"))
    assert all(n <= 2 for n in starts.values()) and sum(starts.values()) == 5


# A main cannot take the launch down -------------------------------------------------------------

CAUSES = {"os_exit": "exited with code 0", "segfault": "SIGSEGV", "sigkill": "killed by SIGKILL",
          "keyboardinterrupt": "exception: KeyboardInterrupt"}


@pytest.mark.parametrize("n_processes", [1, 2])
@pytest.mark.parametrize("mode", list(CAUSES))
def test_a_main_that_ends_its_process_is_a_crash_and_the_launch_goes_on(fence_project, mode, n_processes):
    project = fence_project
    list_file, storage = prepare(project, "bad", {"mode": ["none", mode], "lr": [0.1, 0.2], "step_s": [0.01]},
                                 seeds=(1, 2))
    launcher = launch(project, list_file, "--n_processes", str(n_processes))
    out, _ = launcher.communicate(timeout=180)
    assert launcher.returncode == 1, out
    states = {}
    for tree in seed_trees(storage):
        config = json.loads(tree.config_path.read_text())
        states[(config["mode"], config["lr"], tree.seed)] = seed_state(tree).state
        if config["mode"] == mode:
            text = (tree.seed_dir / "CRASH.txt").read_text()
            assert CAUSES[mode] in text, text
    assert [k for k, s in states.items() if s is not SeedState.COMPLETED] == \
        [k for k in states if k[0] == mode]  # every other seed completed
    assert all(s is SeedState.CRASHED for k, s in states.items() if k[0] == mode)
    assert f"{len(states) // 2} crashed" in out


def test_a_main_that_changes_the_working_directory_changes_nothing_for_alfred(fence_project):
    project = fence_project
    list_file, storage = prepare(project, "cd", {"mode": ["chdir"], "lr": [0.1, 0.2], "step_s": [0.01]}, seeds=(1, 2))
    launcher = launch(project, list_file)
    out, _ = launcher.communicate(timeout=180)
    assert launcher.returncode == 0, out
    assert collections.Counter(seed_state(t).state for t in seed_trees(storage)) == {SeedState.COMPLETED: 4}
    assert not list(Path("/").glob("storage"))  # nothing written relative to where main moved


# One lock implementation ----------------------------------------------------------------------

def test_two_cleaners_racing_reset_each_seed_once(fence_project, tmp_path):
    project = fence_project
    list_file, storage = prepare(project, "cl", {"lr": [0.1, 0.2, 0.3]})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from alfred.protocol.seed_state import HOSTNAME

    for tree in seed_trees(storage):  # three seeds whose worker died
        os.rename(tree.flag_path("UNHATCHED"), tree.seed_dir / "OPENED.0123456789abcdef")
        (tree.seed_dir / "OPENED.0123456789abcdef").write_text(json.dumps({"host": HOSTNAME, "pid": dead.pid}))
    marker = tmp_path / "stalled"
    env = {**project.env(), "ALFRED_STALL_AT": f"after_lock_create:{marker}"}
    first = subprocess.Popen([sys.executable, "-m", "alfred.clean_interrupted", "--from_file", list_file, "--yes"],
                             cwd=project.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    holder = stalled_pid(marker)
    second = clean(project, list_file)
    assert second.returncode == 1 and "another clean_interrupted holds" in second.stderr, second.stdout + second.stderr
    os.kill(holder, signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 0 and "reset 3 seed(s)" in out, out
    for tree in seed_trees(storage):
        assert sorted(os.listdir(tree.attempts_dir)) == ["1"] and seed_state(tree).state is SeedState.UNHATCHED


def test_two_retrains_racing_make_one_retrain(fence_project, tmp_path):
    project = fence_project
    list_file, storage = prepare(project, "rt", {"lr": [0.1, 0.2]}, seeds=(1, 2))
    assert launch(project, list_file).wait(timeout=120) == 0
    marker = tmp_path / "stalled"
    args = [sys.executable, "-m", "alfred.create_retrainbest", "--from_file", list_file, "--yes",
            "--performance_metric", "score", "--n_retrain_seeds", "2"]
    stall = {**project.env(), "ALFRED_STALL_AT": f"after_lock_create:{marker}"}
    first = subprocess.Popen(args, cwd=project.path, env=stall, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    holder = stalled_pid(marker)
    second = subprocess.Popen(args, cwd=project.path, env=project.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    time.sleep(1.0)
    assert second.poll() is None  # waits for the lock's holder
    os.kill(holder, signal.SIGCONT)
    outs = [p.communicate(timeout=120)[0] for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    retrains = [d for d in project.storage_dirs() if "retrainBest" in d.name]
    assert len(retrains) == 1, [d.name for d in retrains]
    assert len(json.loads((storage / "retrains.json").read_text())["retrains"]) == 1
    assert (project.schedules / "list_retrains_rt.txt").read_text().count(retrains[0].name) == 1


# A full disk ----------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (root only): a disk that fills up."""
    path = tmp_path / "disk"
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)],
                      capture_output=True).returncode != 0:
        pytest.skip("needs to mount a small tmpfs (root) to fill a disk")
    yield path
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_full_disk_rolls_the_claim_back_and_stops_the_launch(fence_project, small_disk):
    project = fence_project
    schedule = project.write_schedule("grid_schedule_full.py", grid_schedule({"lr": [0.1, 0.2]}))
    assert project.prepare(schedule, "--root_dir", str(small_disk)) == 0
    with open(small_disk / "filler", "wb") as f:  # take every free block
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    launcher = launch(project, "schedules/list_searches_full.txt")
    out, _ = launcher.communicate(timeout=120)
    assert launcher.returncode == 1, out
    stopped = [line for line in out.splitlines()
               if "No space left on device" in line and line.strip().startswith("stopped")]
    assert len(stopped) == 1 and "sent back to UNHATCHED" in stopped[0], out
    storage = next(p for p in small_disk.iterdir() if p.name.startswith("Se"))
    assert collections.Counter(seed_state(t).state for t in seed_trees(storage)) == {SeedState.UNHATCHED: 4}
    assert not list(storage.glob("experiment*/seed*/OPENED*"))  # no empty claim left looking "running"
    assert project.calls() == []
