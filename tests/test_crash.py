"""Kill anything at any moment: the search resumes, live runs are never wiped."""
from __future__ import annotations

import collections
import json
import os
import signal
import time
from pathlib import Path

import pytest
from conftest import attempt_run, grid_schedule, seed_trees, wait_for

from alfred.protocol.seed_state import SeedState, crashed_run, read_flag_info, seed_state
from alfred.utils.directory_tree import DirectoryTree


def states(project) -> collections.Counter:
    return collections.Counter(seed_state(t).state for d in project.storage_dirs()
                               for t in seed_trees(d))


def opened_files(project) -> list[Path]:
    return [p for d in project.storage_dirs() for p in d.glob("experiment*/seed*/OPENED*")]


@pytest.mark.slow
def test_a_node_loss_then_clean_and_relaunch_completes_everything(project):
    """SIGKILL of the launcher and its workers at once (a node that dies): nobody is left to
    record anything, the running seeds stay claimed by dead pids; clean resets exactly those,
    and a relaunch completes the search without touching what was done."""
    schedule = project.write_schedule("grid_schedule_kill.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "sleep_s": [0.4]},
                                                    seeds=[1, 2, 3]))
    assert project.prepare(schedule) == 0
    launcher = project.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_kill.txt",
                                    "--n_processes", "3", "--heartbeat_s", "0.2", start_new_session=True)

    def running_with_some_done():
        opened = opened_files(project)
        return len(opened) >= 2 and states(project)[SeedState.COMPLETED] >= 2 and opened

    wait_for(running_with_some_done, what="runs in flight after some completed")
    os.killpg(launcher.pid, signal.SIGKILL)  # the whole launch at once
    launcher.wait(timeout=30)
    time.sleep(0.3)
    before = states(project)
    assert before[SeedState.INTERRUPTED] >= 1
    assert before[SeedState.RUNNING] == 0
    interrupted = [t for d in project.storage_dirs() for t in seed_trees(d)
                   if seed_state(t).state is SeedState.INTERRUPTED]
    completed_before = {t.seed_dir for d in project.storage_dirs() for t in seed_trees(d)
                        if seed_state(t).state is SeedState.COMPLETED}
    completed_mtimes = {p: (p / "COMPLETED").stat().st_mtime_ns for p in completed_before}

    clean = project.run_module("alfred.clean_interrupted", "--from_file", "schedules/list_searches_kill.txt", "--yes")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"reset {len(interrupted)} seed(s)" in clean.stdout
    for tree in interrupted:
        assert seed_state(tree).state is SeedState.UNHATCHED
        assert (tree.attempts_dir / "1" / "OPENED").exists()  # the killed attempt is kept
        assert tree.config_path.exists() and tree.config_unique_path.exists()

    relaunch = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_kill.txt",
                                  "--n_processes", "3")
    assert relaunch.returncode == 0, relaunch.stdout + relaunch.stderr
    assert states(project) == {SeedState.COMPLETED: 18}
    # Completed results were not touched, and only the killed seeds ran a second time.
    assert all((p / "COMPLETED").stat().st_mtime_ns == m for p, m in completed_mtimes.items())
    counts = collections.Counter(project.calls())
    assert {s for s, n in counts.items() if n > 1} <= {str(t.seed_dir) for t in interrupted}
    assert all(n <= 2 for n in counts.values())


