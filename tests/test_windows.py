"""Every window between two file operations of the protocol, held open by a real stall.

A process stops itself (SIGSTOP) at a named point (alfred's test hook ALFRED_STALL_AT, see
alfred.protocol.fsio.stall_point); meanwhile the test lets a cleaner reset the seed and another
launch run it, then resumes the stalled process (SIGCONT) and checks that at every instant the
seed held exactly one flag, that each main ran once, and that the resumed process wrote nothing
into the next owner's files. A process "on another host" runs under another hostname (``unshare
-u``) or in another PID namespace (``unshare -p``), so that it is judged by its heartbeat; a
stopped process cannot touch its heartbeat, so the test ages it (``os.utime``) instead of waiting.
"""
from __future__ import annotations

import collections
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

from alfred.protocol.layout import is_seed_flag
from alfred.protocol.seed_state import HOSTNAME, SeedState, read_flag_info, seed_state

# Each step appends a line, by path, to the run's recorder and rewrites its checkpoint; the calls
# log (outside the storage) says what each run did. With mode "checkpoint_slowly", Preempted
# starts a checkpoint written in 40 small steps (a worker stopped while checkpointing).
MAIN = '''
import argparse, json, os, time
from alfred.utils.preemption import Preempted

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
    _log(f"start {dir_tree.experiment_dir.name}/{dir_tree.seed_dir.name} {token}")
    try:
        for step in range(config.steps):
            with open(dir_tree.recorders_dir / "train_recorder.jsonl", "a") as f:
                f.write(json.dumps({"step": step, "score": config.lr, "token": token}) + "\\n")
            (dir_tree.incrementals_dir / "ckpt.txt").write_text(f"{token} {step}")
            _log(f"step {token} {step}")
            time.sleep(config.step_s)
    except Preempted:
        if config.mode == "checkpoint_slowly":
            _log(f"checkpointing {token}")
            for i in range(40):
                with open(dir_tree.incrementals_dir / "ckpt_part.txt", "a") as f:
                    f.write(f"{token} {i}\\n")
                _log(f"part {token} {i}")
                time.sleep(0.05)
        raise
    finally:
        if config.mode == "save_in_finally":
            (dir_tree.incrementals_dir / "final.txt").write_text(token)
            _log(f"finally {token}")
    _log(f"done {token}")
'''


def can(*cmd: str) -> bool:
    return shutil.which(cmd[0]) is not None and subprocess.run(cmd, capture_output=True).returncode == 0


needs_uts = pytest.mark.skipif(not can("unshare", "-u", "true"),
                               reason="needs `unshare -u` (root, util-linux): a worker under another hostname")
needs_pidns = pytest.mark.skipif(not can("unshare", "-p", "-f", "--mount-proc", "true"),
                                 reason="needs `unshare -p -f --mount-proc` (root): a worker in another PID namespace")


@pytest.fixture
def proj(project):
    (project.path / "main.py").write_text(MAIN)
    return project


def prepare(project, name: str, variations: dict, seeds=(1,)) -> tuple[str, Path]:
    schedule = project.write_schedule(f"grid_schedule_{name}.py", grid_schedule(variations, seeds=seeds))
    assert project.prepare(schedule) == 0
    return f"schedules/list_searches_{name}.txt", project.storage_dirs()[-1]


