"""Bad input: exit code 2, one line on stderr naming the problem and what is valid, nothing written."""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from conftest import experiment_paths, grid_schedule, seed_trees, snapshot

from alfred.clean_interrupted import main as clean_main
from alfred.launch_schedule import main as launch_main
from alfred.prepare_schedule import main as prepare_main
from alfred.protocol.layout import COMPLETED, CRASH
from alfred.protocol.storage_names import StorageName


def assert_rejected(code: int, err: str, *words: str) -> None:
    """Exit code 2 (bad input) and exactly one line on stderr, holding every word."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


HEADER = textwrap.dedent("""
    from main import get_run_args
    ALG_NAMES = ['algA']
    TASK_NAMES = ['taskA']
    SEEDS = [1, 2]
    """)

# (id, schedule file name, its text, extra arguments, words the error must hold)
BAD_SCHEDULES = [
    ("syntax_error", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lr': [0.1, 0.2]\nx = 1\n", [],
     ["syntax error", "grid_schedule_bad.py", "line 6", "never closed"]),
    ("missing_alg_names_and_seeds", "grid_schedule_bad.py",
     "from main import get_run_args\nTASK_NAMES = ['t']\nVARIATIONS = {'lr': [0.1]}\n", [],
     ["must define ALG_NAMES, TASK_NAMES, SEEDS, VARIATIONS, get_run_args", "missing: ALG_NAMES, SEEDS"]),
    ("missing_variations", "grid_schedule_bad.py", HEADER, [], ["missing: VARIATIONS"]),
    ("missing_get_run_args", "grid_schedule_bad.py",
     "ALG_NAMES = ['a']\nTASK_NAMES = ['t']\nSEEDS = [1]\nVARIATIONS = {'lr': [0.1]}\n", [],
     ["missing: get_run_args"]),
    ("missing_random_parts", "random_schedule_bad.py", HEADER, [],
     ["random schedule must define", "missing: N_EXPERIMENTS, sample_experiment"]),
    ("neither_grid_nor_random", "my_search.py", HEADER, [],
     ["cannot tell grid from random", "VARIATIONS", "sample_experiment"]),
    ("unknown_variation_key", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lrr': [0.1], 'width': [1]}\n", [],
     ["'lrr'", "get_run_args does not define", "valid: crash, lr, sleep_s, width"]),
    ("key_twice_in_dict", "grid_schedule_bad.py",
     HEADER + "VARIATIONS = {\n    'lr': [0.1],\n    'width': [1],\n    'lr': [0.5],\n}\n", [],
     ["'lr'", "more than once", "line 6"]),
    ("key_twice_by_subscript", "grid_schedule_bad.py",
     HEADER + "VARIATIONS = {}\nVARIATIONS['lr'] = [0.1]\nVARIATIONS['lr'] = [0.2]\n", [],
     ["VARIATIONS['lr']", "more than once", "line 8"]),
    ("seed_in_variations", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'seed': [1, 2]}\n", [],
     ["must not set 'seed'", "SEEDS"]),
    ("alg_name_in_variations", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'alg_name': ['x']}\n", [],
     ["must not set 'alg_name'", "ALG_NAMES"]),
    ("task_name_in_variations", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'task_name': ['x']}\n", [],
     ["must not set 'task_name'", "TASK_NAMES"]),
    ("desc_in_variations", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'desc': ['x']}\n", [],
     ["must not set 'desc'", "--desc"]),
    ("empty_variation_list", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lr': [], 'width': [1]}\n", [],
     ["VARIATIONS['lr']", "non-empty list"]),
    ("variations_not_a_dict", "grid_schedule_bad.py", HEADER + "VARIATIONS = [('lr', [0.1])]\n", [],
     ["VARIATIONS must be a dict of lists"]),
    ("not_json_value", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lr': [object()]}\n", [],
     ["JSON cannot store"]),
    ("empty_seeds", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, seeds=()), [],
     ["SEEDS must be a non-empty list of integers"]),
    ("seed_twice", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, seeds=(1, 1)), [],
     ["SEEDS lists a seed twice"]),
    ("float_seed", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, seeds=(1.5,)), [],
     ["SEEDS must hold integers"]),
    ("alg_name_with_slash", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, algs=("ppo/lstm",)), [],
     ["invalid alg_name 'ppo/lstm'", "letters, digits", "no '/'"]),
    ("task_name_with_space", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, tasks=("cart pole",)), [],
     ["invalid task_name 'cart pole'", "letters, digits"]),
    ("alg_name_twice", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, algs=("a", "a")), [],
     ["ALG_NAMES lists a name twice"]),
    ("desc_with_slash", "grid_schedule_ok.py", grid_schedule({"lr": [0.1]}), ["--desc", "a/b"],
     ["invalid desc 'a/b'", "letters, digits"]),
    ("desc_dotdot", "grid_schedule_ok.py", grid_schedule({"lr": [0.1]}), ["--desc", ".."],
     ["invalid desc '..'", "no '/', spaces, newlines or '..'"]),
    ("desc_empty", "grid_schedule_ok.py", grid_schedule({"lr": [0.1]}), ["--desc", ""], ["invalid desc ''"]),
    ("schedule_raises", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lr': [1 / 0]}\n", [],
     ["loading it raised ZeroDivisionError"]),
    ("n_experiments_zero", "random_schedule_bad.py",
     HEADER + "N_EXPERIMENTS = 0\ndef sample_experiment():\n    return {'lr': 0.1}\n", [],
     ["N_EXPERIMENTS must be a positive integer"]),
    ("sample_unknown_key", "random_schedule_bad.py",
     HEADER + "N_EXPERIMENTS = 2\ndef sample_experiment():\n    return {'learning_rate': 0.1}\n", [],
     ["sample_experiment() sets 'learning_rate'", "valid: crash, lr, sleep_s, width"]),
    ("sample_not_a_dict", "random_schedule_bad.py",
     HEADER + "N_EXPERIMENTS = 2\ndef sample_experiment():\n    return 0.1\n", [],
     ["sample_experiment() must return a dict"]),
    ("add_to_missing_folder", "grid_schedule_ok.py", grid_schedule({"lr": [0.1]}),
     ["--add_to_folder", "Se99_nogit_algA_taskA_grid_ok"], ["--add_to_folder", "does not exist"]),
    # names: the whole string must match, no newline or other control character slips through
    ("desc_trailing_newline", "grid_schedule_ok.py", grid_schedule({"lr": [0.1]}), ["--desc", "abc\n"],
     ["invalid desc 'abc\\n'", "letters, digits", "newlines"]),
    ("desc_tab", "grid_schedule_ok.py", grid_schedule({"lr": [0.1]}), ["--desc", "a\tb"], ["invalid desc 'a\\tb'"]),
    ("desc_escape_sequence", "grid_schedule_ok.py", grid_schedule({"lr": [0.1]}), ["--desc", "x\x1b[31m"],
     ["invalid desc 'x\\x1b[31m'"]),
    ("alg_name_trailing_newline", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, algs=("ppo\n",)), [],
     ["invalid alg_name 'ppo\\n'", "newlines"]),
    ("task_name_carriage_return", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, tasks=("cartpole\r",)), [],
     ["invalid task_name 'cartpole\\r'"]),
    # a schedule that raises or exits while loading
    ("schedule_sys_exit", "grid_schedule_bad.py", HEADER + "import sys\nsys.exit(3)\n", [],
     ["grid_schedule_bad.py", "loading it called sys.exit(3) at line 7", "without raising or exiting"]),
    ("schedule_sys_exit_no_code", "grid_schedule_bad.py", HEADER + "import sys\nsys.exit()\n", [],
     ["loading it called sys.exit() at line 7"]),
    ("schedule_raises_runtime_error", "grid_schedule_bad.py", HEADER + "raise RuntimeError('boom')\n", [],
     ["loading it raised RuntimeError at line 6: boom"]),
    ("schedule_raises_multiline_message", "grid_schedule_bad.py", HEADER + "raise ValueError('one\\ntwo')\n", [],
     ["raised ValueError at line 6: one two"]),
    ("schedule_raises_base_exception", "grid_schedule_bad.py",
     HEADER + "class Stop(BaseException):\n    pass\nraise Stop('halt')\n", [], ["raised Stop at line 8: halt"]),
    ("sample_raises", "random_schedule_bad.py",
     HEADER + "N_EXPERIMENTS = 2\ndef sample_experiment():\n    raise KeyError('lr')\n", [],
     ["sample_experiment() raised KeyError at line 8: 'lr'", "must return a dict"]),
    ("sample_exits", "random_schedule_bad.py",
     HEADER + "import sys\nN_EXPERIMENTS = 2\ndef sample_experiment():\n    sys.exit('no more')\n", [],
     ["sample_experiment() called sys.exit('no more') at line 9", "must return a dict"]),
    # NaN in what tells experiments apart: it equals nothing, so the experiment could not be found again
    # (infinities are accepted, as 0.2 accepted them: tests/test_compat_v03.py)
    ("nan_in_variations", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lr': [float('nan'), 0.2]}\n", [],
     ["VARIATIONS gives 'lr' the value nan", "equals nothing", "give None or a number"]),
    ("nan_nested", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lr': [[0.1, float('nan')]]}\n", [],
     ["VARIATIONS gives 'lr' the value nan"]),
    ("nan_from_sample", "random_schedule_bad.py",
     HEADER + "N_EXPERIMENTS = 2\ndef sample_experiment():\n    return {'lr': float('nan')}\n", [],
     ["sample_experiment() gives 'lr' the value nan", "equals nothing"]),
    ("object_in_variations", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lr': [object()]}\n", [],
     ["VARIATIONS gives 'lr' the value <object", "JSON cannot store"]),
    # duplicate values make identical experiments (same JSON text: 0.1 and 0.10, key order of dicts)
    ("duplicate_float", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lr': [0.1, 0.1]}\n", [],
     ["VARIATIONS['lr'] lists 0.1 twice (entries 1 and 2)", "identical experiments", "list each value once"]),
    ("duplicate_same_number_written_twice", "grid_schedule_bad.py",
     HEADER + "VARIATIONS = {'lr': [0.1], 'width': [8, 16, 0x10]}\n", [],
     ["VARIATIONS['width'] lists 16 twice (entries 2 and 3)"]),
    ("duplicate_dict_other_key_order", "grid_schedule_bad.py",
     HEADER + "VARIATIONS = {'lr': [{'a': 1, 'b': 2}, {'b': 2, 'a': 1}]}\n", [],
     ["VARIATIONS['lr'] lists {'b': 2, 'a': 1} twice"]),
    ("duplicate_list_and_tuple", "grid_schedule_bad.py", HEADER + "VARIATIONS = {'lr': [[1, 2], (1, 2)]}\n", [],
     ["VARIATIONS['lr'] lists (1, 2) twice"]),
]


@pytest.mark.parametrize("name, text, extra, words", [c[1:] for c in BAD_SCHEDULES],
                         ids=[c[0] for c in BAD_SCHEDULES])
def test_bad_schedule_in_process(project, capsys, name, text, extra, words):
    schedule = project.write_schedule(name, text)
    before = snapshot(project.path)
    code = prepare_main(["--schedule_file", str(schedule), "--yes", *extra])
    out, err = capsys.readouterr()
    assert_rejected(code, err, *words)
    assert snapshot(project.path) == before


def test_schedule_file_missing(project):
    before = snapshot(project.path)
    result = project.run_module("alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_nope.py",
                                "--yes")
    assert_rejected(result.returncode, result.stderr, "schedules/grid_schedule_nope.py", "does not exist")
    assert snapshot(project.path) == before


def test_schedule_file_not_py(project, capsys):
    schedule = project.write_schedule("grid_schedule_x.txt", grid_schedule({"lr": [0.1]}))
    before = snapshot(project.path)
    code = prepare_main(["--schedule_file", str(schedule), "--yes"])
    assert_rejected(code, capsys.readouterr().err, "grid_schedule_x.txt", "must be a Python file ending in .py")
    assert snapshot(project.path) == before


def test_syntax_error_in_a_subprocess(project):
    schedule = project.write_schedule("grid_schedule_syntax.py", HEADER + "VARIATIONS = {'lr': [0.1]]}\n")
    before = snapshot(project.path)
    result = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes")
    assert_rejected(result.returncode, result.stderr, "syntax error", "grid_schedule_syntax.py", "line 6")
    assert snapshot(project.path) == before


def test_unknown_variation_key_in_a_subprocess(project):
    schedule = project.write_schedule("grid_schedule_key.py", grid_schedule({"lr": [0.1], "depth": [2]}))
    before = snapshot(project.path)
    result = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes")
    assert_rejected(result.returncode, result.stderr, "'depth'", "valid:", "lr", "width")
    assert snapshot(project.path) == before


def test_schedule_outside_a_project_folder(project):
    """``from main import ...`` with no main.py in the current folder."""
    schedule = project.write_schedule("grid_schedule_nomain.py", grid_schedule({"lr": [0.1]}))
    (project.path / "main.py").unlink()
    before = snapshot(project.path)
    result = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes")
    assert_rejected(result.returncode, result.stderr, "No module named 'main'", "project folder")
    assert snapshot(project.path) == before


def test_add_to_folder_of_another_kind(project, capsys):
    grid = project.write_schedule("grid_schedule_g.py", grid_schedule({"lr": [0.1]}))
    assert project.prepare(grid) == 0
    (storage_dir,) = project.storage_dirs()
    random_text = HEADER + "N_EXPERIMENTS = 2\ndef sample_experiment():\n    return {'lr': 0.1}\n"
    schedule = project.write_schedule("random_schedule_r.py", random_text)
    before = snapshot(project.path)
    capsys.readouterr()
    code = prepare_main(["--schedule_file", str(schedule), "--yes", "--add_to_folder", storage_dir.name])
    assert_rejected(code, capsys.readouterr().err, storage_dir.name, "is a grid search", "random search")
    assert snapshot(project.path) == before


# ------------------------------------------------------------------- launch and clean

@pytest.fixture
def prepared(project):
    """A project with one prepared grid search (2 experiments x 2 seeds)."""
    schedule = project.write_schedule("grid_schedule_ready.py", grid_schedule({"lr": [0.1, 0.2]}))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    project.list_file = project.schedules / "list_searches_ready.txt"
    project.storage_dir = storage_dir
    return project


def test_launch_without_main_py(prepared, capsys):
    (prepared.path / "main.py").unlink()
    before = snapshot(prepared.path)
    capsys.readouterr()
    code = launch_main(["--from_file", str(prepared.list_file)])
    assert_rejected(code, capsys.readouterr().err, "no main.py", "project folder", "main(config, dir_tree")
    assert snapshot(prepared.path) == before
    assert prepared.calls() == []


def test_launch_without_main_py_in_a_subprocess(prepared):
    (prepared.path / "main.py").unlink()
    before = snapshot(prepared.path)
    result = prepared.run_module("alfred.launch_schedule", "--from_file", str(prepared.list_file))
    assert_rejected(result.returncode, result.stderr, "no main.py")
    assert snapshot(prepared.path) == before


def test_launch_with_main_py_defining_no_main(prepared, capsys):
    (prepared.path / "main.py").write_text("def get_run_args(cmd=None):\n    pass\n\ndef train():\n    pass\n")
    before = snapshot(prepared.path)
    capsys.readouterr()
    code = launch_main(["--storage_name", prepared.storage_dir.name])
    assert_rejected(code, capsys.readouterr().err, "main.py", "defines no main(config, dir_tree, logger, pbar)")
    assert snapshot(prepared.path) == before


def test_launch_from_missing_list_file(prepared, capsys):
    before = snapshot(prepared.path)
    capsys.readouterr()
    code = launch_main(["--from_file", "schedules/list_searches_nope.txt"])
    assert_rejected(code, capsys.readouterr().err, "list file", "list_searches_nope.txt", "does not exist")
    assert snapshot(prepared.path) == before


def test_launch_list_file_naming_a_missing_storage_dir(prepared, capsys):
    bad_list = prepared.schedules / "list_searches_bad.txt"
    bad_list.write_text(prepared.storage_dir.name + "\nSe77_nogit_algA_taskA_grid_gone\n")
    before = snapshot(prepared.path)
    capsys.readouterr()
    code = launch_main(["--from_file", str(bad_list)])
    assert_rejected(code, capsys.readouterr().err, "storage dir", "Se77_nogit_algA_taskA_grid_gone",
                    "does not exist", "--root_dir")
    assert snapshot(prepared.path) == before
    assert prepared.calls() == []  # not even the storage dir that exists was run


def test_launch_missing_storage_name(prepared, capsys):
    before = snapshot(prepared.path)
    capsys.readouterr()
    code = launch_main(["--storage_name", "Se77_nogit_algA_taskA_grid_gone"])
    assert_rejected(code, capsys.readouterr().err, "Se77_nogit_algA_taskA_grid_gone", "does not exist")
    assert snapshot(prepared.path) == before


@pytest.mark.parametrize("script", ["launch", "clean"])
@pytest.mark.parametrize("selection", ["both", "neither"])
def test_from_file_and_storage_name_exclusive(prepared, capsys, script, selection):
    argv = {"both": ["--from_file", str(prepared.list_file), "--storage_name", prepared.storage_dir.name],
            "neither": []}[selection]
    if script == "clean":
        argv.append("--yes")
    before = snapshot(prepared.path)
    capsys.readouterr()
    code = (launch_main if script == "launch" else clean_main)(argv)
    assert_rejected(code, capsys.readouterr().err, "exactly one of --from_file", "--storage_name")
    assert snapshot(prepared.path) == before
    assert prepared.calls() == []


def test_clean_with_neither_in_a_subprocess(prepared):
    before = snapshot(prepared.path)
    result = prepared.run_module("alfred.clean_interrupted", "--yes")
    assert_rejected(result.returncode, result.stderr, "exactly one of --from_file", "--storage_name")
    assert snapshot(prepared.path) == before


def test_launch_with_a_corrupted_config_crashes_only_that_seed(prepared):
    trees = list(seed_trees(prepared.storage_dir))
    assert len(trees) == 4
    broken = trees[1]
    broken.config_path.write_text('{"lr": 0.1, "wid')  # e.g. a disk filled up mid-write
    result = prepared.run_module("alfred.launch_schedule", "--from_file", str(prepared.list_file))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr

    crash = broken.flag_path(CRASH)
    assert crash.is_file() and not broken.flag_path(COMPLETED).exists()
    text = crash.read_text()
    assert text.splitlines()[0].startswith("exception: AlfredError: corrupted JSON in ")
    assert str(broken.config_path) in text
    for tree in trees:
        if tree is not broken:
            assert tree.flag_path(COMPLETED).is_file() and not tree.flag_path(CRASH).exists()
            assert (tree.recorders_dir / "train_recorder.pkl").is_file()
    assert sorted(prepared.calls()) == sorted(str(t.seed_dir) for t in trees if t is not broken)
    assert "3 run(s) completed, 1 crashed" in result.stdout
    assert f"crashed: {broken.seed_dir}/CRASH.txt" in result.stdout
    assert json.loads(broken.config_path.read_text() + '": 1}') == {"lr": 0.1, "wid": 1}  # left as it was


# ------------------------------------------------------------ names, main.py, sizes

def test_desc_with_a_trailing_newline_in_a_subprocess(project):
    """``--desc $'abc\\n'``: '$' in the name rule once let it through; the list file then split the name in two."""
    schedule = project.write_schedule("grid_schedule_nl.py", grid_schedule({"lr": [0.1]}))
    assert project.prepare(schedule, "--desc", "first") == 0  # a root, an id and a list file exist already
    before = snapshot(project.path)
    result = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes", "--desc", "abc\n")
    assert_rejected(result.returncode, result.stderr, "invalid desc 'abc\\n'", "newlines")
    assert snapshot(project.path) == before  # the ids in storage/.alfred_ids and the list file included


def test_name_too_long_for_the_filesystem_in_a_subprocess(project):
    """A 300-character desc once gave an ENAMETOOLONG traceback and left an id taken."""
    schedule = project.write_schedule("grid_schedule_long.py", grid_schedule({"lr": [0.1]}))
    assert project.prepare(schedule, "--desc", "first") == 0
    ids_before = sorted(os.listdir(project.path / "storage" / ".alfred_ids"))
    before = snapshot(project.path)
    result = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes",
                                "--desc", "d" * 300)
    assert_rejected(result.returncode, result.stderr, "desc 'dddd", "(300 chars)", "too long for this filesystem",
                    "file names of at most", "may hold", "they hold 309", "shorten")
    assert snapshot(project.path) == before
    assert sorted(os.listdir(project.path / "storage" / ".alfred_ids")) == ids_before


def _longest_names_budget(root: Path, alg: str, task: str) -> int:
    """Bytes a desc may have, worked out here from the filesystem's limit and the names alfred makes:
    ``.<id>_<rest>.tmp-<8 hex>`` while a storage dir is built (id: 12 bytes kept), and a later retrain
    ``<id>_nogit_<alg>_<task>_retrainBest_grid_<desc>``."""
    name_max = os.pathconf(root, "PC_NAME_MAX")
    longest_rest = name_max - len(".") - 12 - len("_") - len(".tmp-01234567")
    return longest_rest - len(f"nogit_{alg}_{task}_retrainBest_grid_")


def test_longest_accepted_names_fit_the_filesystem(project, capsys):
    """At the limit a search is created, and its retrain's temporary folder fits too; one byte more is refused."""
    schedule = project.write_schedule("grid_schedule_edge.py", grid_schedule({"lr": [0.1]}))
    budget = _longest_names_budget(project.path, "algA", "taskA")
    before = snapshot(project.path)
    assert project.prepare(schedule, "--desc", "e" * (budget + 1)) == 2
    assert_rejected(2, capsys.readouterr().err, "too long", f"may hold {budget + 9} bytes together")
    assert snapshot(project.path) == before

    assert project.prepare(schedule, "--desc", "e" * budget) == 0
    (storage_dir,) = project.storage_dirs()
    name = StorageName.parse(storage_dir.name)
    assert name.git_hashes == "nogit" and name.desc == "grid_" + "e" * budget
    # what create_retrainbest would build next to it, with a 12-byte id, on the real filesystem
    retrain_tmp = storage_dir.parent / f".Se1234567890_nogit_algA_taskA_retrainBest_{name.desc}.tmp-01234567"
    retrain_tmp.mkdir()
    assert len(retrain_tmp.name.encode()) == os.pathconf(project.path, "PC_NAME_MAX")  # no byte to spare


