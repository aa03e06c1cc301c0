"""Unit tests of alfred.utils: config, misc, directory_tree, recorder, flags.

Real files in tmp_path and real processes; nothing is mocked.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import experiment_paths, seed_paths, seed_trees

from alfred.protocol import flags
from alfred.protocol.layout import COMPLETED, CRASH, OPENED, UNHATCHED, is_claim_flag
from alfred.protocol.listing import list_storage_dirs
from alfred.protocol.seed_state import (
    HOSTNAME,
    MIN_STALE_S,
    SeedState,
    SeedStatus,
    pid_start_time,
    read_flag_info,
    seed_state,
)
from alfred.protocol.storage_names import StorageName, allocate_storage_dir, check_name, folder_name_part
from alfred.utils.config import (
    load_config_from_json,
    load_dict_from_json,
    parse_bool,
    parse_log_level,
    save_config_to_json,
    save_dict_to_json,
    update_config,
)
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError, ask_yes_no, atomic_write_text, cli_main, close_logger, create_logger
from alfred.utils.recorder import Recorder

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------- config

@pytest.mark.parametrize("text", ["true", "True", "T", "yes", "Y", "1", " true "])
def test_parse_bool_true(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["false", "FALSE", "f", "no", "N", "0"])
def test_parse_bool_false(text):
    assert parse_bool(text) is False


def test_parse_bool_passes_bools_through():
    assert parse_bool(True) is True and parse_bool(False) is False


@pytest.mark.parametrize("text", ["maybe", "", "2", "truee"])
def test_parse_bool_invalid(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected a boolean"):
        parse_bool(text)


def test_parse_bool_as_argparse_type():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flag", type=parse_bool)
    assert parser.parse_args(["--flag", "no"]).flag is False
    with pytest.raises(SystemExit):
        parser.parse_args(["--flag", "perhaps"])


@pytest.mark.parametrize("text, level", [("debug", logging.DEBUG), ("INFO", logging.INFO),
                                         ("Warning", logging.WARNING), ("error", logging.ERROR),
                                         (" critical ", logging.CRITICAL)])
def test_parse_log_level(text, level):
    assert parse_log_level(text) == level


def test_parse_log_level_invalid_lists_valid_levels():
    with pytest.raises(argparse.ArgumentTypeError) as e:
        parse_log_level("verbose")
    assert "verbose" in str(e.value) and "DEBUG" in str(e.value) and "WARNING" in str(e.value)


def test_save_load_json_round_trip(tmp_path):
    data = {"lr": 0.001, "name": "ppo_lstm", "layers": [64, 64], "nested": {"a": None, "b": True}, "é": "ü"}
    path = tmp_path / "config.json"
    save_dict_to_json(data, path)
    assert load_dict_from_json(path) == data
    assert list(load_dict_from_json(path)) == list(data)  # key order kept
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]  # no temp file left


def test_save_load_config_namespace_round_trip(tmp_path):
    config = argparse.Namespace(lr=0.5, seed=3, alg_name="a")
    save_config_to_json(config, tmp_path / "c.json")
    loaded = load_config_from_json(tmp_path / "c.json")
    assert isinstance(loaded, argparse.Namespace)
    assert vars(loaded) == vars(config)


def test_load_corrupted_json_names_the_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"lr": 0.1, "wid')
    with pytest.raises(AlfredError) as e:
        load_dict_from_json(path)
    assert "corrupted JSON" in str(e.value) and str(path) in str(e.value)


def test_load_non_utf8_json_is_corrupted(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b'{"a": "\xff\xfe"}')
    with pytest.raises(AlfredError, match="corrupted JSON"):
        load_dict_from_json(path)


def test_load_missing_json_names_the_file(tmp_path):
    path = tmp_path / "nope" / "config.json"
    with pytest.raises(AlfredError) as e:
        load_dict_from_json(path)
    assert "missing" in str(e.value) and str(path) in str(e.value)


def test_load_json_that_is_not_an_object(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(AlfredError, match="expected an object"):
        load_dict_from_json(path)


def test_update_config_sets_known_values_and_copies():
    config = argparse.Namespace(lr=0.1, width=8)
    new = update_config(config, {"lr": 0.5})
    assert vars(new) == {"lr": 0.5, "width": 8}
    assert config.lr == 0.1  # the original is untouched


def test_update_config_unknown_name_lists_valid_ones():
    config = argparse.Namespace(lr=0.1, width=8, seed=0)
    with pytest.raises(AlfredError) as e:
        update_config(config, {"lrr": 1, "lr": 2})
    message = str(e.value)
    assert "lrr" in message and "valid: lr, seed, width" in message


# ------------------------------------------------------------------------------------ misc

def test_atomic_write_text_replaces_content_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "first\n")
    assert path.read_text() == "first\n"
    atomic_write_text(path, "second")
    assert path.read_text() == "second"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_atomic_write_text_failure_keeps_old_content_and_removes_temp(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(TypeError):
        atomic_write_text(path, b"bytes are not text")  # fails after the temp file was made
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


@pytest.mark.parametrize("answer, expected", [("y\n", True), ("yes\n", True), ("Y\n", True),
                                              ("n\n", False), ("NO\n", False)])
def test_ask_yes_no_answers(answer, expected):
    out = io.StringIO()
    assert ask_yes_no("Create?", stdin=io.StringIO(answer), stdout=out) is expected
    assert out.getvalue().startswith("Create? (y/n) ")
    assert "please answer" not in out.getvalue()


def test_ask_yes_no_asks_again_after_junk():
    out = io.StringIO()
    assert ask_yes_no("Create?", stdin=io.StringIO("maybe\n\nyes\n"), stdout=out) is True
    assert out.getvalue().count("Create? (y/n)") == 3
    assert out.getvalue().count("please answer y or n") == 2


def test_ask_yes_no_end_of_input_is_no():
    out = io.StringIO()
    assert ask_yes_no("Create?", stdin=io.StringIO(""), stdout=out) is False
    assert "end of input" in out.getvalue()
    # junk then end of input: still no, and no endless loop
    assert ask_yes_no("Create?", stdin=io.StringIO("what\n"), stdout=io.StringIO()) is False


def test_ask_yes_no_reads_sys_stdin_by_default(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert ask_yes_no("Go?") is True
    assert "Go? (y/n)" in capsys.readouterr().out


def test_create_logger_twice_replaces_handlers_and_closes_old_file(tmp_path):
    name = f"alfred.test.{tmp_path.name}"
    first_file, second_file = tmp_path / "first.log", tmp_path / "second.log"
    logger = create_logger(name, logging.INFO, logfile=first_file, stream=False)
    logger.info("to first")
    old_handlers = list(logger.handlers)
    assert len(old_handlers) == 1 and isinstance(old_handlers[0], logging.FileHandler)
    assert old_handlers[0].stream is not None  # open after a record

    again = create_logger(name, "DEBUG", logfile=second_file, stream=True)
    try:
        assert again is logger
        assert len(again.handlers) == 2
        assert not any(h in again.handlers for h in old_handlers)
        assert old_handlers[0].stream is None  # closed: the file handle is released
        assert again.level == logging.DEBUG and again.propagate is False
        again.debug("to second")
        for h in again.handlers:
            h.flush()
        assert "to first" in first_file.read_text() and "to second" not in first_file.read_text()
        assert "to second" in second_file.read_text() and "to first" not in second_file.read_text()
    finally:
        close_logger(again)


def test_close_logger_removes_and_closes_every_handler(tmp_path):
    logger = create_logger(f"alfred.test.close.{tmp_path.name}", logfile=tmp_path / "x.log", stream=True)
    logger.info("hello")
    handlers = list(logger.handlers)
    assert len(handlers) == 2
    file_handler = next(h for h in handlers if isinstance(h, logging.FileHandler))
    assert file_handler.stream is not None  # open after a record
    close_logger(logger)
    assert logger.handlers == []
    assert file_handler.stream is None
    assert "hello" in (tmp_path / "x.log").read_text()
    close_logger(logger)  # closing twice is harmless


def test_cli_main_turns_alfred_error_into_one_line_and_exit_code_2(capsys):
    def run(argv):
        raise AlfredError("schedule x.py: something is wrong")

    assert cli_main(run, []) == 2
    err = capsys.readouterr().err
    assert err == "error: schedule x.py: something is wrong\n"
    assert cli_main(lambda argv: 0, []) == 0


# -------------------------------------------------------------------------- directory_tree

def test_storage_name_parse_and_str_round_trip():
    name = "Se3_1a2b3c4-89abcde_ppo-lstm_cartpole_grid_lr_small"
    parsed = StorageName.parse(name)
    assert parsed == StorageName("Se3", "1a2b3c4-89abcde", "ppo-lstm", "cartpole", "grid_lr_small")
    assert str(parsed) == name
    assert parsed.search_kind == "grid"
    assert StorageName.parse("al12_nogit_a_b_random_x").search_kind == "random"
    assert StorageName.parse("al12_nogit_a_b_other").search_kind is None


@pytest.mark.parametrize("name", ["notes", "Se_x", "Sebastian", "Se_notes_a_b_c", "Se1_a_b_c", "Se1__a_b_c",
                                  ".alfred_ids", ".tmp-Se1_nogit_a_b_grid_x-1234abcd", "12_nogit_a_b_grid_x"])
def test_storage_name_parse_rejects_stray_names(name):
    assert StorageName.parse(name) is None


@pytest.mark.parametrize("value", ["ppo_lstm", "CartPole-v1", "a", "lr=0.1", "x.y+z", "0abc"])
def test_check_name_accepts(value):
    assert check_name("alg_name", value) == value


@pytest.mark.parametrize("value", ["a/b", "/abs", "..", "a..b", "has space", "", " lead", "_lead", "-x",
                                   "tab\tx", None, 3])
def test_check_name_rejects(value):
    with pytest.raises(AlfredError) as e:
        check_name("alg_name", value)
    assert "invalid alg_name" in str(e.value) and "letters, digits" in str(e.value)


def test_folder_name_part():
    assert folder_name_part("ppo_lstm") == "ppo-lstm"
    assert folder_name_part("a_b_c") == "a-b-c"
    assert folder_name_part("plain") == "plain"


def test_get_experiment_and_seed_dirs_sorted_numerically_ignoring_strays(tmp_path):
    storage = tmp_path / "Se1_nogit_a_b_grid_x"
    for n in (10, 2, 1, 33):
        (storage / f"experiment{n}").mkdir(parents=True)
    for stray in ("experimentA", "experiment_3", "notes", "experiment4.bak", "seed1"):
        (storage / stray).mkdir()
    (storage / "experiment5").with_suffix(".txt").write_text("a file")
    experiment_dirs = experiment_paths(storage)
    assert [p.name for p in experiment_dirs] == ["experiment1", "experiment2", "experiment10", "experiment33"]

    exp = storage / "experiment1"
    for s in (10, 9, 100, -1):
        (exp / f"seed{s}").mkdir()
    for stray in ("seedling", "seed_2", "attempts", "seed3x"):
        (exp / stray).mkdir()
    assert [p.name for p in seed_paths(exp)] == ["seed-1", "seed9", "seed10", "seed100"]
    trees = list(seed_trees(storage))
    assert [(t.experiment_num, t.seed) for t in trees] == [(1, -1), (1, 9), (1, 10), (1, 100)]


def test_directory_tree_paths(tmp_path):
    tree = DirectoryTree.from_parts(tmp_path, "Se1_nogit_a_b_grid_x", 3, 7)
    assert tree.seed_dir == tmp_path / "Se1_nogit_a_b_grid_x" / "experiment3" / "seed7"
    assert (tree.storage_name, tree.experiment_num, tree.seed) == ("Se1_nogit_a_b_grid_x", 3, 7)
    assert tree.root == tmp_path
    assert tree.get_run_name() == "Se1_nogit_a_b_grid_x_experiment3_seed7"  # one token: a W&B run id
    tree.create_directories()
    assert tree.recorders_dir.is_dir() and tree.incrementals_dir.is_dir()


def test_get_storage_dirs_ignores_strays(tmp_path):
    for name in ("Se2_nogit_a_b_grid_x", "Se1_nogit_a_b_random_y", "notes", "Se_x", ".alfred_ids"):
        (tmp_path / name).mkdir()
    (tmp_path / "Se3_nogit_a_b_grid_file").write_text("a file, not a folder")
    assert [p.name for p in list_storage_dirs(tmp_path)] == [
        "Se1_nogit_a_b_random_y", "Se2_nogit_a_b_grid_x"]
    assert list_storage_dirs(tmp_path / "missing") == []


def test_allocate_storage_dir_with_stray_folders(tmp_path):
    for stray in ("Se_notes", "Sebastian", "Se12abc", "notes", "Se"):
        (tmp_path / stray).mkdir()
    (tmp_path / "Se7x_file").write_text("")
    first = allocate_storage_dir(tmp_path, "Se", "nogit_a_b_grid_x")
    second = allocate_storage_dir(tmp_path, "Se", "nogit_a_b_grid_x")
    assert first.name == "Se1_nogit_a_b_grid_x" and first.is_dir()
    assert second.name == "Se2_nogit_a_b_grid_x" and second.is_dir()
    (tmp_path / "Se9_nogit_old_one_grid_x").mkdir()  # made by hand: ids continue after it
    third = allocate_storage_dir(tmp_path, "Se", "nogit_c_d_grid_y")
    assert third.name == "Se10_nogit_c_d_grid_y"
    other = allocate_storage_dir(tmp_path, "Ab", "nogit_a_b_grid_x")  # another user's prefix
    assert other.name == "Ab1_nogit_a_b_grid_x"


def test_allocate_storage_dir_skips_an_id_whose_folder_exists(tmp_path):
    (tmp_path / "Se1_nogit_a_b_grid_x").mkdir()
    (tmp_path / ".alfred_ids").mkdir()
    # the id registry was lost (e.g. copied root): the folder itself still blocks the id
    path = allocate_storage_dir(tmp_path, "Se", "nogit_a_b_grid_x")
    assert path.name == "Se2_nogit_a_b_grid_x"


_ALLOCATE_SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from alfred.protocol.storage_names import allocate_storage_dir
    root, go, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    while not go.exists():
        time.sleep(0.001)
    for _ in range(n):
        print(allocate_storage_dir(root, "Se", "nogit_a_b_grid_x").name, flush=True)
""")