def launch(project, list_file: str, *extra: str, host: str | None = None, pidns: bool = False,
           env: dict | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "alfred.launch_schedule", "--from_file", list_file, "--no_summary",
           "--heartbeat_s", "0.5", *extra]
    if pidns:
        cmd = ["unshare", "-p", "-f", "--mount-proc", *cmd]
    if host is not None:
        cmd = ["unshare", "-u", "sh", "-c", f'hostname {host} && exec "$@"', "sh", *cmd]
    return subprocess.Popen(cmd, cwd=project.path, env={**project.env(), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def clean(project, list_file: str, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alfred.clean_interrupted", "--from_file", list_file, "--yes",
                           *extra], cwd=project.path, env={**project.env(), **(env or {})}, capture_output=True,
                          text=True, timeout=120)


def proc_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def stalled(marker: Path) -> int:
    """The pid that stopped itself at the stall point whose marker is ``marker``."""
    wait_for(lambda: marker.exists() and marker.read_text(), 60, f"a process to stop at {marker.name}")
    pid = int(marker.read_text())
    wait_for(lambda: proc_state(pid) == "T", 10, "the process to be stopped")
    return pid


def age(path: Path, seconds: float = 10_000.0) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def flags_of(tree) -> list[str]:
    return sorted(n for n in os.listdir(tree.seed_dir) if is_seed_flag(n))


def recorded_tokens(tree) -> list[str]:
    lines = (tree.recorders_dir / "train_recorder.jsonl").read_text().splitlines()
    return [json.loads(line)["token"] for line in lines]


def snapshot(seed_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(seed_dir)): p.read_bytes() for p in sorted(seed_dir.rglob("*")) if p.is_file()}


def starts(project) -> collections.Counter:
    return collections.Counter(line.split()[1] for line in project.calls() if line.startswith("start"))


# 1. A release stalled before its deciding rename ------------------------------------------------