def test_copy_config_with_a_too_long_desc(project, capsys):
    """copy_config and create_retrainbest name storage dirs through the same allocation: refused before an id."""
    from alfred.copy_config import main as copy_main

    schedule = project.write_schedule("grid_schedule_cp.py", grid_schedule({"lr": [0.1]}))
    assert project.prepare(schedule, "--desc", "first") == 0
    (source,) = project.storage_dirs()
    before = snapshot(project.path)
    capsys.readouterr()
    code = copy_main(["--storage_name", source.name, "--new_task", "taskB", "--new_desc", "d" * 250,
                      "--append_new_desc", "False", "--yes"])
    assert_rejected(code, capsys.readouterr().err, "storage name '<id>_nogit_algA_taskB_grid_ddd", "too long",
                    "it holds 272", "file names of at most", "shorten")
    assert snapshot(project.path) == before


@pytest.mark.parametrize("body, words", [
    ("raise ImportError('no module named torch')\n", ["raised ImportError at line 1: no module named torch"]),
    ("import sys\nsys.exit(4)\n", ["called sys.exit(4) at line 2"]),
])
def test_main_py_raising_or_exiting_at_import(project, capsys, body, words):
    schedule = project.write_schedule("grid_schedule_m.py", grid_schedule({"lr": [0.1]}))
    (project.path / "main.py").write_text(body)
    before = snapshot(project.path)
    code = prepare_main(["--schedule_file", str(schedule), "--yes"])
    assert_rejected(code, capsys.readouterr().err, "importing", "main.py", *words, "without raising or exiting")
    assert snapshot(project.path) == before