def test_allocate_storage_dir_two_processes_never_share_an_id(tmp_path):
    root, go = tmp_path / "root", tmp_path / "go"
    root.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, "-c", _ALLOCATE_SCRIPT, str(root), str(go), "20"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    go.touch()  # both start allocating at about the same moment
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    names = [line for out, _ in outputs for line in out.split()]
    assert len(names) == 40
    assert len(set(names)) == 40
    ids = sorted(int(StorageName.parse(n).storage_id[2:]) for n in names)
    assert ids == list(range(1, 41))
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == sorted(names)


# -------------------------------------------------------------------------------- recorder

def test_write_to_tape_missing_keys_get_none():
    r = Recorder(["step", "score", "loss"])
    r.write_to_tape({"step": 0, "score": 1.5})
    r.write_to_tape({"loss": 0.3})
    assert r.tape == {"step": [0, None], "score": [1.5, None], "loss": [None, 0.3]}
    assert len(r) == 2


def test_write_to_tape_unknown_key_raises_and_changes_nothing():
    r = Recorder(["step"])
    with pytest.raises(AlfredError) as e:
        r.write_to_tape({"step": 1, "sccore": 2})
    assert "sccore" in str(e.value) and "step" in str(e.value)
    assert r.tape == {"step": []}


def test_recorder_needs_a_metric():
    with pytest.raises(ValueError):
        Recorder([])