@pytest.mark.slow
def test_clean_beside_a_live_launch_leaves_the_live_run_alone(project):
    schedule = project.write_schedule("grid_schedule_live.py",
                                      grid_schedule({"lr": [0.1], "sleep_s": [3.0]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    launcher = project.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_live.txt",
                                    "--heartbeat_s", "0.2")
    seed = wait_for(lambda: opened_files(project), what="the run to start")[0].parent
    wait_for(lambda: project.calls(), what="main to be called")
    snapshot = sorted(p.name for p in seed.iterdir())

    clean = project.run_module("alfred.clean_interrupted", "--from_file", "schedules/list_searches_live.txt",
                               "--yes", "--clean_crashes", "--stale_after_s", "10")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 running" in clean.stdout
    assert sorted(p.name for p in seed.iterdir()) == snapshot
    assert not (seed / "attempts").exists()

    out = launcher.communicate(timeout=60)[0]
    assert launcher.returncode == 0, out
    assert seed_state(DirectoryTree(seed)).state is SeedState.COMPLETED
    assert project.calls() == [str(seed)]


def test_heartbeat_decides_for_runs_on_other_hosts(project):
    schedule = project.write_schedule("grid_schedule_hosts.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    fresh, stale = list(seed_trees(project.storage_dirs()[0]))
    for tree in (fresh, stale):
        os.rename(tree.flag_path("UNHATCHED"), tree.flag_path("OPENED"))
        tree.flag_path("OPENED").write_text(json.dumps({"host": "another-node", "pid": 1, "heartbeat_s": 30}))
    old = time.time() - 600
    os.utime(stale.flag_path("OPENED"), (old, old))

    from alfred.clean_interrupted import main

    # Default threshold: 5 heartbeats of 30 s (150 s): 600 s old is stale, just-touched is not.
    assert main(["--storage_name", stale.storage_name, "--yes"]) == 0
    assert seed_state(stale).state is SeedState.UNHATCHED
    assert seed_state(fresh).state is SeedState.RUNNING
    assert fresh.flag_path("OPENED").exists()


def test_a_killed_worker_is_recorded_as_a_crash_and_replaced(project):
    """SIGKILL of a worker (as the out-of-memory killer does): the launcher records its seed as
    CRASH with the signal, starts a new worker, finishes the other seeds and exits 1."""
    schedule = project.write_schedule("grid_schedule_died.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3, 0.4], "sleep_s": [1.0]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    launcher = project.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_died.txt",
                                    "--n_processes", "2")
    path = wait_for(lambda: [p for p in opened_files(project) if p.exists() and p.read_text()],
                    what="a running worker")[0]
    os.kill(read_flag_info(path)["pid"], signal.SIGKILL)
    out = launcher.communicate(timeout=60)[0]
    assert launcher.returncode == 1, out
    assert states(project) == {SeedState.COMPLETED: 3, SeedState.CRASHED: 1}, out
    crash = path.parent / "CRASH.txt"
    assert crash.read_text().startswith("exception: the worker process running this seed died: killed by SIGKILL")
    assert "1 crashed" in out and "killed by SIGKILL" in out


def test_a_worker_killed_between_its_claims_rename_and_its_facts_is_recorded_as_a_crash(project, tmp_path,
                                                                                       monkeypatch):
    """The launcher learns a claim's token before its rename: a worker killed right after the rename
    (no facts written, nothing told to the launcher yet) still has its seed recorded as CRASH."""
    schedule = project.write_schedule("grid_schedule_early.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    stalled = tmp_path / "stalled"
    monkeypatch.setenv("ALFRED_STALL_AT", f"after_claim_rename:{stalled}")
    launcher = project.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_early.txt",
                                    "--n_processes", "1")
    pid = int(wait_for(lambda: stalled.exists() and stalled.read_text(), what="a worker stopped after its rename"))
    (flag,) = opened_files(project)
    assert flag.read_text() == ""  # renamed, its facts not written yet
    os.kill(pid, signal.SIGKILL)
    out = launcher.communicate(timeout=60)[0]
    assert launcher.returncode == 1, out
    assert states(project) == {SeedState.COMPLETED: 1, SeedState.CRASHED: 1}, out
    assert (flag.parent / "CRASH.txt").read_text().startswith(
        "exception: the worker process running this seed died: killed by SIGKILL"), out


def test_crashed_seed_sets_exit_code_and_clean_crashes_keeps_the_trace(project):
    schedule = project.write_schedule("grid_schedule_crash.py", grid_schedule({"crash": [0, 1]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    result = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_crash.txt")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 run(s) completed, 1 crashed" in result.stdout
    crash_file = next(project.storage_dirs()[0].glob("experiment*/seed1/CRASH.txt"))
    text = crash_file.read_text()
    assert text.startswith("exception: RuntimeError: boom lr=0.1")
    assert "Traceback (most recent call last)" in text and "host: " in text and "time: " in text
    assert "boom lr=0.1" in crashed_run(crash_file.parent).log_path.read_text()

    from alfred.clean_interrupted import main

    assert main(["--from_file", "schedules/list_searches_crash.txt", "--yes"]) == 0
    assert crash_file.exists()  # crashes are kept unless asked
    assert main(["--from_file", "schedules/list_searches_crash.txt", "--yes", "--clean_crashes"]) == 0
    seed = crash_file.parent
    assert (seed / "UNHATCHED").exists() and not crash_file.exists()
    assert "boom" in (seed / "attempts" / "1" / "CRASH.txt").read_text()
    assert attempt_run(seed).log_path.exists()


def test_sigint_sends_the_running_seed_back_with_its_files(project):
    schedule = project.write_schedule("grid_schedule_int.py",
                                      grid_schedule({"lr": [0.1], "sleep_s": [5.0]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    launcher = project.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_int.txt")
    seed = wait_for(lambda: opened_files(project), what="the run to start")[0].parent
    wait_for(lambda: project.calls(), what="main to be called")
    launcher.send_signal(signal.SIGINT)
    out = launcher.communicate(timeout=30)[0]
    assert launcher.returncode == 130, out
    assert seed_state(DirectoryTree(seed)).state is SeedState.UNHATCHED
    assert attempt_run(seed).log_path.exists()  # files kept for a resume
    assert json.loads((seed / "attempts" / "1" / "RELEASED").read_text())["released"] == "KeyboardInterrupt"


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:  # a zombie (exited, not yet reaped) is gone too
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.parametrize("n_processes, sig", [(1, signal.SIGTERM), (3, signal.SIGTERM), (3, signal.SIGHUP)])
def test_kill_of_a_local_launch_stops_its_workers_and_releases_their_seeds(project, n_processes, sig):
    """`kill <launcher>` (or a closed terminal) stops the whole launch: no worker goes on
    claiming seeds behind the user's back, running seeds go back to UNHATCHED with their
    files, finished ones stay, and a relaunch completes the search."""
    schedule = project.write_schedule("grid_schedule_term.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "sleep_s": [3.0]},
                                                    seeds=[1, 2]))
    assert project.prepare(schedule) == 0
    # The default disposition of SIGHUP, as in a terminal, even if this test runs under nohup.
    launcher = project.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_term.txt",
                                    "--n_processes", str(n_processes),
                                    preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    opened = wait_for(lambda: len(opened_files(project)) == n_processes and opened_files(project),
                      what="every worker to run a seed")
    wait_for(lambda: len(project.calls()) >= n_processes, what="main to be called in every worker")
    workers = {read_flag_info(p)["pid"] for p in opened}
    launcher.send_signal(sig)
    out = launcher.communicate(timeout=60)[0]
    assert launcher.returncode == 128 + sig, out
    assert f"stopped by {sig.name}" in out
    assert all(_pid_gone(pid) for pid in workers)  # no orphan left running seeds
    counts = states(project)
    assert counts[SeedState.UNHATCHED] == 12 and not opened_files(project), counts
    for path in opened:
        seed = path.parent
        assert attempt_run(seed).log_path.exists()  # the attempt's files stay for a resume
        released = json.loads((seed / "attempts" / "1" / "RELEASED").read_text())["released"]
        assert released == "preempted (SIGTERM)"  # the launcher forwards SIGTERM to its workers
    time.sleep(1.0)
    assert len(project.calls()) == n_processes  # nothing was started after the signal


def test_a_launch_under_nohup_goes_on_after_sighup(project):
    """Under nohup SIGHUP is ignored, and stays so in the launcher and its workers."""
    schedule = project.write_schedule("grid_schedule_hup.py",
                                      grid_schedule({"lr": [0.1, 0.2], "sleep_s": [1.5]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    launcher = project.popen_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_hup.txt",
                                    "--n_processes", "2", "--no_summary",
                                    preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    wait_for(lambda: len(project.calls()) == 2, what="both workers to run a seed")
    launcher.send_signal(signal.SIGHUP)
    for path in opened_files(project):
        os.kill(read_flag_info(path)["pid"], signal.SIGHUP)
    out = launcher.communicate(timeout=60)[0]
    assert launcher.returncode == 0, out
    assert states(project)[SeedState.COMPLETED] == 2


@pytest.mark.parametrize("corrupt", ["{not json", ""])
def test_half_written_config_crashes_only_its_seed(project, corrupt):
    schedule = project.write_schedule("grid_schedule_cfg.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    bad, good = list(seed_trees(project.storage_dirs()[0]))
    bad.config_path.write_text(corrupt)
    from alfred.launch_schedule import main

    assert main(["--from_file", "schedules/list_searches_cfg.txt"]) == 1
    assert "corrupted JSON" in bad.flag_path("CRASH.txt").read_text()
    assert seed_state(good).state is SeedState.COMPLETED