def test_schedule_calling_sys_exit_in_a_subprocess(project):
    """Once a silent exit with the schedule's own code (3) and no message."""
    schedule = project.write_schedule("grid_schedule_exit.py", HEADER + "import sys; sys.exit(3)\n")
    before = snapshot(project.path)
    result = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes")
    assert_rejected(result.returncode, result.stderr, "grid_schedule_exit.py", "called sys.exit(3) at line 6")
    assert snapshot(project.path) == before


def test_values_with_different_json_text_are_distinct(project):
    """1 and 1.0 are written differently in config.json, and main may tell them apart (``range(1.0)``
    fails): they make different experiments, as --add_to_folder tells experiments apart. (True, which
    type=float would never give main, is refused: tests/test_inputs.py.)"""
    schedule = project.write_schedule("grid_schedule_types.py", grid_schedule({"lr": [1, 1.0]}, seeds=(1,)))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    values = [json.loads((e / "seed1" / "config_unique.json").read_text())["lr"]
              for e in experiment_paths(storage_dir)]
    assert [(v, type(v)) for v in values] == [(1, int), (1.0, float)]


def test_huge_grid_is_refused_before_its_plan_is_built(project):
    """10^8 combinations once filled the memory before asking; now refused at once, here under a
    1 GiB address-space limit that building the plan would exceed many times over."""
    import resource

    variations = {"lr": [i / 1000 for i in range(1, 101)], "width": list(range(1, 101)),
                  "sleep_s": [i / 10 for i in range(100)], "crash": list(range(100))}
    schedule = project.write_schedule("grid_schedule_huge.py", grid_schedule(variations))
    before = snapshot(project.path)

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    result = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes",
                                preexec_fn=limit_memory)
    assert_rejected(result.returncode, result.stderr, "grid_schedule_huge.py",
                    "VARIATIONS makes 100,000,000 experiments (100 x 100 x 100 x 100 values)",
                    "SEEDS has 2 seeds: 200,000,000 runs per storage dir",
                    "more than --max_experiments 100,000", "raise the limit with --max_experiments 200000000")
    assert snapshot(project.path) == before