def test_write_to_tape_stores_copies():
    r = Recorder(["hist", "weights", "info"])
    hist, weights, info = [1, 2], np.array([1.0, 2.0]), {"k": [1]}
    r.write_to_tape({"hist": hist, "weights": weights, "info": info})
    hist.append(3)
    weights[0] = 99.0
    info["k"].append(2)
    assert r.tape["hist"] == [[1, 2]]
    assert r.tape["weights"][0].tolist() == [1.0, 2.0]
    assert r.tape["info"] == [{"k": [1]}]


def _sample_recorder() -> Recorder:
    r = Recorder(["step", "score", "name", "vec"])
    r.write_to_tape({"step": 0, "score": 0.5, "name": "a", "vec": [1, 2]})
    r.write_to_tape({"step": 1, "name": "b"})  # score and vec missing -> None
    r.write_to_tape({"step": 2, "score": -1.25, "name": "c,d \"q\"", "vec": [3.5]})
    return r


@pytest.mark.parametrize("suffix", [".pkl", ".jsonl", ".csv"])
def test_recorder_save_load_round_trip(tmp_path, suffix):
    r = _sample_recorder()
    path = tmp_path / f"rec{suffix}"
    r.save(path)
    loaded = Recorder.load(path)
    assert loaded.tape == r.tape
    assert list(loaded.tape) == list(r.tape)
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temp file left


