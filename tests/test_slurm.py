"""launch_schedule --slurm against a REAL SLURM cluster (.ci/slurm/start_cluster.sh).

Skipped, with the reason, when there is no ``sinfo`` or the cluster does not answer.
Storage dirs and job logs live in tmp_path (one machine: the shared filesystem is the
local disk). Every test scancels its jobs at the end.
"""
from __future__ import annotations

import collections
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import claim_file, grid_schedule, seed_trees
from conftest import wait_for as _wait_for

from alfred.protocol.seed_state import SeedState, read_flag_info, seed_state
from alfred.utils.directory_tree import DirectoryTree

pytestmark = pytest.mark.slow  # a real SLURM cluster on localhost: jobs take seconds to schedule

# main.py for the preemption test: counts steps; on Preempted writes a checkpoint into
# incrementals/ and re-raises; when it starts, resumes from the latest checkpoint.
PREEMPT_MAIN = '''
import argparse, os, time
from alfred.utils.preemption import Preempted, latest_checkpoint

def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg_name", default="algA")
    parser.add_argument("--task_name", default="taskA")
    parser.add_argument("--desc", default="")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n_steps", type=int, default=10)
    parser.add_argument("--step_s", type=float, default=0.1)
    argv = None if overwritten_cmd_line is None else overwritten_cmd_line.split()
    return parser.parse_args(argv)

def _log(line):
    fd = os.open(os.environ["ALFRED_TEST_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, (line + "\\n").encode())
    os.close(fd)

def main(config, dir_tree, logger, pbar):
    step = 0
    ckpt = latest_checkpoint(dir_tree)
    if ckpt is not None:
        step = int(ckpt.read_text())
        _log(f"resumed from step {step}")
    else:
        _log("started")
    try:
        while step < config.n_steps:
            time.sleep(config.step_s)
            step += 1
            _log(f"step {step}")
    except Preempted:
        tmp = dir_tree.incrementals_dir / ".ckpt.tmp"
        tmp.write_text(str(step))
        os.replace(tmp, dir_tree.incrementals_dir / f"ckpt_{step:06d}")
        _log(f"checkpoint at step {step}")
        raise
    _log("done")
'''


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """Skip unless a SLURM cluster answers (checked once per session)."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        pytest.skip("no SLURM client (sinfo/sbatch) on PATH: start one with .ci/slurm/start_cluster.sh")
    try:
        import submitit  # noqa: F401
    except ImportError:
        pytest.skip("submitit is not installed (pip install submitit)")
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.skip("the SLURM cluster does not answer (sinfo timed out): run .ci/slurm/start_cluster.sh")
    states = out.stdout.split()
    if out.returncode != 0 or not any(s.rstrip("*~#") in ("idle", "mixed", "allocated", "completing")
                                      for s in states):
        pytest.skip(f"no usable SLURM node (sinfo: {(out.stdout + out.stderr).strip()!r}): "
                    "run .ci/slurm/start_cluster.sh")


@pytest.fixture
def slurm_jobs(slurm_cluster):
    """Array ids submitted by the test; scancelled at the end whatever happened."""
    jobs: list[str] = []
    yield jobs
    for job in jobs:
        subprocess.run(["scancel", job], capture_output=True, timeout=30)


def trees(project) -> list[DirectoryTree]:
    return [t for d in project.storage_dirs() for t in seed_trees(d)]


wait_for = functools.partial(_wait_for, poll_s=0.2)  # squeue is asked at most 5 times a second


def states(project) -> collections.Counter:
    return collections.Counter(seed_state(t).state for t in trees(project))


def in_queue(job: str) -> bool:
    out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%i"], capture_output=True, text=True, timeout=30)
    return bool(out.stdout.strip())


def launch_slurm(project, list_file: str, n_jobs: int, slurm_jobs: list[str], *extra: str) -> tuple[str, str]:
    """launch_schedule --slurm; returns (array id, stdout) once it returned (it does not wait)."""
    start = time.time()
    result = project.run_module("alfred.launch_schedule", "--from_file", list_file, "--slurm",
                                "--slurm_n_jobs", str(n_jobs), "--slurm_time_min", "10",
                                "--slurm_folder", str(project.path / "slurm_logs"), *extra, timeout=120)
    elapsed = time.time() - start
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"submitted SLURM job (?:array )?(\d+): (\d+) job\(s\)", result.stdout)
    assert match, result.stdout
    slurm_jobs.append(match.group(1))
    assert int(match.group(2)) == n_jobs
    assert elapsed < 30, f"launch_schedule --slurm should return once submitted, took {elapsed:.1f} s"
    return match.group(1), result.stdout


def opened_infos(project) -> list[tuple[DirectoryTree, dict]]:
    found = []
    for tree in trees(project):
        path = claim_file(tree)
        info = read_flag_info(path) if path is not None else {}
        if info:
            found.append((tree, info))
    return found


def test_slurm_array_runs_every_seed_exactly_once(project, slurm_jobs):
    schedule = project.write_schedule("grid_schedule_sl.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3, 0.4], "sleep_s": [0.5]}, seeds=[1, 2, 3]))
    assert project.prepare(schedule) == 0
    array_id, out = launch_slurm(project, "schedules/list_searches_sl.txt", 3, slurm_jobs)
    log_paths = re.findall(r"job (\d+_\d+): log (.+)$", out, flags=re.M)
    assert [job for job, _ in log_paths] == [f"{array_id}_{i}" for i in range(3)]

    wait_for(lambda: states(project)[SeedState.COMPLETED] == 12, 120, "every seed to complete")
    counts = collections.Counter(project.calls())
    assert len(counts) == 12 and set(counts.values()) == {1}, counts
    infos = [read_flag_info(t.flag_path("COMPLETED")) for t in trees(project)]
    assert {i["slurm_array_job_id"] for i in infos} == {array_id}
    tasks = {i["slurm_array_task_id"] for i in infos}
    assert tasks <= {"0", "1", "2"} and len(tasks) >= 2, tasks  # the array shared the work
    assert all(i["worker_id"] == f"slurm-{array_id}_{i['slurm_array_task_id']}" for i in infos)
    wait_for(lambda: not in_queue(array_id), 60, "the jobs to end once no seed is left")
    for _, path in log_paths:  # each job's log, printed by launch_schedule, names the runs it did
        assert Path(path).is_file(), path
    logged = "".join(Path(p).read_text() for _, p in log_paths)
    assert logged.count("COMPLETED ") == 12
    assert {i["slurm_log"] for i in infos} <= {p for _, p in log_paths}


def test_scancel_and_killed_worker_then_clean_and_relaunch_completes(project, slurm_jobs):
    schedule = project.write_schedule("grid_schedule_sc.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3, 0.4], "sleep_s": [2.0]}, seeds=[1, 2]))
    assert project.prepare(schedule) == 0
    list_file = "schedules/list_searches_sc.txt"
    array_id, _ = launch_slurm(project, list_file, 2, slurm_jobs, "--heartbeat_s", "0.5")

    def both_tasks_running():
        running = {i.get("slurm_array_task_id"): (t, i) for t, i in opened_infos(project)}
        return running if {"0", "1"} <= set(running) else None

    running = wait_for(both_tasks_running, 60, "both jobs to run a seed")
    # Task 0: a plain scancel (SIGTERM): its run is released, files kept.
    subprocess.run(["scancel", f"{array_id}_0"], check=True, timeout=30)
    # Task 1: its worker dies hard (SIGKILL, as on a node failure): its seed stays OPENED.
    os.kill(running["1"][1]["pid"], signal.SIGKILL)
    wait_for(lambda: not in_queue(array_id), 60, "both jobs to end")

    released = [t for t in trees(project) if any(t.attempts_dir.glob("*/RELEASED"))]
    assert len(released) == 1
    reason = json.loads(next(released[0].attempts_dir.glob("*/RELEASED")).read_text())["released"]
    assert reason == "preempted (SIGTERM)"
    assert seed_state(released[0]).state is SeedState.UNHATCHED
    # SLURM is asked first: the job of the killed worker has ended, so its seed is interrupted two
    # heartbeats later (a node SLURM gave up on may still be writing), with no stale-heartbeat wait
    interrupted = wait_for(lambda: [t for t in trees(project) if seed_state(t).state is SeedState.INTERRUPTED], 10,
                           "the killed job's seed to be interrupted")
    reason = seed_state(interrupted[0]).reason
    assert len(interrupted) == 1 and reason.startswith(f"SLURM job {running['1'][1]['slurm_job_id']} is "), reason
    assert states(project)[SeedState.RUNNING] == 0

    clean = project.run_module("alfred.clean_interrupted", "--from_file", list_file, "--yes")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "reset 1 seed(s)" in clean.stdout
    assert (interrupted[0].attempts_dir / "1" / "OPENED").exists()

    array2, _ = launch_slurm(project, list_file, 2, slurm_jobs)
    wait_for(lambda: states(project)[SeedState.COMPLETED] == 8, 120, "every seed to complete after the relaunch")
    counts = collections.Counter(project.calls())
    assert len(counts) == 8 and all(n <= 2 for n in counts.values()), counts
    assert {s for s, n in counts.items() if n == 2} <= {str(released[0].seed_dir), str(interrupted[0].seed_dir)}
    wait_for(lambda: not in_queue(array2), 60, "the relaunched jobs to end")


def test_preemption_signal_releases_requeues_and_resumes_from_checkpoint(project, slurm_jobs):
    (project.path / "main.py").write_text(PREEMPT_MAIN)
    schedule = project.write_schedule("grid_schedule_pr.py", grid_schedule({"n_steps": [40], "step_s": [0.2]},
                                                                            seeds=[1]))
    assert project.prepare(schedule) == 0
    array_id, _ = launch_slurm(project, "schedules/list_searches_pr.txt", 1, slurm_jobs)
    (tree,) = trees(project)
    wait_for(lambda: "step 3" in project.calls(), 60, "the run to make progress")
    info = read_flag_info(claim_file(tree))
    assert info["slurm_job_id"] == array_id  # one job: submitit submits it as a plain job, not an array
    # What SLURM sends before the time limit (--signal=USR2@<delay>) or on preemption.
    subprocess.run(["scancel", "--signal=USR2", array_id], check=True, timeout=30)

    released = wait_for(lambda: next(tree.attempts_dir.glob("*/RELEASED"), None), 30, "the run to be released")
    assert json.loads(released.read_text())["released"] == "preempted (SIGUSR2)"
    wait_for(lambda: seed_state(tree).state is SeedState.COMPLETED, 90, "the requeued job to finish the seed")
    calls = project.calls()
    checkpoint = next(c for c in calls if c.startswith("checkpoint at step "))
    k = int(checkpoint.rsplit(" ", 1)[1])
    assert 3 <= k < 40
    assert calls.count("started") == 1  # the second attempt did not start over
    assert f"resumed from step {k}" in calls
    assert calls[calls.index(f"resumed from step {k}") + 1] == f"step {k + 1}"
    assert calls[-1] == "done"
    done = read_flag_info(tree.flag_path("COMPLETED"))
    assert done["slurm_job_id"] == array_id and done["slurm_restart_count"] == "1"
    assert done["worker_id"] == f"slurm-{array_id}.r1"
    assert done["attempt"] == 2  # attempts/1/ holds the released attempt
    wait_for(lambda: not in_queue(array_id), 60, "the requeued job to end")


# --- option handling: no cluster needed --------------------------------------------------------

def test_slurm_extra_options_parse():
    from alfred.search.slurm import parse_extra
    from alfred.utils.misc import AlfredError

    assert parse_extra(["qos=high", "--constraint=a100", "exclusive", "mail-type=END"]) == \
        {"qos": "high", "constraint": "a100", "exclusive": True, "mail_type": "END"}
    with pytest.raises(AlfredError):
        parse_extra(["=x"])


def test_slurm_launch_refuses_bad_options_before_submitting(project):
    schedule = project.write_schedule("grid_schedule_opt.py", grid_schedule({"lr": [0.1]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    from alfred.launch_schedule import main

    list_file = "schedules/list_searches_opt.txt"
    # A signal delay over half the time limit could come before the worker is up: refused.
    assert main(["--from_file", list_file, "--slurm", "--slurm_time_min", "2", "--slurm_signal_delay_s", "90"]) == 2
    # Packing onto local GPUs is not a SLURM option.
    assert main(["--from_file", list_file, "--slurm", "--gpus", "0"]) == 2
    assert not (project.path / "storage" / "slurm_logs").exists()  # nothing was submitted


def test_a_suspended_job_keeps_its_seed_and_an_ended_job_frees_it_at_once(project, slurm_jobs):
    """SLURM decides before any heartbeat: a suspended job (no heartbeat while it is stopped)
    keeps its seed however stale its claim looks, and resumes to complete it; a job whose
    worker was killed (SIGKILL, as the out-of-memory killer does) ended, so its seed is
    interrupted two heartbeats later, with no stale-heartbeat wait; scancel -s KILL of a job
    makes SLURM end its step with SIGTERM first: the worker releases its seed at once."""
    schedule = project.write_schedule("grid_schedule_su.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3], "sleep_s": [4.0]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    list_file = "schedules/list_searches_su.txt"
    array_id, _ = launch_slurm(project, list_file, 3, slurm_jobs, "--heartbeat_s", "0.5", "--stale_after_s", "10")

    def all_running():
        found = {i.get("slurm_array_task_id"): (t, i) for t, i in opened_infos(project)}
        return found if {"0", "1", "2"} <= set(found) and len(project.calls()) == 3 else None

    running = wait_for(all_running, 60, "the three jobs to run a seed")
    # array tasks are named <array>_<task>: a bare job id may be the array's, which names every task
    suspended_tree, suspended = running["0"]
    subprocess.run(["scontrol", "suspend", f"{array_id}_0"], check=True, timeout=30)
    killed_tree, killed = running["1"]
    os.kill(killed["pid"], signal.SIGKILL)
    cancelled_tree, _ = running["2"]
    subprocess.run(["scancel", "--full", "-s", "KILL", f"{array_id}_2"], check=True, timeout=30)
    wait_for(lambda: not in_queue(f"{array_id}_1") and not in_queue(f"{array_id}_2"), 60, "two jobs to end")
    assert seed_state(cancelled_tree).state is SeedState.UNHATCHED  # released by its worker
    # An ended job's claim waits two of its heartbeats (a node SLURM gave up on may still write), not 120 s.
    ended = wait_for(lambda: (s := seed_state(killed_tree)).state is SeedState.INTERRUPTED and s, 10,
                     "two heartbeats of the killed job's claim")
    assert ended.reason.startswith(f"SLURM job {killed['slurm_job_id']}") and 1.0 <= ended.age_s < 10, ended
    time.sleep(10.5)  # the suspended job's claim is now older than its recorded threshold (--stale_after_s 10)

    clean = project.run_module("alfred.clean_interrupted", "--from_file", list_file, "--yes", "--stale_after_s", "10")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "reset 1 seed(s)" in clean.stdout, clean.stdout
    assert seed_state(killed_tree).state is SeedState.UNHATCHED
    status = seed_state(suspended_tree)
    assert status.state is SeedState.RUNNING and status.reason.endswith("is SUSPENDED"), status
    assert status.age_s > 10  # however old its heartbeat
    assert not suspended_tree.attempts_dir.exists()

    subprocess.run(["scontrol", "resume", f"{array_id}_0"], check=True, timeout=30)
    wait_for(lambda: seed_state(suspended_tree).state is SeedState.COMPLETED, 90, "the resumed job to complete")
    assert project.calls().count(str(suspended_tree.seed_dir)) == 1


def test_a_claim_of_an_earlier_incarnation_of_a_requeued_job_is_not_taken_for_live(project, slurm_jobs):
    """A job keeps its id when it is requeued. Its worker is killed (as the out-of-memory killer
    would), then the job is requeued: SLURM lists the id as waiting, then running again, but the
    claim belongs to the run that died; two heartbeats later the seed is interrupted, and the
    requeued job runs it once the cleaner reset it."""
    schedule = project.write_schedule("grid_schedule_rq.py", grid_schedule({"lr": [0.1], "sleep_s": [60.0]},
                                                                          seeds=[1]))
    assert project.prepare(schedule) == 0
    list_file = "schedules/list_searches_rq.txt"
    array_id, _ = launch_slurm(project, list_file, 1, slurm_jobs, "--heartbeat_s", "0.5", "--stale_after_s", "600")
    (tree,) = trees(project)
    info = wait_for(lambda: (c := claim_file(tree)) and read_flag_info(c).get("slurm_job_start_time")
                    and read_flag_info(c), 60, "the job's claim, with its start time")
    os.kill(info["pid"], signal.SIGKILL)
    job = info["slurm_job_id"]
    wait_for(lambda: subprocess.run(["scontrol", "requeue", job], capture_output=True).returncode == 0, 60,
             "the job to be requeued")
    status = wait_for(lambda: (s := seed_state(tree)).state is SeedState.INTERRUPTED and s, 30,
                      "the earlier incarnation's claim to count as ended")
    assert status.reason.startswith(f"SLURM job {job}") and status.info["token"] == info["token"], status
    clean = project.run_module("alfred.clean_interrupted", "--from_file", list_file, "--yes")
    assert "reset 1 seed(s)" in clean.stdout, clean.stdout + clean.stderr
