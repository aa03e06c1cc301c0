"""alfred.sync_wandb and alfred.utils.wandb_run, with the real wandb library and CLI.

Real offline runs are made once per module (in a subprocess, so the wandb service and its
hooks never live in the pytest process) and copied for each test. Every sync goes to a
closed port on 127.0.0.1 and fails: no test talks to the internet. W&B's retries are cut
with WANDB__GRAPHQL_RETRY_MAX / _WAIT_*_SECONDS so that a failing sync takes a few seconds
instead of minutes.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

if importlib.util.find_spec("wandb") is None:  # not imported here: the syncs run the wandb CLI
    pytest.skip("wandb is not installed", allow_module_level=True)

from alfred.sync_wandb import main
from alfred.utils.wandb_sync import find_offline_runs, is_synced, select_dirs, sync_command

REPO = Path(__file__).resolve().parents[1]
STORAGE_X = "Te1_nogit_alg_task_grid_x"
STORAGE_Y = "Te2_nogit_alg_task_grid_y"
SEEDS = [(STORAGE_X, 1, 1), (STORAGE_X, 2, 1), (STORAGE_Y, 1, 3)]  # (storage, experiment, seed)

MAKE_RUNS = textwrap.dedent("""
    import argparse, json, sys
    from alfred.utils.directory_tree import DirectoryTree
    from alfred.utils.wandb_run import init_wandb_run

    root, seeds = sys.argv[1], json.loads(sys.argv[2])
    out = []
    for storage, experiment, seed in seeds:
        tree = DirectoryTree.from_parts(root, storage, experiment, seed)
        config = argparse.Namespace(alg_name="alg", lr=0.5 * seed, seed=seed)
        run = init_wandb_run(config, tree, project="alfred-test", tags=["t1"])
        for step in range(5):
            run.log({"score": step * config.lr})
        out.append(dict(seed_dir=str(tree.seed_dir), run_name=tree.get_run_name(), name=run.name,
                        config=dict(run.config), dir=run.dir, offline=run.offline, id=run.id,
                        tags=list(run.tags)))
        run.finish()
    print("RESULT " + json.dumps(out))
""")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wandb_env(base: Path, port: int) -> dict[str, str]:
    """W&B settings for the tests: everything under ``base``, the server a closed local port."""
    for name in ("config", "cache", "data", "artifacts"):
        (base / name).mkdir(parents=True, exist_ok=True)
    return {
        "WANDB_BASE_URL": f"http://127.0.0.1:{port}",
        "WANDB_API_KEY": "0123456789abcdef0123456789abcdef01234567",  # 40 chars, never valid
        "WANDB_SILENT": "true",
        "WANDB_CONSOLE": "off",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
        "WANDB_CONFIG_DIR": str(base / "config"),
        "WANDB_CACHE_DIR": str(base / "cache"),
        "WANDB_DATA_DIR": str(base / "data"),
        "WANDB_ARTIFACT_DIR": str(base / "artifacts"),
        # Fail fast: 1 retry, 1 s apart (wandb-core reads these as whole seconds; 0 = default).
        "WANDB__GRAPHQL_RETRY_MAX": "1",
        "WANDB__GRAPHQL_RETRY_WAIT_MIN_SECONDS": "1",
        "WANDB__GRAPHQL_RETRY_WAIT_MAX_SECONDS": "1",
        "WANDB__FILE_STREAM_RETRY_MAX": "1",
        "WANDB__FILE_TRANSFER_RETRY_MAX": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


_UNSET = ("WANDB_DIR", "WANDB_MODE", "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_RUN_ID", "WANDB_RESUME",
          "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A root with 3 real offline runs (+ decoys), and what wandb.init reported for each."""
    base = tmp_path_factory.mktemp("wandb_template")
    root = base / "root"
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    env.update(_wandb_env(base / "wandb_home", _closed_port()))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", MAKE_RUNS, str(root), json.dumps(SEEDS)], cwd=base, env=env,
                         capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    infos = json.loads(out.stdout.split("RESULT ", 1)[1])
    # Decoys that are not runs to sync.
    seed2 = root / STORAGE_X / "experiment1" / "seed2"
    (seed2 / "notwandb" / "offline-run-20200101_000000-decoy1").mkdir(parents=True)  # not in a wandb/ folder
    (seed2 / "notwandb" / "offline-run-20200101_000000-decoy1" / "run-decoy1.wandb").write_bytes(b"x")
    (seed2 / "wandb" / "offline-run-20200101_000000-empty").mkdir(parents=True)  # no .wandb file
    (seed2 / "wandb" / "run-20200101_000000-online").mkdir(parents=True)  # an online run
    (seed2 / "wandb" / "run-20200101_000000-online" / "run-online.wandb").write_bytes(b"x")
    other = root / "not_a_storage_dir" / "wandb" / "offline-run-20200101_000000-other"  # name doesn't parse
    other.mkdir(parents=True)
    (other / "run-other.wandb").write_bytes(b"x")
    return root, infos


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The test process's environment for syncs; returns the closed port."""
    port = _closed_port()
    for name in _UNSET:
        monkeypatch.delenv(name, raising=False)
    for k, v in _wandb_env(tmp_path / "wandb_home", port).items():
        monkeypatch.setenv(k, v)
    return port