def test_recorder_pickle_keeps_numpy_and_init_from_pickle_file(tmp_path):
    r = Recorder(["step", "arr"])
    r.write_to_tape({"step": 1, "arr": np.arange(3)})
    r.save(tmp_path / "rec.pkl")
    with open(tmp_path / "rec.pkl", "rb") as f:
        assert pickle.load(f)["step"] == [1]
    loaded = Recorder.init_from_pickle_file(tmp_path / "rec.pkl")
    assert loaded.tape["step"] == [1]
    assert isinstance(loaded.tape["arr"][0], np.ndarray) and loaded.tape["arr"][0].tolist() == [0, 1, 2]
    loaded.write_to_tape({"step": 2})  # still a working recorder
    assert loaded.tape["step"] == [1, 2]


def test_recorder_jsonl_nan_and_inf(tmp_path):
    r = Recorder(["x", "np_x"])
    r.write_to_tape({"x": math.inf, "np_x": np.float64(2.5)})
    r.write_to_tape({"x": -math.inf, "np_x": np.float32("inf")})
    r.write_to_tape({"x": math.nan, "np_x": np.float64("nan")})
    r.write_to_tape({"x": None, "np_x": np.int64(7)})
    path = tmp_path / "rec.jsonl"
    r.save(path)

    def strict(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    for line in path.read_text().splitlines():  # every line is strict JSON (no NaN/Infinity)
        json.loads(line, parse_constant=strict)
    loaded = Recorder.load(path)
    assert loaded.tape["x"][:2] == [math.inf, -math.inf]
    assert loaded.tape["np_x"][0] == 2.5 and loaded.tape["np_x"][1] == math.inf
    for value in (loaded.tape["x"][2], loaded.tape["np_x"][2]):  # NaN comes back as missing
        assert value is None or math.isnan(value)
    assert loaded.tape["x"][3] is None and loaded.tape["np_x"][3] == 7


def test_recorder_csv_none_and_inf(tmp_path):
    r = Recorder(["a", "b"])
    r.write_to_tape({"a": None, "b": math.inf})
    r.write_to_tape({"a": 3, "b": -math.inf})
    r.save(tmp_path / "rec.csv")
    assert Recorder.load(tmp_path / "rec.csv").tape == {"a": [None, 3], "b": [math.inf, -math.inf]}


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_streaming_is_readable_before_close(tmp_path, suffix):
    path = tmp_path / f"stream{suffix}"
    r = Recorder(["step", "score"], stream_to=path)
    try:
        r.write_to_tape({"step": 0, "score": 0.5})
        r.write_to_tape({"step": 1})
        assert Recorder.load(path).tape == {"step": [0, 1], "score": [0.5, None]}
    finally:
        r.close()
    assert Recorder.load(path).tape == {"step": [0, 1], "score": [0.5, None]}


def test_streaming_jsonl_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "stream.jsonl"
    with Recorder(["step", "score"], stream_to=path) as r:
        for i in range(3):
            r.write_to_tape({"step": i, "score": i / 2})
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"step": 3, "sco')  # a run killed in the middle of a write
    assert Recorder.load(path).tape == {"step": [0, 1, 2], "score": [0.0, 0.5, 1.0]}


def test_streaming_resumed_after_a_torn_line_keeps_new_entries(tmp_path):
    """The next attempt of a released run streams on into the same file."""
    path = tmp_path / "stream.jsonl"
    with Recorder(["step"], stream_to=path) as r:
        r.write_to_tape({"step": 0})
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"ste')
    with Recorder(["step"], stream_to=path) as r:
        r.write_to_tape({"step": 1})
        r.write_to_tape({"step": 2})
    assert Recorder.load(path).tape == {"step": [0, 1, 2]}


def test_streaming_csv_resumed_after_a_torn_row(tmp_path):
    path = tmp_path / "stream.csv"
    with Recorder(["step", "score"], stream_to=path) as r:
        r.write_to_tape({"step": 0, "score": 0.5})
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write("1")  # killed after the first cell
    with Recorder(["step", "score"], stream_to=path) as r:
        r.write_to_tape({"step": 2, "score": 1.5})
    assert Recorder.load(path).tape == {"step": [0, 2], "score": [0.5, 1.5]}


def test_streaming_csv_appends_without_second_header(tmp_path):
    path = tmp_path / "stream.csv"
    with Recorder(["step"], stream_to=path) as r:
        r.write_to_tape({"step": 0})
    with Recorder(["step"], stream_to=path) as r:
        r.write_to_tape({"step": 1})
    assert path.read_text().splitlines()[0] == "step"
    assert path.read_text().count("step") == 1
    assert Recorder.load(path).tape == {"step": [0, 1]}


@pytest.mark.parametrize("name", ["rec.txt", "rec.json", "rec"])
def test_recorder_bad_suffix(tmp_path, name):
    r = _sample_recorder()
    with pytest.raises(AlfredError, match=r"\.pkl, \.jsonl or \.csv"):
        r.save(tmp_path / name)
    (tmp_path / name).write_text("x")
    with pytest.raises(AlfredError, match=r"\.pkl, \.jsonl or \.csv"):
        Recorder.load(tmp_path / name)
    with pytest.raises(AlfredError, match="stream_to"):
        Recorder(["a"], stream_to=tmp_path / "s.pkl")
    assert sorted(os.listdir(tmp_path)) == [name]


# ----------------------------------------------------------------------------------- flags

@pytest.fixture
def seed_tree(tmp_path) -> DirectoryTree:
    """A prepared seed folder: config.json, config_unique.json, UNHATCHED."""
    tree = DirectoryTree.from_parts(tmp_path / "storage", "Se1_nogit_a_b_grid_x", 1, 1)
    tree.create_directories()
    save_dict_to_json({"lr": 0.1, "seed": 1}, tree.config_path)
    save_dict_to_json({"lr": 0.1, "seed": 1}, tree.config_unique_path)
    tree.flag_path(UNHATCHED).touch()
    return tree


def _flags_in(tree: DirectoryTree) -> set[str]:
    """The flags of a seed folder, a claim's OPENED.<token> counted as OPENED."""
    names = {OPENED if is_claim_flag(n) else n for n in os.listdir(tree.seed_dir)}
    return names & {UNHATCHED, OPENED, COMPLETED, CRASH}


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # exited and reaped: the pid names no process now
    return p.pid


def test_claim_succeeds_once(seed_tree):
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0, extra={"job": "42"})
    assert c is not None
    assert _flags_in(seed_tree) == {OPENED}
    assert os.listdir(seed_tree.seed_dir).count(f"OPENED.{c.token}") == 1  # the claim's own file
    info = read_flag_info(c.path)
    assert info["host"] == HOSTNAME and info["pid"] == os.getpid()
    assert info["worker_id"] == "w0" and info["heartbeat_s"] == 5.0 and info["job"] == "42"
    assert info["attempt"] == 1 and info["token"] == c.token
    assert flags.claim(seed_tree, worker_id="w1", heartbeat_s=5.0) is None
    assert read_flag_info(c.path)["worker_id"] == "w0"


