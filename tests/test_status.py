"""alfred.status: counts per state, crashes, ETA, --watch, --json, and how few files it opens."""
from __future__ import annotations

import builtins
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, grid_schedule, seed_trees

from alfred.launch_schedule import main as launch_main
from alfred.protocol import flags
from alfred.protocol.seed_state import SeedState, read_flag_info, seed_state
from alfred.search import status as status_mod


@pytest.fixture
def mixed(project):
    """One storage dir: 6 COMPLETED, 6 CRASH, 4 UNHATCHED, 1 running (claimed by this live
    process), 1 interrupted (claimed by a process that exited)."""
    schedule = project.write_schedule("grid_schedule_st.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3], "crash": [0, 1]}, seeds=[1, 2]))
    assert project.prepare(schedule) == 0
    (storage,) = project.storage_dirs()
    assert launch_main(["--storage_name", storage.name]) == 1  # the crash=1 experiments crash
    more = project.write_schedule("grid_schedule_st.py",
                                  grid_schedule({"lr": [0.1, 0.2, 0.3], "crash": [0, 1]}, seeds=[1, 2, 3]))
    assert project.prepare(more, "--add_to_folder", storage.name) == 0
    unhatched = [t for t in seed_trees(storage) if seed_state(t).state is SeedState.UNHATCHED]
    assert len(unhatched) == 6
    running = flags.claim(unhatched[0], worker_id="test-live", heartbeat_s=30)
    assert running is not None
    code = ("import sys; from alfred.protocol import flags; from alfred.utils.directory_tree import DirectoryTree; "
            "sys.exit(0 if flags.claim(DirectoryTree(sys.argv[1]), worker_id='gone', heartbeat_s=30) else 3)")
    subprocess.run([sys.executable, "-c", code, str(unhatched[1].seed_dir)], check=True, env=project.env())
    return storage, unhatched[0], unhatched[1]


def test_counts_of_every_state(mixed):
    storage, _, _ = mixed
    st = status_mod.storage_status(storage)
    assert (st.total, st.unhatched, st.running, st.interrupted, st.crashed, st.completed) == (18, 4, 1, 1, 6, 6)
    assert st.active and st.workers_running == 1
    assert st.fraction_done == pytest.approx(12 / 18)
    assert st.crashes is None  # CRASH.txt files are read only when asked
    assert st.elapsed_s is not None and 0 <= st.elapsed_s < 600
    assert st.mean_duration_s is not None and st.n_durations_sampled == 6
    assert st.eta_s is not None and st.eta_s >= 0


def test_seed_without_flag_is_interrupted_and_flags_are_found_by_name(mixed):
    """A reset killed between moving the flag away and creating UNHATCHED leaves no flag:
    status lists that folder and calls it interrupted; the other states come from lookups."""
    storage, running, _ = mixed
    waiting = [t for t in seed_trees(storage) if t.flag_path("UNHATCHED").exists()]
    waiting[0].flag_path("UNHATCHED").unlink()
    st = status_mod.storage_status(storage)
    assert (st.total, st.unhatched, st.running, st.interrupted, st.crashed, st.completed) == (18, 3, 1, 2, 6, 6)


def test_crashes_give_exception_line_and_trace_path(mixed):
    storage, _, _ = mixed
    st = status_mod.storage_status(storage, with_crashes=True)
    assert len(st.crashes) == 6
    for c in st.crashes:
        assert c.exception.startswith("RuntimeError: boom lr=0.")
        assert Path(c.crash_file).name == "CRASH.txt" and Path(c.crash_file).is_file()
        assert "Traceback" in Path(c.crash_file).read_text()
        assert c.run_name.startswith(storage.name + "_experiment")


def test_cli_table_crashes_and_json(mixed, project):
    storage, _, _ = mixed
    out = project.run_module("alfred.status", "--storage_name", storage.name, "--crashes")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "UNHATCHED" in line)
    assert lines[header].split() == ["total", "UNHATCHED", "running", "interrupted", "CRASH", "COMPLETED"]
    assert lines[header + 1].split() == ["18", "4", "1", "1", "6", "6"]
    assert "66%]" in out.stdout or " 66%" in out.stdout
    assert out.stdout.count("CRASH " + storage.name) == 6
    assert out.stdout.count("RuntimeError: boom lr=") == 6
    traces = [line.split("trace:", 1)[1].strip() for line in lines if "trace:" in line]
    assert len(traces) == 6 and all(Path(p).is_file() for p in traces)
    assert "clean_interrupted" in out.stdout  # says how to deal with the interrupted seed

    out = project.run_module("alfred.status", "--storage_name", storage.name, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    (d,) = data["storage_dirs"]
    assert d["name"] == storage.name
    assert {k: d[k] for k in ("total", "unhatched", "running", "interrupted", "crashed", "completed")} == \
        {"total": 18, "unhatched": 4, "running": 1, "interrupted": 1, "crashed": 6, "completed": 6}
    assert "crashes" not in d
    out = project.run_module("alfred.status", "--storage_name", storage.name, "--json", "--crashes")
    assert len(json.loads(out.stdout)["storage_dirs"][0]["crashes"]) == 6


def test_eta_and_elapsed_from_completed_files(mixed):
    """ETA = (UNHATCHED x mean duration + what is left of the running seeds) / running seeds."""
    storage, running, _ = mixed
    now = time.time()
    for path in storage.glob("experiment*/seed*/COMPLETED"):
        info = read_flag_info(path)
        info.update(duration_s=100.0, start_epoch=now - 1000)
        path.write_text(json.dumps(info))
    opened = read_flag_info(running.flag_path("OPENED"))
    opened["start_epoch"] = now - 40
    running.flag_path("OPENED").write_text(json.dumps(opened))
    st = status_mod.storage_status(storage, now=now)
    assert st.mean_duration_s == pytest.approx(100.0)
    assert st.elapsed_s == pytest.approx(1000.0)
    assert st.eta_s == pytest.approx(4 * 100 + (100 - 40))
    assert "1 running" in st.eta_note


def test_eta_unknown_without_completed_run_or_worker(project):
    schedule = project.write_schedule("grid_schedule_e.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    (storage,) = project.storage_dirs()
    st = status_mod.storage_status(storage)
    assert (st.total, st.unhatched, st.eta_s, st.elapsed_s) == (2, 2, None, None)
    assert "no completed run" in st.eta_note
    first = seed_trees(storage)[0]
    assert flags.complete(flags.claim(first, worker_id="t", heartbeat_s=30))
    st = status_mod.storage_status(storage)
    assert (st.completed, st.unhatched, st.eta_s) == (1, 1, None)
    assert st.mean_duration_s is not None and "no worker running" in st.eta_note


def test_stale_after_s_decides_remote_runs(project):
    schedule = project.write_schedule("grid_schedule_s.py", grid_schedule({"lr": [0.1]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    (storage,) = project.storage_dirs()
    (tree,) = seed_trees(storage)
    os.rename(tree.flag_path("UNHATCHED"), tree.flag_path("OPENED"))
    tree.flag_path("OPENED").write_text(json.dumps({"host": "another-node", "pid": 12, "heartbeat_s": 30,
                                                   "start_epoch": time.time() - 1000}))
    old = time.time() - 1000
    os.utime(tree.flag_path("OPENED"), (old, old))
    assert status_mod.storage_status(storage).interrupted == 1
    assert status_mod.storage_status(storage, stale_after_s=5000).running == 1
    out = project.run_module("alfred.status", "--storage_name", storage.name, "--json", "--stale_after_s", "5000")
    assert json.loads(out.stdout)["storage_dirs"][0]["running"] == 1
    out = project.run_module("alfred.status", "--storage_name", storage.name, "--stale_after_s", "-3")
    assert out.returncode == 2 and "--stale_after_s" in out.stderr


def test_heartbeats_from_the_future_are_flagged_not_trusted_blindly(project):
    """A host whose clock runs 10 minutes ahead: its run shows as running (ages are judged on the
    storage's own clock), and status says the clocks disagree."""
    schedule = project.write_schedule("grid_schedule_sk.py", grid_schedule({"lr": [0.1]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    (storage,) = project.storage_dirs()
    (tree,) = seed_trees(storage)
    claim = tree.seed_dir / "OPENED.0123456789abcdef"
    os.rename(tree.flag_path("UNHATCHED"), claim)
    claim.write_text(json.dumps({"host": "fast-clock-node", "pid": 12, "heartbeat_s": 30, "token": "0123456789abcdef",
                                 "start_epoch": time.time() + 600}))
    ahead = time.time() + 600
    os.utime(claim, (ahead, ahead))
    st = status_mod.storage_status(storage)
    assert st.running == 1 and st.clock_skew_s is not None and 590 < st.clock_skew_s < 700
    out = project.run_module("alfred.status", "--storage_name", storage.name)
    assert "in the future" in out.stdout and "NTP" in out.stdout, out.stdout


def test_every_storage_dir_of_the_root_by_default(project):
    schedule = project.write_schedule("grid_schedule_r.py",
                                      grid_schedule({"lr": [0.1]}, algs=("algA", "algB"), seeds=[1, 2]))
    assert project.prepare(schedule) == 0
    dirs = project.storage_dirs()
    assert len(dirs) == 2
    out = project.run_module("alfred.status", "--json")
    assert out.returncode == 0, out.stderr
    names = [d["name"] for d in json.loads(out.stdout)["storage_dirs"]]
    assert names == [d.name for d in dirs]
    out = project.run_module("alfred.status", "--from_file", "schedules/list_searches_r.txt")
    assert out.returncode == 0 and all(d.name in out.stdout for d in dirs)
    out = project.run_module("alfred.status", "--root_dir", "nowhere")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "nowhere" in out.stderr


def test_watch_refreshes_until_nothing_is_left(project):
    schedule = project.write_schedule("grid_schedule_w.py", grid_schedule({"lr": [0.1]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    (storage,) = project.storage_dirs()
    (tree,) = seed_trees(storage)
    watcher = project.popen_module("alfred.status", "--storage_name", storage.name, "--watch", "0.2")
    lines = []
    try:
        while sum("UNHATCHED" in line for line in lines) < 2:  # refreshed at least once
            line = watcher.stdout.readline()
            assert line, "status --watch exited while a seed was UNHATCHED"
            lines.append(line)
        claim = flags.claim(tree, worker_id="t", heartbeat_s=30)
        assert flags.complete(claim)
        rest, _ = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0
    tables = (''.join(lines) + rest).split("storage dir(s)")
    assert "100%" in tables[-1] and "nothing left to run" in tables[-1]


def test_opens_few_files_on_a_large_storage_dir(tmp_path, monkeypatch):
    """State from the listing alone: files opened are the OPENED ones and <= 200 COMPLETED."""
    spec = importlib.util.spec_from_file_location("bench_status", REPO / "benchmarks" / "bench_status.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.build_storage_dir(str(tmp_path), "Bx1_nogit_alg_task_grid_b", 1500)
    storage = tmp_path / "Bx1_nogit_alg_task_grid_b"
    opened = []
    real_open, real_os_open = builtins.open, os.open

    def counting(real):
        def counting_open(file, *args, **kwargs):
            opened.append(os.fspath(file) if not isinstance(file, int) else file)
            return real(file, *args, **kwargs)
        return counting_open

    monkeypatch.setattr(builtins, "open", counting(real_open))
    monkeypatch.setattr(os, "open", counting(real_os_open))  # flags are read by os.open (no link, no FIFO)
    st = status_mod.storage_status(storage)
    monkeypatch.setattr(builtins, "open", real_open)
    monkeypatch.setattr(os, "open", real_os_open)
    assert (st.total, st.completed, st.unhatched, st.crashed, st.running, st.interrupted) == \
        (1500, 1050, 300, 120, 15, 15)
    in_storage = [p for p in opened if isinstance(p, str) and p.startswith(str(storage))]
    probes = [p for p in in_storage if p.endswith(".alfred_clock")]  # the storage's clock, read once
    assert len(probes) <= 2
    in_storage = [p for p in in_storage if p not in probes]
    assert sum(p.endswith("COMPLETED") for p in in_storage) == status_mod.MAX_DURATION_SAMPLES
    assert sum(p.endswith("OPENED") for p in in_storage) == 30
    assert len(in_storage) == status_mod.MAX_DURATION_SAMPLES + 30
    assert st.eta_s is not None and st.mean_duration_s == pytest.approx(63, abs=3)


def test_progress_bar_and_durations():
    st = status_mod.StorageStatus("x/Ab1_nogit_a_t_grid_d", total=10, completed=5, crashed=1, running=2, unhatched=2)
    assert status_mod.progress_text(st, width=10) == "[#####x>>..]  60%"
    assert status_mod.format_duration(42) == "42s"
    assert status_mod.format_duration(425) == "7m05s"
    assert status_mod.format_duration(3 * 3600 + 120) == "3h02m"
    assert status_mod.format_duration(None) == "-"
