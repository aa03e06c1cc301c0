"""Shared fixtures: a throw-away user project (main.py + schedules/) in tmp_path."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from alfred.protocol.listing import iter_seed_dirs, list_experiment_dirs, list_seed_dirs, list_storage_dirs
from alfred.utils.directory_tree import DirectoryTree

REPO = Path(__file__).resolve().parents[1]

# A main.py for tests: every run appends its seed folder to $ALFRED_TEST_LOG (one O_APPEND
# write, so lines from concurrent processes do not interleave), sleeps config.sleep_s, and
# raises when config.crash is true. It writes a 1-point recorder like a real run would.
TEST_MAIN = '''
import argparse, os, time
from alfred.utils import Recorder

def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg_name", default="algA")
    parser.add_argument("--task_name", default="taskA")
    parser.add_argument("--desc", default="")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--sleep_s", type=float, default=0.0)
    parser.add_argument("--crash", type=int, default=0)
    argv = None if overwritten_cmd_line is None else overwritten_cmd_line.split()
    return parser.parse_args(argv)

def main(config, dir_tree, logger, pbar):
    log = os.environ.get("ALFRED_TEST_LOG")
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, (str(dir_tree.seed_dir) + "\\n").encode())
        os.close(fd)
    logger.info("running %s", dir_tree.get_run_name())
    time.sleep(config.sleep_s)
    if config.crash:
        raise RuntimeError(f"boom lr={config.lr}")
    r = Recorder(["step", "score"])
    r.write_to_tape({"step": 0, "score": config.lr * config.width})
    r.save(dir_tree.recorders_dir / "train_recorder.pkl")
'''


def grid_schedule(variations: dict, *, algs=("algA",), tasks=("taskA",), seeds=(1, 2), extra: str = "") -> str:
    return textwrap.dedent(f"""
        from main import get_run_args
        ALG_NAMES = {list(algs)!r}
        TASK_NAMES = {list(tasks)!r}
        SEEDS = {list(seeds)!r}
        VARIATIONS = {variations!r}
        """) + extra


def experiment_paths(storage_dir: Path) -> list[Path]:
    return [Path(p) for _, p in list_experiment_dirs(storage_dir)]


def seed_paths(experiment_dir: Path) -> list[Path]:
    return [Path(p) for _, p in list_seed_dirs(experiment_dir)]


def seed_trees(storage_dir: Path) -> list[DirectoryTree]:
    """Every seed folder of a storage dir, experiments then seeds in numeric order."""
    return [DirectoryTree(p) for _, _, p in iter_seed_dirs(storage_dir)]


def claim_file(tree) -> Path | None:
    """The claim's flag file (``OPENED.<token>``) of a seed folder, or None."""
    return next(iter(sorted(Path(tree.seed_dir).glob("OPENED*"))), None)


def attempt_run(seed_dir, n: int = 1):
    """The files an ended attempt keeps in ``attempts/<n>/`` (``recorders.<token>``, ...), as a tree
    whose ``recorders_dir``, ``incrementals_dir`` and ``log_path`` are those files."""
    from alfred.protocol.layout import SeedDir, run_file_of

    attempt = Path(seed_dir) / "attempts" / str(n)
    (token,) = {run_file_of(e)[1] for e in os.listdir(attempt) if run_file_of(e)}
    return SeedDir(attempt, run_token=token)


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root with a hash of its content (Python's caches and calls.log excluded)."""
    state = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if "__pycache__" in path.parts or rel == "calls.log":
            continue
        state[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return state


class Project:
    """A user project folder; the test's cwd is set to it."""

    def __init__(self, path: Path):
        self.path = path
        self.schedules = path / "schedules"
        self.schedules.mkdir()
        self.log = path / "calls.log"
        (path / "main.py").write_text(TEST_MAIN)

    def write_schedule(self, name: str, text: str) -> Path:
        path = self.schedules / name
        path.write_text(text)
        return path

    def prepare(self, schedule: Path, *extra: str) -> int:
        from alfred.prepare_schedule import main

        return main(["--schedule_file", str(schedule), "--yes", *extra])

    def storage_dirs(self) -> list[Path]:
        return list_storage_dirs(self.path / "storage")

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def run_module(self, module: str, *args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
        """``python -m <module> args`` in this project, as a user would run it."""
        return subprocess.run([sys.executable, "-m", module, *args], cwd=self.path, capture_output=True,
                              text=True, timeout=timeout, env=self.env(), **kwargs)

    def popen_module(self, module: str, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", module, *args], cwd=self.path, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)

    def env(self) -> dict:
        env = dict(os.environ)
        env["ALFRED_TEST_LOG"] = str(self.log)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        return env


@pytest.fixture(autouse=True)
def _restore_directory_tree_defaults():
    """Schedules and mains may set alfred.defaults (DirectoryTree.default_root and git_repos_to_track
    are views of two of them): undo after each test."""
    import copy

    import alfred.defaults

    saved = {k: copy.deepcopy(v) for k, v in vars(alfred.defaults).items() if k.startswith("DEFAULT_")}
    yield
    for name, value in saved.items():
        setattr(alfred.defaults, name, value)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    path = tmp_path / "my project"  # a space in the path on purpose
    path.mkdir()
    monkeypatch.chdir(path)
    proj = Project(path)
    monkeypatch.setenv("ALFRED_TEST_LOG", str(proj.log))
    yield proj
    sys.modules.pop("main", None)


def wait_for(predicate, timeout_s: float = 60.0, what: str = "condition", poll_s: float = 0.05):
    """The predicate's first truthy value, polled every ``poll_s``; AssertionError after ``timeout_s``."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