def test_claim_of_a_completed_seed_returns_none(seed_tree):
    flags.complete(flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0))
    assert flags.claim(seed_tree, worker_id="w1", heartbeat_s=5.0) is None
    assert _flags_in(seed_tree) == {COMPLETED}


def test_complete(seed_tree):
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
    assert flags.heartbeat(c) is True
    assert flags.complete(c) is True
    assert _flags_in(seed_tree) == {COMPLETED}
    info = read_flag_info(seed_tree.flag_path(COMPLETED))
    assert info["token"] == c.token and info["worker_id"] == "w0"
    assert "end_time" in info and info["duration_s"] >= 0
    assert flags.complete(c) is False  # only once
    assert flags.heartbeat(c) is False  # OPENED is gone
    assert seed_state(seed_tree).state is SeedState.COMPLETED


def test_flag_files_are_json_lines_written_in_place(seed_tree):
    """The claim's file gets one line by one write into the file the claim renamed (same inode:
    no temp file replaced it); the end line is appended to it before it becomes COMPLETED."""
    inode = os.stat(seed_tree.flag_path(UNHATCHED)).st_ino
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
    opened = Path(c.path)
    assert os.stat(opened).st_ino == inode
    assert len(opened.read_text().splitlines()) == 1
    flags.complete(c)
    lines = seed_tree.flag_path(COMPLETED).read_text().splitlines()
    assert os.stat(seed_tree.flag_path(COMPLETED)).st_ino == inode
    assert len(lines) == 2 and json.loads(lines[0])["token"] == c.token and "duration_s" in json.loads(lines[1])


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1, "b": 2}\n{"b": 3, "c": 4}\n', {"a": 1, "b": 3, "c": 4}),  # later lines add keys
    ('{\n "a": 1,\n "b": [1, 2]\n}\n', {"a": 1, "b": [1, 2]}),  # one indented object (older layout)
    ('{"a": 1}\n{"end_t', {"a": 1}),  # a line cut short is skipped
    ("", {}),  # mid-claim: the rename happened, the line not yet
    ("[1, 2]\n", {}),
])
def test_read_flag_info(tmp_path, text, expected):
    path = tmp_path / "OPENED"
    path.write_text(text)
    assert read_flag_info(path) == expected
    assert read_flag_info(tmp_path / "missing") == {}


