"""alfred.copy_config: the same experiments for another task, every seed UNHATCHED, built atomically."""
from __future__ import annotations

import argparse
import json
import os

import pytest
from conftest import grid_schedule, seed_trees

from alfred.launch_schedule import main as launch_main
from alfred.protocol.storage_names import StorageName
from alfred.search.copy import parse_additional_param


@pytest.fixture
def source(project):
    """A grid search on taskA (lr x 2, seeds 1 2), not launched."""
    schedule = project.write_schedule("grid_schedule_cp.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=[1, 2]))
    assert project.prepare(schedule, "--desc", "first") == 0
    (storage,) = project.storage_dirs()
    return storage


def copies(project, source):
    return [d for d in project.storage_dirs() if d != source]


def test_copy_to_new_task_end_to_end(project, source):
    # Run the source first: its seed folders then hold COMPLETED, logs and recorders, none of
    # which the copy may take.
    assert launch_main(["--storage_name", source.name]) == 0
    out = project.run_module("alfred.copy_config", "--storage_name", source.name, "--new_task", "task_B",
                             "--new_desc", "v2", "--append_new_desc", "False", "--additional_param", "extra=3,int",
                             "--additional_param", "width=16,int", "--additional_param", "note=a,b,str",
                             "--additional_param", "opt=None,None", "--list_file", "schedules/copies.txt", "--yes")
    assert out.returncode == 0, out.stderr
    (new,) = copies(project, source)
    old_name, new_name = StorageName.parse(source.name), StorageName.parse(new.name)
    assert new_name.storage_id != old_name.storage_id
    assert (new_name.git_hashes, new_name.alg_name) == (old_name.git_hashes, old_name.alg_name)
    assert (new_name.task_name, new_name.desc) == ("task-B", "grid_v2")
    assert f"created {new.relative_to(project.path)}" in out.stdout
    assert (new / "GRID_SEARCH").is_file() and not (new / "RANDOM_SEARCH").exists()
    assert json.loads((new / "variations.json").read_text()) == json.loads((source / "variations.json").read_text())
    info = json.loads((new / "prepare_info.json").read_text())
    old_info = json.loads((source / "prepare_info.json").read_text())
    assert info["copied_from"]["storage_name"] == source.name
    assert (info["task_name"], info["desc"], info["git"]) == ("task_B", "v2", old_info["git"])
    assert info["additional_params"] == {"extra": 3, "width": 16, "note": "a,b", "opt": None}
    assert not [p for p in project.path.joinpath("storage").iterdir() if p.name.startswith(".tmp")]

    old_seeds = [t.seed_dir for t in seed_trees(source)]
    new_seeds = [t.seed_dir for t in seed_trees(new)]
    assert [s.relative_to(new) for s in new_seeds] == [s.relative_to(source) for s in old_seeds]
    for old_seed, new_seed in zip(old_seeds, new_seeds):
        assert sorted(os.listdir(new_seed)) == ["UNHATCHED", "config.json", "config_unique.json"]
        old_cfg, cfg = (json.loads((d / "config.json").read_text()) for d in (old_seed, new_seed))
        old_u, u = (json.loads((d / "config_unique.json").read_text()) for d in (old_seed, new_seed))
        assert cfg == {**old_cfg, "task_name": "task_B", "desc": "grid_v2", "extra": 3, "width": 16,
                       "note": "a,b", "opt": None}
        assert u == {**old_u, "task_name": "task_B"}
    assert new.name in (project.schedules / "copies.txt").read_text()

    # The copy runs like any prepared search.
    assert launch_main(["--storage_name", new.name]) == 0
    assert len(list(new.glob("experiment*/seed*/COMPLETED"))) == 4


@pytest.mark.parametrize("text, expected", [
    ("lr=0.01,float", ("lr", 0.01)), ("n=3,int", ("n", 3)), ("flag=true,bool", ("flag", True)),
    ("flag=No,bool", ("flag", False)), ("s=a,b,str", ("s", "a,b")), ("s=,str", ("s", "")),
    ("x=None,None", ("x", None)), ("x=,None", ("x", None)), ("t=inf,float", ("t", float("inf"))),
    ("t=-inf,float", ("t", -float("inf"))),
])
def test_additional_param_values(text, expected):
    assert parse_additional_param(text) == expected


@pytest.mark.parametrize("text, message", [
    ("lr0.01,float", "expected name=value,type"), ("lr=0.01", "missing type"),
    ("lr=0.01,double", "unknown type 'double'"), ("n=3.5,int", "not a valid int"),
    ("b=maybe,bool", "not a valid bool"), ("x=3,None", "type None takes the value None"),
    ("1x=3,int", "invalid hyperparameter name"),
])
def test_additional_param_errors(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_additional_param(text)


def test_bad_additional_param_is_one_clear_line(project, source):
    out = project.run_module("alfred.copy_config", "--storage_name", source.name, "--new_task", "t",
                             "--additional_param", "n=3.5,int", "--yes")
    assert out.returncode == 2
    assert "argument --additional_param: n: '3.5' is not a valid int" in out.stderr
    assert copies(project, source) == []


@pytest.mark.parametrize("param, message", [
    ("lr=0.5,float", "varied by the search"), ("seed=3,int", "cannot set seed"),
])
def test_varied_and_reserved_names_are_refused(project, source, param, message):
    out = project.run_module("alfred.copy_config", "--storage_name", source.name, "--new_task", "t",
                             "--additional_param", param, "--yes")
    assert out.returncode == 2 and message in out.stderr and out.stderr.count("\n") == 1
    assert copies(project, source) == []


def test_default_desc_and_confirmation(project, source):
    out = project.run_module("alfred.copy_config", "--storage_name", source.name, "--new_task", "taskC",
                             input="n\n")
    assert out.returncode == 1 and "aborted" in out.stdout and copies(project, source) == []
    out = project.run_module("alfred.copy_config", "--storage_name", source.name, "--new_task", "taskC",
                             input="y\n")
    assert out.returncode == 0, out.stderr
    (new,) = copies(project, source)
    assert new.name.endswith("_taskC_grid_first")


def test_failure_midway_leaves_nothing(project, source):
    """A corrupted source config stops the copy: no storage dir, no temporary folder."""
    last = max(source.glob("experiment*/seed*"))
    (last / "config.json").write_text("{not json")
    out = project.run_module("alfred.copy_config", "--storage_name", source.name, "--new_task", "t", "--yes")
    assert out.returncode == 2 and "corrupted JSON" in out.stderr and str(last.relative_to(source.parent)) in out.stderr
    storage = project.path / "storage"
    assert [p.name for p in storage.iterdir() if not p.name.startswith(".alfred_ids")] == [source.name]


def test_bad_names_and_missing_source(project, source):
    out = project.run_module("alfred.copy_config", "--storage_name", source.name, "--new_task", "a/b", "--yes")
    assert out.returncode == 2 and "invalid task_name" in out.stderr
    out = project.run_module("alfred.copy_config", "--storage_name", "Zz1_nogit_a_b_grid_c", "--new_task", "t")
    assert out.returncode == 2 and "does not exist" in out.stderr
    assert copies(project, source) == []
