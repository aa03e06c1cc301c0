"""State that tells the truth, and results that never run code: a finished search's elapsed time
stops, a successful summary replaces a recorded failure, and a planted pickle is refused -- by
real processes on real files."""
from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import TEST_MAIN, grid_schedule, seed_trees
from test_results import curve, make_search, run_module

from alfred.launch_schedule import main as launch_main
from alfred.protocol.layout import SUMMARY_COMPLETED, SUMMARY_DIR, SUMMARY_FAILED
from alfred.search.status import storage_status
from alfred.utils.recorder import Recorder, UnsafePickleError, load_tape_pickle


# ----------------------------------------------------------------------------- status elapsed
def test_elapsed_of_a_finished_search_ends_with_its_last_run(project):
    schedule = project.write_schedule("grid_schedule_el.py", grid_schedule(
        {"lr": [0.1, 0.2], "sleep_s": [0.3]}, seeds=[1, 2]))
    assert project.prepare(schedule) == 0
    (storage,) = project.storage_dirs()
    assert launch_main(["--storage_name", storage.name, "--no_summary"]) == 0
    starts, ends = [], []
    for tree in seed_trees(storage):
        info = json.loads((tree.seed_dir / "COMPLETED").read_text().splitlines()[0])
        starts.append(info["start_epoch"])
        ends.append((tree.seed_dir / "COMPLETED").stat().st_mtime)
    expected = max(ends) - min(starts)
    assert expected >= 4 * 0.3  # one worker, four runs of 0.3 s
    for later in (0.0, 600.0, 86400.0):  # an hour, a day after: the clock stopped with the last run
        st = storage_status(storage, now=time.time() + later)
        assert st.elapsed_s == pytest.approx(expected, abs=1e-6) and st.last_end_epoch == pytest.approx(max(ends))
    out = project.run_module("alfred.status", "--storage_name", storage.name, "--json")
    assert json.loads(out.stdout)["storage_dirs"][0]["elapsed_s"] == pytest.approx(expected, abs=1e-6)
    # a seed waiting again (more seeds added): the search is running, its clock runs on
    more = project.write_schedule("grid_schedule_el.py", grid_schedule(
        {"lr": [0.1, 0.2], "sleep_s": [0.3]}, seeds=[1, 2, 3]))
    assert project.prepare(more, "--add_to_folder", storage.name) == 0
    now = time.time() + 600
    st = storage_status(storage, now=now)
    assert st.last_end_epoch is None and st.elapsed_s == pytest.approx(now - min(starts), abs=1e-6)