def test_crash_records_exception_and_traceback(seed_tree):
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)

    def train():
        raise RuntimeError("boom lr=0.1")

    try:
        train()
    except RuntimeError as e:
        assert flags.crash(c, e) is True
    assert _flags_in(seed_tree) == {CRASH}
    text = seed_tree.flag_path(CRASH).read_text()
    assert text.splitlines()[0] == "exception: RuntimeError: boom lr=0.1"
    assert "Traceback (most recent call last)" in text
    assert "in train" in text  # the frame that raised
    assert f"host: {HOSTNAME}" in text and "attempt: 1" in text and str(seed_tree.seed_dir) in text
    assert flags.complete(c) is False  # a crashed claim cannot complete too
    assert seed_state(seed_tree).state is SeedState.CRASHED


def test_crash_with_a_message(seed_tree):
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
    assert flags.crash(c, message="worker killed by signal 9\ndetails") is True
    text = seed_tree.flag_path(CRASH).read_text()
    assert text.splitlines()[0] == "exception: worker killed by signal 9"
    assert "details" in text


def test_release_keeps_files_and_records_the_attempt(seed_tree):
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
    (seed_tree.recorders_dir / "train.jsonl").write_text('{"step": 0}\n')
    assert flags.release(c, "KeyboardInterrupt") is True
    assert _flags_in(seed_tree) == {UNHATCHED}
    assert (seed_tree.recorders_dir / "train.jsonl").read_text() == '{"step": 0}\n'  # kept to resume
    released = json.loads((seed_tree.attempts_dir / "1" / "RELEASED").read_text())
    assert released["released"] == "KeyboardInterrupt" and released["token"] == c.token
    assert flags.complete(c) is False  # the claim is over
    again = flags.claim(seed_tree, worker_id="w1", heartbeat_s=5.0)
    assert again is not None and again.info["attempt"] == 2


def test_read_status_each_state(seed_tree):
    assert seed_state(seed_tree).state is SeedState.UNHATCHED
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
    status = seed_state(seed_tree)
    assert status.state is SeedState.RUNNING and status.info["token"] == c.token
    flags.complete(c)
    assert seed_state(seed_tree).state is SeedState.COMPLETED
    seed_tree.flag_path(COMPLETED).unlink()
    status = seed_state(seed_tree)
    assert status.state is SeedState.INTERRUPTED and "no FLAG-file" in status.reason
    seed_tree.flag_path(CRASH).write_text("exception: x\n")
    assert seed_state(seed_tree).state is SeedState.CRASHED
    gone = DirectoryTree(seed_tree.experiment_dir / "seed99")
    assert seed_state(gone).state is SeedState.INTERRUPTED


def _write_opened(tree: DirectoryTree, **info) -> None:
    tree.flag_path(UNHATCHED).unlink(missing_ok=True)
    tree.flag_path(OPENED).write_text(json.dumps(info))


def test_opened_on_another_host_old_heartbeat_is_interrupted(seed_tree):
    _write_opened(seed_tree, host="some-other-node", pid=os.getpid(), heartbeat_s=30.0, token="t")
    past = time.time() - 1000
    os.utime(seed_tree.flag_path(OPENED), (past, past))
    status = seed_state(seed_tree)
    # judged by its heartbeat only: that its pid equals a live pid here does not make it alive
    assert status.state is SeedState.INTERRUPTED and "no heartbeat" in status.reason