def _copy(template, dest: Path) -> tuple[Path, list[Path]]:
    """Copy the template root to ``dest``; return it and its 3 run folders (in SEEDS order)."""
    root, infos = template
    shutil.copytree(root, dest, symlinks=True)
    runs = [dest / Path(i["dir"]).parent.relative_to(root) for i in infos]
    return dest, runs


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root: files by sha256 and mode, links by target, folders by name."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                snap[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                snap[rel] = ("dir",)
            else:
                snap[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mode)
    return snap


def _wandb_file(run_dir: Path) -> Path:
    (f,) = run_dir.glob("*.wandb")
    return f


def _mark_synced(run_dir: Path) -> Path:
    marker = run_dir / (_wandb_file(run_dir).name + ".synced")
    marker.write_bytes(b"")
    return marker


def _allowed_new(path: str) -> bool:
    """Whether ``wandb sync`` may add this entry beside a run it failed to sync (its cwd is the
    seed folder): ``wandb/debug-cli.<user>.log`` and ``wandb/logs/debug-sync.<time>.log`` (its
    logs), ``wandb/offline-run-*/run-<id>.wandb.syncstate`` (its resume bookkeeping)."""
    parts = Path(path).parts
    if parts[-2:] == ("wandb", "logs"):
        return True
    if parts[-3:-1] == ("wandb", "logs") and parts[-1].startswith("debug-sync.") and parts[-1].endswith(".log"):
        return True
    if parts[-2] == "wandb" and parts[-1].startswith("debug-cli.") and parts[-1].endswith(".log"):
        return True
    return (len(parts) >= 3 and parts[-3] == "wandb" and parts[-2].startswith("offline-run-")
            and parts[-1].startswith("run-") and parts[-1].endswith(".wandb.syncstate"))


# init_wandb_run ------------------------------------------------------------------------------

def test_init_wandb_run_makes_offline_runs_in_the_seed_folders(template):
    root, infos = template
    assert len(infos) == 3
    for (storage, experiment, seed), info in zip(SEEDS, infos):
        seed_dir = root / storage / f"experiment{experiment}" / f"seed{seed}"
        assert info["seed_dir"] == str(seed_dir)
        assert info["name"] == info["run_name"] == f"{storage}_experiment{experiment}_seed{seed}"
        assert info["config"] == {"alg_name": "alg", "lr": 0.5 * seed, "seed": seed}
        assert info["offline"] is True  # WANDB_MODE is unset: offline comes from init_wandb_run
        assert info["tags"] == ["t1"]  # extra kwargs reach wandb.init
        run_dir = Path(info["dir"]).parent  # run.dir is <run folder>/files
        assert run_dir.parent == seed_dir / "wandb"
        assert run_dir.name.startswith("offline-run-") and run_dir.name.endswith(info["id"])
        assert (run_dir / f"run-{info['id']}.wandb").stat().st_size > 0


def test_init_wandb_run_arguments(tmp_path, monkeypatch):
    """What reaches wandb.init, with a stand-in module (no run is started)."""
    import argparse
    import types

    from alfred.utils.directory_tree import DirectoryTree
    from alfred.utils.wandb_run import init_wandb_run

    calls = []
    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=lambda **kw: calls.append(kw) or "run"))
    tree = DirectoryTree.from_parts(tmp_path / "root", STORAGE_X, 4, 7)
    assert init_wandb_run(argparse.Namespace(lr=0.1), tree, project="p") == "run"
    assert init_wandb_run({"lr": 0.2}, tree, project="p", offline=False, name="custom", group="g") == "run"
    assert calls == [
        {"project": "p", "name": f"{STORAGE_X}_experiment4_seed7", "config": {"lr": 0.1},
         "dir": str(tree.seed_dir), "mode": "offline"},
        {"project": "p", "name": "custom", "config": {"lr": 0.2}, "dir": str(tree.seed_dir), "mode": "online",
         "group": "g"},
    ]
    assert tree.seed_dir.is_dir()