def test_max_experiments_flag(project, capsys):
    schedule = project.write_schedule("grid_schedule_size.py", grid_schedule({"lr": [0.1, 0.2], "width": [1, 2]}))
    before = snapshot(project.path)
    code = prepare_main(["--schedule_file", str(schedule), "--yes", "--max_experiments", "7"])
    assert_rejected(code, capsys.readouterr().err, "VARIATIONS makes 4 experiments (2 x 2 values)",
                    "SEEDS has 2 seeds: 8 runs per storage dir", "more than --max_experiments 7",
                    "vary fewer values or seeds", "--max_experiments 8")
    assert snapshot(project.path) == before
    assert prepare_main(["--schedule_file", str(schedule), "--yes", "--max_experiments", "8"]) == 0
    (storage_dir,) = project.storage_dirs()
    assert len(experiment_paths(storage_dir)) == 4


def test_random_search_over_the_limit_is_refused_before_sampling(project, capsys):
    """sample_experiment() raises here: the size error comes first, so nothing was sampled."""
    text = HEADER + "N_EXPERIMENTS = 200_000\ndef sample_experiment():\n    raise RuntimeError('sampled')\n"
    schedule = project.write_schedule("random_schedule_many.py", text)
    before = snapshot(project.path)
    code = prepare_main(["--schedule_file", str(schedule), "--yes"])
    assert_rejected(code, capsys.readouterr().err, "N_EXPERIMENTS is 200,000", "SEEDS has 2 seeds: 400,000 runs",
                    "more than --max_experiments 100,000", "lower them", "--max_experiments 400000")
    assert snapshot(project.path) == before