def test_opened_on_another_host_recent_heartbeat_is_running(seed_tree):
    _write_opened(seed_tree, host="some-other-node", pid=12345, heartbeat_s=30.0, token="t")
    status = seed_state(seed_tree)
    assert status.state is SeedState.RUNNING
    # the same file seen 200 s later (default threshold: max(5 x 30 s, 120 s) = 150 s)
    later = seed_state(seed_tree, now=time.time() + 200)
    assert later.state is SeedState.INTERRUPTED


def test_opened_stale_threshold_is_never_below_min_stale(seed_tree):
    _write_opened(seed_tree, host="some-other-node", pid=12345, heartbeat_s=1.0, token="t")
    # 5 heartbeats would be 5 s, but NFS attribute caching needs at least MIN_STALE_S
    assert seed_state(seed_tree, now=time.time() + 60).state is SeedState.RUNNING
    assert seed_state(seed_tree, now=time.time() + MIN_STALE_S + 30).state is SeedState.INTERRUPTED
    # an explicit threshold wins
    assert seed_state(seed_tree, stale_after_s=10, now=time.time() + 60).state is SeedState.INTERRUPTED


def test_opened_on_this_host_with_dead_pid_is_interrupted(seed_tree):
    pid = _dead_pid()
    _write_opened(seed_tree, host=HOSTNAME, pid=pid, heartbeat_s=30.0, token="t")
    status = seed_state(seed_tree)  # fresh heartbeat, but the process is gone
    assert status.state is SeedState.INTERRUPTED and str(pid) in status.reason


def test_opened_on_this_host_with_live_pid_is_running(seed_tree):
    _write_opened(seed_tree, host=HOSTNAME, pid=os.getpid(),
                  pid_start=pid_start_time(os.getpid()), heartbeat_s=30.0, token="t")
    past = time.time() - 10_000
    os.utime(seed_tree.flag_path(OPENED), (past, past))
    assert seed_state(seed_tree).state is SeedState.RUNNING  # alive wins over an old heartbeat


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc to read process start times")
def test_opened_on_this_host_with_reused_pid_is_interrupted(seed_tree):
    _write_opened(seed_tree, host=HOSTNAME, pid=os.getpid(), pid_start="1", heartbeat_s=30.0, token="t")
    assert seed_state(seed_tree).state is SeedState.INTERRUPTED


def test_reset_crashed_seed_moves_files_to_attempts(seed_tree):
    config_before = seed_tree.config_path.read_text()
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
    seed_tree.log_path.write_text("log of attempt 1\n")
    (seed_tree.recorders_dir / "train.pkl").write_bytes(b"data")
    (seed_tree.incrementals_dir / "ckpt.pt").write_bytes(b"ckpt")
    flags.crash(c, message="boom")
    status = seed_state(seed_tree)
    assert flags.reset(seed_tree, status) is True

    attempt = seed_tree.attempts_dir / "1"
    assert (attempt / CRASH).read_text().startswith("exception: boom")
    assert (attempt / "logger.out").read_text() == "log of attempt 1\n"
    assert (attempt / "recorders" / "train.pkl").read_bytes() == b"data"
    assert (attempt / "incrementals" / "ckpt.pt").read_bytes() == b"ckpt"
    assert sorted(os.listdir(seed_tree.seed_dir)) == sorted(
        ["attempts", "config.json", "config_unique.json", "incrementals", "recorders", UNHATCHED])
    assert os.listdir(seed_tree.recorders_dir) == [] and os.listdir(seed_tree.incrementals_dir) == []
    assert seed_tree.config_path.read_text() == config_before
    assert seed_tree.config_unique_path.is_file()
    assert seed_state(seed_tree).state is SeedState.UNHATCHED

    # the next attempt goes to attempts/2/
    c2 = flags.claim(seed_tree, worker_id="w1", heartbeat_s=5.0)
    assert c2.info["attempt"] == 2
    flags.crash(c2, message="boom again")
    assert flags.reset(seed_tree, seed_state(seed_tree)) is True
    assert (seed_tree.attempts_dir / "2" / CRASH).read_text().startswith("exception: boom again")
    assert (seed_tree.attempts_dir / "1" / CRASH).read_text().startswith("exception: boom")


def test_reset_interrupted_seed_keeps_its_opened(seed_tree):
    _write_opened(seed_tree, host=HOSTNAME, pid=_dead_pid(), heartbeat_s=30.0, token="old")
    status = seed_state(seed_tree)
    assert status.state is SeedState.INTERRUPTED
    assert flags.reset(seed_tree, status) is True
    assert json.loads((seed_tree.attempts_dir / "1" / OPENED).read_text())["token"] == "old"
    assert _flags_in(seed_tree) == {UNHATCHED}