def test_importing_alfred_wandb_modules_does_not_import_wandb():
    code = ("import sys, alfred.sync_wandb, alfred.synch_wandb, alfred.utils.wandb_run; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'wandb'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["alfred.sync_wandb", "alfred.synch_wandb"])
def test_help_is_fast_and_imports_no_wandb(module):
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", module, "--help"], cwd=REPO,
                         capture_output=True, text=True, check=False, timeout=60)
    elapsed = time.monotonic() - start
    assert out.returncode == 0, out.stderr
    assert "--env_activation" in out.stdout and "--dry_run" in out.stdout and "--timeout_s" in out.stdout
    assert "neither --from_file nor --storage_name" in out.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")]
    assert imported and not [m for m in imported if m.split(".")[0] == "wandb"]
    assert elapsed < 5.0


# Discovery and selection ---------------------------------------------------------------------

def test_find_offline_runs_finds_exactly_the_runs(template, tmp_path):
    root, runs = _copy(template, tmp_path / "root")
    found = find_offline_runs([root / STORAGE_X, root / STORAGE_Y])
    assert found == sorted(runs)  # no decoy, no latest-run symlink twice
    assert find_offline_runs([root / STORAGE_Y]) == [runs[2]]
    assert find_offline_runs([root]) == sorted([*runs, root / "not_a_storage_dir" / "wandb" /
                                                "offline-run-20200101_000000-other"])
    assert find_offline_runs([tmp_path / "missing"]) == []


def test_select_dirs_without_names_takes_every_storage_dir_of_the_root(template, tmp_path):
    root, _ = _copy(template, tmp_path / "root")
    assert select_dirs(None, None, root) == [root / STORAGE_X, root / STORAGE_Y]
    assert select_dirs(None, None, root, tag="grid_x") == [root / STORAGE_X]
    assert select_dirs(None, STORAGE_Y, root) == [root / STORAGE_Y]
    assert select_dirs(None, STORAGE_Y, root, tag="grid_x") == []
    assert main(["--root_dir", str(tmp_path / "nope"), "--dry_run"]) == 2
    list_file = tmp_path / "list_searches_t.txt"
    list_file.write_text(f"# root_dir={root}\n{STORAGE_X}\n{STORAGE_Y}\n")
    assert select_dirs(list_file, None, None) == [root / STORAGE_X, root / STORAGE_Y]
    assert select_dirs(list_file, None, None, tag="_y") == [root / STORAGE_Y]
    assert main(["--from_file", str(list_file), "--storage_name", STORAGE_X, "--dry_run"]) == 2