# ----------------------------------------------------------------------------- SUMMARY_FAILED
def test_a_successful_summary_removes_summary_failed(tmp_path):
    from alfred.results.auto_summary import summarize_finished

    two_metrics = {e: {s: {"step": [0, 1], "score": [0.0, e + 0.1 * s], "loss": [1.0, 1 / e]} for s in (1, 2)}
                   for e in (1, 2, 3)}
    storage = make_search(tmp_path, two_metrics)
    result = summarize_finished([storage], log=lambda line: None)  # which of score and loss? it cannot tell
    assert result[0].action == "failed" and "no y_metric" in json.loads((storage / SUMMARY_FAILED).read_text())["error"]
    # summarised by hand, as SUMMARY_FAILED's message says: the failure is gone, the success recorded
    r = run_module("alfred.benchmark", "--storage_names", storage.name, "--root_dir", str(tmp_path),
                   "--y_metric", "score", "--n_resamples", "200", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (storage / SUMMARY_FAILED).exists()
    done = json.loads((storage / SUMMARY_COMPLETED).read_text())
    assert done["n_completed"] == 6 and done["best_experiment"] == 3
    # the next automatic summary finds it up to date: it neither redoes it nor fails again over it
    assert summarize_finished([storage], log=lambda line: None)[0].action == "up to date"
    assert (storage / SUMMARY_DIR / "summary.json").exists() and not (storage / SUMMARY_FAILED).exists()


def test_an_automatic_summary_that_succeeds_after_a_failure_removes_it(tmp_path):
    from alfred.protocol.layout import COMPLETED
    from alfred.results.auto_summary import summarize_finished
    from alfred.utils.directory_tree import DirectoryTree

    storage = make_search(tmp_path, {1: {1: curve([0, 1])}, 2: {1: curve([0, 2])}})
    info = json.loads((storage / "prepare_info.json").read_text())
    info["results"] = {"y_metric": "reward"}  # a metric nobody records
    (storage / "prepare_info.json").write_text(json.dumps(info))
    assert summarize_finished([storage], log=lambda line: None)[0].action == "failed"
    info["results"] = {"y_metric": "score"}
    (storage / "prepare_info.json").write_text(json.dumps(info))
    again = summarize_finished([storage], log=lambda line: None)[0]  # same seeds: not redone, still reported
    assert again.action == "failed" and again.message.startswith("failed earlier")
    tree = DirectoryTree.from_parts(tmp_path, storage.name, 2, 2)  # one more seed completes: it is tried again
    tree.seed_dir.mkdir()
    tree.create_directories()
    recorder = Recorder(["step", "score"])
    recorder.write_to_tape({"step": 0, "score": 3.0})
    recorder.save(tree.recorders_dir / "train_recorder.pkl")
    (tree.seed_dir / COMPLETED).touch()
    assert summarize_finished([storage], log=lambda line: None)[0].action == "summarized"
    assert not (storage / SUMMARY_FAILED).exists()
    assert json.loads((storage / SUMMARY_COMPLETED).read_text())["n_completed"] == 3


# ----------------------------------------------------------------------------- results never run code
class _Planted:
    """What a planted recorder holds: unpickling it creates ``path`` (no shell involved)."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        import pathlib

        return pathlib.Path.touch, (pathlib.Path(self.path),)


def _planted_pickle(marker) -> bytes:
    return pickle.dumps({"step": [0, 1], "score": [0.0, 5.0], "x": _Planted(str(marker))})


def _unpickles_and_runs(data: bytes, marker, env) -> bool:
    """Whether a plain ``pickle.loads`` of ``data`` creates ``marker`` (in another process)."""
    code = "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"
    subprocess.run([sys.executable, "-c", code], input=data, env=env, check=True)
    created = marker.exists()
    if created:
        marker.unlink()
    return created


# A main.py that leaves a recorder already in place (the planted one) as it is.
RECORDING = '''    r = Recorder(["step", "score"])'''
KEEPING_MAIN = TEST_MAIN.replace(RECORDING, '''    if (dir_tree.seed_dir / "recorders" / "train_recorder.pkl").exists():
        return
''' + RECORDING)


def test_a_planted_pickle_is_refused_by_the_automatic_summary_and_by_benchmark(project, tmp_path):
    marker = tmp_path / "created_by_the_pickle"
    data = _planted_pickle(marker)
    assert _unpickles_and_runs(data, marker, project.env())  # the plant works: pickle.load would run it
    (project.path / "main.py").write_text(KEEPING_MAIN)
    schedule = project.write_schedule("grid_schedule_pl.py", grid_schedule({"lr": [0.1, 0.2, 0.3]}, seeds=[1, 2]))
    assert project.prepare(schedule) == 0
    (storage,) = project.storage_dirs()
    planted = next(t for t in seed_trees(storage) if t.seed_dir.parent.name == "experiment2" and t.seed == 1)
    planted.recorders_dir.mkdir()
    (planted.recorders_dir / "train_recorder.pkl").write_bytes(data)
    r = project.run_module("alfred.launch_schedule", "--storage_name", storage.name)  # summarised at its end
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 seed(s) unreadable, left out: experiment2/seed1: the pickle asks for pathlib.Path.touch" in r.stdout
    summary = json.loads((storage / SUMMARY_DIR / "summary.json").read_text())
    (reason,) = summary["load_report"]["unreadable"]
    assert reason.startswith("experiment2/seed1: the pickle asks for pathlib.Path.touch")
    assert "nothing was run" in reason and "export ALFRED_TRUSTED_PICKLE_DIRS=" in reason
    assert summary["load_report"]["loaded"] == 5 and summary["best_experiment"] == 3
    assert not marker.exists()
    r = project.run_module("alfred.benchmark", "--storage_names", storage.name, "--re_run_if_exists")
    assert r.returncode == 0 and "unreadable, left out: experiment2/seed1: the pickle asks for pathlib.Path.touch" \
        in r.stdout, r.stdout + r.stderr
    text = (storage / SUMMARY_DIR / "summary.txt").read_text()
    assert "1 unreadable: experiment2/seed1: the pickle asks for pathlib.Path.touch" in text
    assert not marker.exists()
    # a .jsonl beside the planted .pkl is read instead, and the .pkl is not opened
    rec = Recorder(["step", "score"])
    rec.write_to_tape({"step": 0, "score": 0.0})
    rec.write_to_tape({"step": 1, "score": 7.0})
    rec.save(planted.recorders_dir / "train_recorder.jsonl")
    r = project.run_module("alfred.benchmark", "--storage_names", storage.name, "--re_run_if_exists")
    summary = json.loads((storage / SUMMARY_DIR / "summary.json").read_text())
    assert r.returncode == 0 and summary["load_report"]["unreadable"] == [] and summary["load_report"]["loaded"] == 6
    assert summary["best_experiment"] == 2 and not marker.exists()  # 7.0 from the .jsonl


def test_recorder_pickles_refuse_code_and_keep_numpy_values(tmp_path):
    marker = tmp_path / "created"
    path = tmp_path / "train_recorder.pkl"
    path.write_bytes(_planted_pickle(marker))
    for read in (Recorder.init_from_pickle_file, Recorder.load):
        with pytest.raises(UnsafePickleError, match=r"asks for pathlib\.Path\.touch"):
            read(path)
    with pytest.raises(UnsafePickleError, match=r"asks for posix\.system"):
        load_tape_pickle(io.BytesIO(b"cposix\nsystem\n(S'touch x'\ntR."))  # protocol 0, hand-written
    assert not marker.exists() and not (tmp_path / "x").exists()
    tape = {"step": [np.int64(1), 2], "score": [np.float64(0.5), np.float32(1.5), None, float("nan")],
            "array": [np.arange(3.0), np.zeros((2, 2), dtype=np.float32)[:, ::2], np.array([1, "a"], dtype=object)],
            "other": [1 + 2j, b"bytes", bytearray(b"ba"), {1, 2}, frozenset({3}), ("t",), True]}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        loaded = load_tape_pickle(io.BytesIO(pickle.dumps(tape, protocol=protocol)))
        assert loaded["step"] == [1, 2] and loaded["score"][:2] == [0.5, 1.5] and loaded["other"] == tape["other"]
        for got, want in zip(loaded["array"], tape["array"]):
            np.testing.assert_array_equal(got, want)
    recorder = Recorder(["step", "score"])
    recorder.write_to_tape({"step": np.int32(0), "score": np.float32(0.25)})
    recorder.save(path)
    assert Recorder.init_from_pickle_file(path).tape == {"step": [0], "score": [0.25]}


def test_a_refused_pickle_never_reaches_the_shell(tmp_path):
    """The same plant through os.system in a separate interpreter: the summary of a search
    holding it completes, and the command it carries never runs."""
    marker = tmp_path / "shell_ran"
    storage = make_search(tmp_path / "root", {1: {1: curve([0, 1]), 2: curve([0, 2])}, 2: {1: curve([0, 3])}})
    evil = textwrap.dedent(f"""
        import os, pickle, sys
        class Plant:
            def __reduce__(self):
                return os.system, ("touch {marker}",)
        sys.stdout.buffer.write(pickle.dumps({{"step": [0], "score": [1.0], "p": Plant()}}))
    """)
    data = subprocess.run([sys.executable, "-c", evil], capture_output=True, check=True).stdout
    seed = storage / "experiment2" / "seed1" / "recorders" / "train_recorder.pkl"
    seed.write_bytes(data)
    r = run_module("alfred.benchmark", "--storage_names", storage.name, "--root_dir", str(tmp_path / "root"),
                   "--y_metric", "score", "--n_resamples", "100", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "experiment2/seed1: the pickle asks for posix.system" in r.stdout and not marker.exists()
