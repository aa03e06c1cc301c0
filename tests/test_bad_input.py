"""Bad input: exit code 2, one line on stderr naming the problem and what is valid, nothing written."""
from __future__ import annotations

import json
import textwrap

import pytest

from alfred.clean_interrupted import main as clean_main
from alfred.launch_schedule import main as launch_main
from alfred.prepare_schedule import main as prepare_main
from alfred.utils.layout import COMPLETED, CRASH
from conftest import grid_schedule, seed_trees, snapshot




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
    ("seed_twice", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, seeds=(1, 1)), [], ["SEEDS lists a seed twice"]),
    ("float_seed", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, seeds=(1.5,)), [], ["SEEDS must hold integers"]),
    ("alg_name_with_slash", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, algs=("ppo/lstm",)), [],
     ["invalid alg_name 'ppo/lstm'", "letters, digits", "no '/'"]),
    ("task_name_with_space", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, tasks=("cart pole",)), [],
     ["invalid task_name 'cart pole'", "letters, digits"]),
    ("alg_name_twice", "grid_schedule_bad.py", grid_schedule({"lr": [0.1]}, algs=("a", "a")), [],
     ["ALG_NAMES lists a name twice"]),
    ("desc_with_slash", "grid_schedule_ok.py", grid_schedule({"lr": [0.1]}), ["--desc", "a/b"],
     ["invalid desc 'a/b'", "letters, digits"]),
    ("desc_dotdot", "grid_schedule_ok.py", grid_schedule({"lr": [0.1]}), ["--desc", ".."],
     ["invalid desc '..'", "no '/', spaces or '..'"]),
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