def test_dry_run_lists_the_runs_and_changes_nothing(template, tmp_path, env, capsys):
    root, runs = _copy(template, tmp_path / "root")
    before = _snapshot(tmp_path)
    assert main(["--root_dir", str(root), "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert "3 offline run(s), 0 already synced, 3 to sync" in out
    listed = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert listed == [str(r) for r in sorted(runs)]
    assert _snapshot(tmp_path) == before

    assert main(["--root_dir", str(root), "--tag", "grid_y", "--dry_run"]) == 0
    listed = [line.strip() for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert listed == [str(runs[2])]


def test_runs_with_the_synced_marker_are_skipped(template, tmp_path, env, capsys):
    root, runs = _copy(template, tmp_path / "root")
    assert not any(is_synced(r) for r in runs)
    _mark_synced(runs[0])
    assert is_synced(runs[0])
    assert main(["--root_dir", str(root), "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert "3 offline run(s), 1 already synced, 2 to sync" in out
    assert str(runs[0]) not in out and str(runs[1]) in out and str(runs[2]) in out

    for r in runs[1:]:
        _mark_synced(r)
    before = _snapshot(tmp_path)
    assert main(["--root_dir", str(root), "--yes"]) == 0  # nothing to do: no wandb sync runs
    assert "3 already synced, 0 to sync" in capsys.readouterr().out
    assert _snapshot(tmp_path) == before


def test_answering_no_syncs_nothing(template, tmp_path, env, capsys, monkeypatch):
    root, _ = _copy(template, tmp_path / "root")
    before = _snapshot(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert main(["--root_dir", str(root)]) == 1
    assert "aborted: nothing was synced" in capsys.readouterr().out
    assert _snapshot(tmp_path) == before


# Real wandb sync to a closed port -----------------------------------------------------------

def test_failed_syncs_are_reported_and_leave_the_runs_intact(template, tmp_path, env, capsys, monkeypatch):
    root, runs = _copy(template, tmp_path / "root")
    marker = _mark_synced(runs[1])  # skipped: wandb sync must not even look at it
    before = _snapshot(root)
    monkeypatch.chdir(tmp_path)  # a relative root: wandb sync runs in the seed folder, it gets absolute paths
    runs = [r.relative_to(tmp_path) for r in runs]
    start = time.monotonic()
    code = main(["--root_dir", "root", "--yes", "--n_jobs", "4", "--timeout_s", "45"])
    elapsed = time.monotonic() - start
    out = capsys.readouterr().out
    assert code == 1, out
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2 and not any(line.startswith("OK") for line in out.splitlines()), out
    for run_dir in (runs[0], runs[2]):
        (line,) = [f for f in failed if f.startswith(f"FAILED  {run_dir}: ")]
        # wandb sync exits 0 here: the failure is seen through the missing .synced marker,
        # and the line ends with wandb's own last output line.
        assert "no .synced marker" in line and f"127.0.0.1:{env}" in line, line
        assert not is_synced(run_dir)
    assert "0 synced, 2 failed" in out
    assert elapsed < 40, f"a failing sync took {elapsed:.1f} s"

    after = _snapshot(root)
    changed = {k for k in before if after.get(k) != before[k]}
    assert changed == set(), changed  # nothing existing was modified or removed
    new = set(after) - set(before)
    assert all(_allowed_new(p) for p in new), sorted(new)
    # wandb sync read exactly the two unsynced runs: its sidecar is there, and nowhere else.
    syncstates = {p for p in new if p.endswith(".wandb.syncstate")}
    assert syncstates == {str((r / (_wandb_file(r).name + ".syncstate")).relative_to("root"))
                          for r in (runs[0], runs[2])}
    assert marker.exists() and not list(runs[1].glob("*.syncstate"))


def test_env_activation_passes_odd_paths_as_arguments(template, tmp_path, env, capsys, monkeypatch):
    odd = tmp_path / "it's a \"dir\" $HOME;"
    root, runs = _copy(template, odd / "root")
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    before = _snapshot(root)
    code = main(["--root_dir", str(root), "--storage_name", STORAGE_Y, "--env_activation", "true",
                 "--ask_for_validation", "false", "--timeout_s", "45"])
    out = capsys.readouterr().out
    assert code == 1, out
    (line,) = [f for f in out.splitlines() if f.startswith("FAILED")]
    assert line.startswith(f"FAILED  {runs[2]}: ") and f"127.0.0.1:{env}" in line, line
    new = set(_snapshot(root)) - set(before)
    assert str((runs[2] / (_wandb_file(runs[2]).name + ".syncstate")).relative_to(root)) in new  # wandb got the path
    assert all(_allowed_new(p) for p in new), sorted(new)


def test_sync_command_keeps_the_path_out_of_the_shell_string(tmp_path):
    path = tmp_path / "a b'c"
    assert sync_command(path) == [sys.executable, "-m", "wandb", "sync", str(path)]
    assert sync_command(path, env_activation="source venv/bin/activate") == [
        "bash", "-c", 'source venv/bin/activate && exec "$@"', "bash", "wandb", "sync", str(path)]


def test_a_failing_env_activation_fails_the_runs(template, tmp_path, env, capsys):
    root, _ = _copy(template, tmp_path / "root")
    before = _snapshot(root)
    code = main(["--root_dir", str(root), "--yes", "--env_activation", "echo activation broke >&2; false"])
    out = capsys.readouterr().out
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 3 and all("exit code 1: activation broke" in f for f in failed), out
    assert _snapshot(root) == before


def test_a_hanging_sync_is_killed_with_its_children(template, tmp_path, env, capsys):
    root, runs = _copy(template, tmp_path / "root")
    start = time.monotonic()
    code = main(["--root_dir", str(root), "--storage_name", STORAGE_Y, "--yes", "--timeout_s", "1",
                 "--env_activation", "sleep 37.25"])
    elapsed = time.monotonic() - start
    out = capsys.readouterr().out
    assert code == 1
    assert f"FAILED  {runs[2]}: timed out after 1 s" in out, out
    assert elapsed < 15
    if Path("/proc").is_dir():  # the sleep (bash's child) was killed with its process group
        assert _processes_running(b"sleep\x0037.25\x00") == []


def _processes_running(cmdline: bytes) -> list[str]:
    found = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and (p / "cmdline").read_bytes() == cmdline:
                found.append(p.name)
        except OSError:
            pass
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="lists processes through /proc")
def test_an_interrupt_kills_the_running_syncs(template, tmp_path, env):
    import signal
    import threading

    from alfred.utils.wandb_sync import sync_runs

    _, runs = _copy(template, tmp_path / "root")
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))  # as Ctrl-C would
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            sync_runs(runs, n_jobs=2, env_activation="sleep 41.75", timeout_s=30)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 10
    deadline = time.monotonic() + 5
    while _processes_running(b"sleep\x0041.75\x00") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_running(b"sleep\x0041.75\x00") == []
