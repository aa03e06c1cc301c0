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

import numpy as np
import pytest
from conftest import experiment_paths, seed_paths, seed_trees

from alfred.protocol.listing import list_storage_dirs
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