@needs_uts
def test_a_release_stalled_before_it_decides_never_adds_a_second_flag(proj, tmp_path):
    """A worker is stopped in the middle of releasing its seed (preempted); a cleaner resets the
    seed and another launch completes it; the released worker, resumed, finds its flag gone: one
    flag throughout, the seed completes once, and the stalled worker says LOST, not released."""
    list_file, storage = prepare(proj, "rel", {"steps": [30], "step_s": [0.1]})
    marker = tmp_path / "stall"
    first = launch(proj, list_file, host="node-a", env={"ALFRED_STALL_AT": f"before_release_rename:{marker}"})
    (tree,) = seed_trees(storage)
    wait_for(lambda: any(line.startswith("step") for line in proj.calls()), 60, "the first run to step")
    first.send_signal(signal.SIGTERM)  # the launcher forwards it: the worker releases its seed
    worker = stalled(marker)
    assert [f.split(".")[0] for f in flags_of(tree)] == ["OPENED"]  # still its claim: nothing decided yet
    age(claim_file(tree))
    cleaned = clean(proj, list_file)
    assert "reset 1 seed(s)" in cleaned.stdout, cleaned.stdout + cleaned.stderr
    assert flags_of(tree) == ["UNHATCHED"]
    second = launch(proj, list_file, env={})
    assert second.wait(timeout=120) == 0, second.stdout.read()
    done = snapshot(tree.seed_dir)
    os.kill(worker, signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    assert flags_of(tree) == ["COMPLETED"] and seed_state(tree).state is SeedState.COMPLETED
    assert snapshot(tree.seed_dir) == done  # the resumed worker changed nothing
    assert "LOST" in out and "seed sent back to UNHATCHED" not in out, out
    assert list(starts(proj).values()) == [2]  # the first run, and the second that completed it


# 2. A cleaner stalled while its lock is taken over ------------------------------------------------

def _plant_dead_claims(storage: Path) -> list:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    trees = seed_trees(storage)
    for tree in trees:
        name = "OPENED.0123456789abcdef"
        os.rename(tree.flag_path("UNHATCHED"), tree.seed_dir / name)
        (tree.seed_dir / name).write_text(json.dumps({"host": HOSTNAME, "pid": dead.pid, "token": name[7:]}))
        age(tree.seed_dir / name)  # dead from here (its pid) and from elsewhere (its heartbeat)
    return trees


@needs_uts
@pytest.mark.parametrize("point", ["clean_before_seed", "after_reset_decision", "before_reset_rename"])
def test_a_cleaner_whose_lock_was_taken_over_changes_nothing_when_it_resumes(proj, tmp_path, point):
    list_file, storage = prepare(proj, f"cl{point[:5]}", {"lr": [0.1, 0.2, 0.3]})
    trees = _plant_dead_claims(storage)
    marker = tmp_path / "stall"
    cmd = ["unshare", "-u", "sh", "-c", 'hostname node-c && exec "$@"', "sh", sys.executable, "-m",
           "alfred.clean_interrupted", "--from_file", list_file, "--yes"]
    first = subprocess.Popen(cmd, cwd=proj.path, env={**proj.env(), "ALFRED_STALL_AT": f"{point}:{marker}"},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cleaner = stalled(marker)
    (lock,) = storage.glob("CLEAN_ONGOING.*")
    age(lock)  # its holder looks dead now: no heartbeat for hours, from another host
    second = clean(proj, list_file)
    assert second.returncode == 0, second.stdout + second.stderr
    for tree in trees:
        assert flags_of(tree) == ["UNHATCHED"], (point, os.listdir(tree.seed_dir))
    assert launch(proj, list_file).wait(timeout=120) == 0
    done = {t.seed_dir: snapshot(t.seed_dir) for t in trees}
    os.kill(cleaner, signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    for tree in trees:
        assert flags_of(tree) == ["COMPLETED"] and snapshot(tree.seed_dir) == done[tree.seed_dir], point
        assert len(os.listdir(tree.attempts_dir)) == 1  # each reset recorded once
    assert list(storage.glob("CLEAN_ONGOING.*")) == [] and list(storage.glob(".CLEAN_ONGOING.free"))
    assert all(n == 1 for n in starts(proj).values()) and len(starts(proj)) == 3, out


@needs_uts
def test_a_cleaner_killed_on_another_node_blocks_cleaning_for_5_minutes_not_an_hour(proj):
    """Its CLEAN_ONGOING is judged by age (its pid cannot be checked from here): 4 minutes old, a
    clean skips the storage dir; 6 minutes old, the lock is taken over and the seeds are reset."""
    list_file, storage = prepare(proj, "clkill", {"lr": [0.1, 0.2]})
    trees = _plant_dead_claims(storage)
    cmd = ["unshare", "-u", "sh", "-c", 'hostname node-k && exec "$@"', "sh", sys.executable, "-c",
           "import sys; from alfred.protocol import locks; "
           "c = locks.claim_lock(sys.argv[1], stale_after_s=300); print(c.token, flush=True); sys.stdin.read()",
           str(storage / "CLEAN_ONGOING")]
    holder = subprocess.Popen(cmd, cwd=proj.path, env=proj.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    token = holder.stdout.readline().strip()
    holder.kill()  # killed on "another node": nobody releases its lock
    holder.wait(timeout=30)
    lock = storage / f"CLEAN_ONGOING.{token}"
    age(lock, 240)
    skipped = clean(proj, list_file)
    assert "another clean_interrupted holds" in skipped.stdout + skipped.stderr
    assert all(flags_of(t) != ["UNHATCHED"] for t in trees)
    age(lock, 360)
    done = clean(proj, list_file)
    assert done.returncode == 0 and all(flags_of(t) == ["UNHATCHED"] for t in trees), done.stdout + done.stderr
    assert not lock.exists()


# 3. A claim lost before main starts ---------------------------------------------------------------

@needs_uts
def test_a_claim_lost_before_main_starts_never_runs_main(proj, tmp_path):
    list_file, storage = prepare(proj, "pre", {"steps": [3]})
    marker = tmp_path / "stall"
    first = launch(proj, list_file, host="node-a", env={"ALFRED_STALL_AT": f"before_main:{marker}"})
    worker = stalled(marker)
    (tree,) = seed_trees(storage)
    age(claim_file(tree))
    assert "reset 1 seed(s)" in clean(proj, list_file).stdout
    assert launch(proj, list_file).wait(timeout=120) == 0
    done = snapshot(tree.seed_dir)
    os.kill(worker, signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    assert "LOST" in out, out
    assert list(starts(proj).values()) == [1]  # main ran once, in the second launch
    assert snapshot(tree.seed_dir) == done and flags_of(tree) == ["COMPLETED"]


# 4. ClaimLost after Preempted ------------------------------------------------------------------------

@needs_uts
def test_a_worker_stopped_while_checkpointing_after_preempted_is_fenced(proj):
    list_file, storage = prepare(proj, "ckp", {"steps": [50], "step_s": [0.1], "mode": ["checkpoint_slowly"]})
    first = launch(proj, list_file, host="node-a")
    (tree,) = seed_trees(storage)
    info = wait_for(lambda: (c := claim_file(tree)) and read_flag_info(c), 60, "the claim")
    wait_for(lambda: any(line.startswith("step") for line in proj.calls()), 60, "the first steps")
    os.kill(info["pid"], signal.SIGTERM)  # Preempted in main: it starts a slow checkpoint
    wait_for(lambda: any(line.startswith("part") for line in proj.calls()), 30, "the checkpoint to start")
    os.kill(info["pid"], signal.SIGSTOP)
    wait_for(lambda: proc_state(info["pid"]) == "T", 10, "the worker to stop")
    parts = sum(line.startswith("part") for line in proj.calls())
    age(claim_file(tree))
    assert "reset 1 seed(s)" in clean(proj, list_file).stdout
    second = launch(proj, list_file, "--n_processes", "1")
    wait_for(lambda: sum(1 for _ in starts(proj)) and list(starts(proj).values()) == [2], 60, "the second run")
    os.kill(info["pid"], signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    assert second.wait(timeout=120) == 0
    assert "LOST" in out and "seed sent back to UNHATCHED" not in out, out
    assert sum(line.startswith("part") for line in proj.calls()) == parts  # the checkpoint stopped there
    assert flags_of(tree) == ["COMPLETED"]
    part = tree.incrementals_dir / "ckpt_part.txt"  # carried forward from the first run, unchanged since
    assert part.read_text().splitlines() == [f"{info['token']} {i}" for i in range(parts)]


# 5. Fencing reaches user files --------------------------------------------------------------------------

@needs_uts
def test_a_finally_of_a_fenced_run_cannot_write_into_the_next_runs_files(proj):
    list_file, storage = prepare(proj, "fin", {"steps": [60], "step_s": [0.1], "mode": ["save_in_finally"]})
    first = launch(proj, list_file, host="node-a")
    (tree,) = seed_trees(storage)
    info = wait_for(lambda: (c := claim_file(tree)) and read_flag_info(c), 60, "the claim")
    wait_for(lambda: any(line.startswith("step") for line in proj.calls()), 60, "the first steps")
    os.kill(info["pid"], signal.SIGSTOP)
    wait_for(lambda: proc_state(info["pid"]) == "T", 10, "the worker to stop")
    age(claim_file(tree))
    assert "reset 1 seed(s)" in clean(proj, list_file).stdout
    second = launch(proj, list_file)
    owner = wait_for(lambda: (c := claim_file(tree)) and read_flag_info(c).get("token"), 60, "the second claim")
    wait_for(lambda: any(line.startswith(f"step {owner}") for line in proj.calls()), 60, "the second run to step")
    os.kill(info["pid"], signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    assert second.wait(timeout=120) == 0
    assert "LOST" in out, out
    lost = info["token"]
    assert f"finally {lost}" not in proj.calls()  # its finally's write found no folder to write into
    assert (tree.incrementals_dir / "final.txt").read_text() == owner
    assert (tree.incrementals_dir / "ckpt.txt").read_text().split()[0] == owner
    tokens = recorded_tokens(tree)  # the lost run's steps (carried forward), then only the owner's
    first_owner = tokens.index(owner)
    assert set(tokens[:first_owner]) == {lost} and set(tokens[first_owner:]) == {owner}


# 6. Liveness identity: another PID namespace under the same host name -----------------------------------

@needs_pidns
def test_runs_in_another_pid_namespace_are_not_taken_for_dead(proj):
    """Two launches, one in its own PID namespace (as in a container sharing the host name),
    and cleaners running beside them: every seed runs once, nothing is reset or lost."""
    list_file, storage = prepare(proj, "ns", {"lr": [0.1, 0.2, 0.3, 0.4], "steps": [10], "step_s": [0.1]},
                                 seeds=(1, 2))
    inner = launch(proj, list_file, "--n_processes", "2", pidns=True)
    outer = launch(proj, list_file, "--n_processes", "2")
    reset = 0
    while inner.poll() is None or outer.poll() is None:
        r = clean(proj, list_file)
        reset += int(r.stdout.rsplit("reset ", 1)[-1].split()[0]) if "reset " in r.stdout else 0
        time.sleep(0.2)
    outs = inner.stdout.read() + outer.stdout.read()
    assert inner.returncode == 0 and outer.returncode == 0, outs
    assert reset == 0 and "LOST" not in outs
    assert len(starts(proj)) == 8 and all(n == 1 for n in starts(proj).values())


# 6. The stale threshold has a floor --------------------------------------------------------------------

@pytest.mark.parametrize("script", ["alfred.clean_interrupted", "alfred.status", "alfred.launch_schedule"])
@pytest.mark.parametrize("value", ["1", "-3", "nan"])
def test_a_stale_threshold_below_the_floor_is_refused_in_one_line(proj, script, value):
    list_file, _ = prepare(proj, "fl", {"lr": [0.1]})
    r = proj.run_module(script, "--from_file", list_file, "--stale_after_s", value)
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr.strip().splitlines()[-1].endswith("before anyone may call it dead)") or \
        "positive number" in r.stderr, r.stderr


# 7. Symlinks are never followed out of the storage root ----------------------------------------------

def test_an_unhatched_symlinked_outside_is_refused_and_the_outside_file_untouched(proj, tmp_path):
    list_file, storage = prepare(proj, "sym", {"lr": [0.1, 0.2]})
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    bad, good = seed_trees(storage)
    bad.flag_path("UNHATCHED").unlink()
    bad.flag_path("UNHATCHED").symlink_to(victim)
    r = proj.run_module("alfred.launch_schedule", "--from_file", list_file, "--no_summary")
    assert victim.read_text() == "precious\n"
    assert flags_of(bad) == ["CRASH.txt"] and "symlink" in bad.flag_path("CRASH.txt").read_text()
    assert not bad.flag_path("CRASH.txt").is_symlink()
    assert seed_state(good).state is SeedState.COMPLETED and r.returncode == 1, r.stdout


def test_symlinks_in_an_attempt_to_resume_from_are_not_carried_forward(proj, tmp_path):
    """A released attempt whose files are symlinks to outside the storage: the next run does
    not resume through them, and nothing is written outside."""
    list_file, storage = prepare(proj, "lsym", {"lr": [0.1]})
    (tree,) = seed_trees(storage)
    victim = tmp_path / "victim.log"
    victim.write_text("precious\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    attempt = tree.attempts_dir / "1"
    attempt.mkdir(parents=True)
    (attempt / "RELEASED").write_text("{}")
    (attempt / "logger.out.0123456789abcdef").symlink_to(victim)
    (attempt / "incrementals.0123456789abcdef").symlink_to(outside)
    (proj.path / "main.py").write_text(MAIN.replace('_log(f"start', 'logger.info("hello"); _log(f"start'))
    r = proj.run_module("alfred.launch_schedule", "--from_file", list_file, "--no_summary")
    assert r.returncode == 0, r.stdout + r.stderr
    assert victim.read_text() == "precious\n" and list(outside.iterdir()) == []
    assert seed_state(tree).state is SeedState.COMPLETED and "hello" in tree.log_path.read_text()


def test_a_symlinked_attempts_folder_is_refused(proj, tmp_path):
    list_file, storage = prepare(proj, "satt", {"lr": [0.1]})
    (tree,) = seed_trees(storage)
    outside = tmp_path / "outside"
    outside.mkdir()
    (tree.seed_dir / "attempts").symlink_to(outside)
    os.rename(tree.flag_path("UNHATCHED"), tree.flag_path("CRASH.txt"))  # a crashed seed a clean would record
    r = clean(proj, list_file, "--clean_crashes")
    assert r.returncode != 0 and "symlink" in (r.stdout + r.stderr), r.stdout + r.stderr
    assert len((r.stdout + r.stderr).strip().splitlines()) < 6 and "Traceback" not in r.stdout + r.stderr
    assert flags_of(tree) == ["CRASH.txt"] and list(outside.iterdir()) == []


# 8. FIFOs never block the protocol ----------------------------------------------------------------------

def test_a_fifo_as_unhatched_or_claim_does_not_hang_launch_status_or_clean(proj):
    list_file, storage = prepare(proj, "fifo", {"lr": [0.1, 0.2]})
    bad, good = seed_trees(storage)
    bad.flag_path("UNHATCHED").unlink()
    os.mkfifo(bad.flag_path("UNHATCHED"))
    r = proj.run_module("alfred.launch_schedule", "--from_file", list_file, "--no_summary", timeout=60)
    assert r.returncode == 1 and flags_of(bad) == ["CRASH.txt"], r.stdout
    os.rename(bad.flag_path("CRASH.txt"), bad.seed_dir / "OPENED.0123456789abcdef")
    os.unlink(bad.seed_dir / "OPENED.0123456789abcdef")
    os.mkfifo(bad.seed_dir / "OPENED.0123456789abcdef")  # a FIFO under a claim's name
    assert proj.run_module("alfred.status", "--from_file", list_file, timeout=30).returncode == 0
    r = clean(proj, list_file)
    assert r.returncode == 0 and "reset 1 seed(s)" in r.stdout, r.stdout + r.stderr
    assert flags_of(bad) == ["UNHATCHED"]


# 11. Locks decide and release by their token --------------------------------------------------------------

def test_lock_release_and_finish_by_a_taken_over_holder_touch_nothing_of_the_successor(tmp_path):
    from alfred.protocol import locks

    path = tmp_path / "CLEAN_ONGOING"
    first = locks.claim_lock(path, stale_after_s=3600)
    assert first is not None and locks.claim_lock(path, stale_after_s=3600) is None
    first.info["pid"] = 1  # as if held from another PID namespace: judged by its heartbeat
    first.held_path.write_text(json.dumps({**first.info, "host": "elsewhere"}))
    age(first.held_path)
    second = locks.claim_lock(path, stale_after_s=3600)
    assert second is not None and second.token != first.token
    assert locks.owns(first) is False and locks.touch(first) is False
    assert locks.release_lock(first) is False and locks.finish_lock(first, tmp_path / "DONE") is False
    assert not (tmp_path / "DONE").exists() and locks.owns(second)
    assert locks.holder(path)[0] == second.held_path
    assert locks.release_lock(second) is True and locks.holder(path) is None
    assert locks.claim_lock(path, stale_after_s=3600) is not None


def test_a_lock_is_made_once_even_by_racing_first_users(proj, tmp_path):
    """Eight processes take the same never-used lock at once: at every instant one holds it."""
    code = ("import sys, time\nfrom alfred.protocol import locks\n"
            "for _ in range(30):\n"
            "    c = locks.claim_lock(sys.argv[1], stale_after_s=3600)\n"
            "    if c is not None:\n"
            "        open(sys.argv[2], 'a').write(f'in {c.token}\\n'); time.sleep(0.005)\n"
            "        open(sys.argv[2], 'a').write(f'out {c.token}\\n'); locks.release_lock(c)\n")
    log = tmp_path / "log"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "RETRAIN_ONGOING"), str(log)],
                              env=proj.env()) for _ in range(8)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    lines = log.read_text().split("\n")[:-1]
    assert lines and all(a.startswith("in ") and b == "out " + a[3:] for a, b in zip(lines[::2], lines[1::2]))