@pytest.mark.parametrize("state", ["completed", "unhatched", "running"])
def test_reset_refuses_other_states(seed_tree, state):
    if state != "unhatched":
        c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
        if state == "completed":
            flags.complete(c)
    before = sorted(os.listdir(seed_tree.seed_dir))
    status = seed_state(seed_tree)
    assert status.state.value.lower() == state
    with pytest.raises(ValueError, match=status.state.value):
        flags.reset(seed_tree, status)
    assert sorted(os.listdir(seed_tree.seed_dir)) == before  # nothing moved


def test_reset_with_a_stale_status_does_nothing(seed_tree):
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
    flags.crash(c, message="boom")
    stale = seed_state(seed_tree)
    assert flags.reset(seed_tree, stale) is True
    # someone reset it already and a worker took it: the old CRASHED status must not act again
    flags.claim(seed_tree, worker_id="w1", heartbeat_s=5.0)
    assert flags.reset(seed_tree, stale) is False
    assert _flags_in(seed_tree) == {OPENED}
    assert sorted(os.listdir(seed_tree.attempts_dir)) == ["1"]


# --------------------------------------------------------------------- a claim is an identity

def _reset_as_a_cleaner_would(tree: DirectoryTree, claim: flags.Claim) -> None:
    """What clean_interrupted does to a claim it judged interrupted (its worker stopped elsewhere)."""
    status = SeedStatus(SeedState.INTERRUPTED, "no heartbeat", claim.info, f"OPENED.{claim.token}")
    assert flags.reset(tree, status) is True


def test_a_lost_claim_can_touch_nothing_of_the_next_claim(seed_tree):
    """A's seed is reset while A is stopped, B claims it: whatever A does next fails and leaves
    B's flag as it was (same inode, same content, same mtime)."""
    a = flags.claim(seed_tree, worker_id="A", heartbeat_s=5.0)
    _reset_as_a_cleaner_would(seed_tree, a)
    b = flags.claim(seed_tree, worker_id="B", heartbeat_s=5.0)
    before = os.stat(b.path), Path(b.path).read_bytes()
    past = time.time() - 100
    os.utime(b.path, (past, past))
    mtime = os.stat(b.path).st_mtime
    assert flags.owns(a) is False and flags.heartbeat(a) is False
    assert flags.complete(a) is False and flags.crash(a, message="A") is False and flags.release(a, "A") is False
    assert _flags_in(seed_tree) == {OPENED}
    after = os.stat(b.path)
    assert (after.st_ino, after.st_mtime, Path(b.path).read_bytes()) == (before[0].st_ino, mtime, before[1])
    assert flags.complete(b) is True  # B's claim is intact
    assert read_flag_info(seed_tree.flag_path(COMPLETED))["worker_id"] == "B"


def test_whatever_a_stray_unhatched_holds_neither_blocks_nor_hijacks_a_claim(seed_tree):
    seed_tree.flag_path(UNHATCHED).write_text('{"token": "stale", "pid": 1, "host": "elsewhere"}\nnot json\n')
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
    assert Path(c.path).read_text().count("\n") == 1  # only this claim's line
    assert read_flag_info(c.path)["token"] == c.token and read_flag_info(c.path)["pid"] == os.getpid()
    assert seed_state(seed_tree).state is SeedState.RUNNING
    assert flags.complete(c) is True


def test_a_release_leaves_the_seed_as_a_reset_does_but_keeps_its_files(seed_tree):
    c = flags.claim(seed_tree, worker_id="w0", heartbeat_s=5.0)
    (seed_tree.incrementals_dir / "ckpt_1.pt").write_bytes(b"ckpt")
    assert flags.release(c, "preempted (SIGUSR2)") is True
    assert seed_tree.flag_path(UNHATCHED).read_bytes() == b""  # fresh and empty, not the old claim
    assert json.loads((seed_tree.attempts_dir / "1" / OPENED).read_text())["token"] == c.token
    assert (seed_tree.incrementals_dir / "ckpt_1.pt").read_bytes() == b"ckpt"  # to resume from
    again = flags.claim(seed_tree, worker_id="w1", heartbeat_s=5.0)
    assert read_flag_info(again.path)["worker_id"] == "w1" and read_flag_info(again.path)["pid"] == os.getpid()


def test_releases_without_a_new_checkpoint_are_counted(seed_tree):
    counts = []
    for i in range(4):
        c = flags.claim(seed_tree, worker_id=f"w{i}", heartbeat_s=5.0)
        if i == 2:  # this attempt saved a checkpoint before it was preempted
            (seed_tree.incrementals_dir / f"ckpt_{i}.pt").write_bytes(b"x")
        flags.release(c, "preempted (SIGUSR2)")
        counts.append(flags.releases_without_progress(seed_tree))
    assert counts == [1, 2, 0, 1]
    c = flags.claim(seed_tree, worker_id="w4", heartbeat_s=5.0)
    flags.crash(c, message="boom")
    flags.reset(seed_tree, seed_state(seed_tree))
    assert flags.releases_without_progress(seed_tree) == 0  # the last attempt failed: not a release
