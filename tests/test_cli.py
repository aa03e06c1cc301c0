"""The ``alfred`` command and every ``python -m alfred.X`` entry point: help, dispatch, cheap imports."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO, grid_schedule

from alfred import cli

HEAVY = ("numpy", "pandas", "matplotlib", "seaborn", "wandb")

# Every alfred/<name>.py that runs as ``python -m alfred.<name>``.
ENTRY_POINTS = sorted(p.stem for p in (REPO / "alfred").glob("*.py")
                      if p.stem not in ("__init__", "__main__")
                      and re.search(r'^if __name__ == "__main__":', p.read_text(encoding="utf-8"), re.MULTILINE))


def run_python(*args: str, project=None, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    env = project.env() if project is not None else None
    if env is None:
        import os
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False,
                          cwd=project.path if project is not None else REPO, env=env, **kwargs)


def test_entry_points_found():
    assert {"prepare_schedule", "launch_schedule", "clean_interrupted", "status", "copy_config", "cli"} \
        <= set(ENTRY_POINTS)


def check_lists_subcommands(text: str) -> None:
    for sub, (module, _, description) in cli.COMMANDS.items():
        assert re.search(rf"^  {sub} +{re.escape(description)}  \[{module}\]$", text, re.MULTILINE), sub


@pytest.mark.parametrize("args", [["-m", "alfred"], ["-m", "alfred", "--help"], ["-m", "alfred.cli", "-h"]])
def test_python_m_alfred_lists_subcommands(args):
    out = run_python(*args)
    assert out.returncode == 0, out.stderr
    check_lists_subcommands(out.stdout)


def test_console_script_lists_subcommands():
    exe = shutil.which("alfred")
    if exe is None:
        pytest.skip("the alfred console script is not installed (pip install -e .)")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    check_lists_subcommands(out.stdout)


def test_table_matches_modules_on_disk():
    """Each subcommand names a module of the package that runs as ``python -m`` (defines main),
    and every script module of the package has a subcommand (aliases and the demo aside)."""
    for sub, (module, alias, description) in cli.COMMANDS.items():
        path = REPO / (module.replace(".", "/") + ".py")
        assert path.is_file(), f"{sub}: {path} does not exist"
        assert re.search(r"^def main\(", path.read_text(encoding="utf-8"), re.MULTILINE), f"{module} has no main()"
        assert alias.startswith("al") and description
    listed = {module for module, _, _ in cli.COMMANDS.values()}
    others = {"alfred.cli", "alfred.demo", "alfred.synch_wandb", "alfred.make_comparative_plots"}
    assert {f"alfred.{m}" for m in ENTRY_POINTS} - others == listed


def test_subcommand_runs_the_module_with_its_args(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["status", "--help"])
    assert e.value.code == 0
    assert "--watch" in capsys.readouterr().out


def test_missing_module_and_unknown_subcommand(capsys, monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "ghost", ("alfred.no_such_module", "alghost", "not written yet"))
    assert cli.main(["ghost", "--help"]) == 2
    err = capsys.readouterr().err
    assert err == "alfred ghost: alfred.no_such_module is not available in this installation of alfred\n"
    assert cli.main(["stauts"]) == 2
    err = capsys.readouterr().err
    assert "unknown subcommand 'stauts'" in err and "did you mean 'status'" in err and err.count("\n") == 1


def test_aliases_and_version():
    out = run_python("-m", "alfred", "--aliases")
    assert out.returncode == 0
    assert "alias alstatus='python -m alfred.status'" in out.stdout.splitlines()
    assert "alias alcopy='python -m alfred.copy_config'" in out.stdout.splitlines()
    out = run_python("-m", "alfred", "--version")
    assert re.match(r"^alfred \d+\.\d+", out.stdout)


def test_prep_status_launch_end_to_end(project):
    project.write_schedule("grid_schedule_cli.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=[1, 2]))
    exe = shutil.which("alfred")
    prep = [exe] if exe else [sys.executable, "-m", "alfred"]
    out = subprocess.run([*prep, "prep", "--schedule_file", "schedules/grid_schedule_cli.py", "--yes"],
                         cwd=project.path, env=project.env(), capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    (storage,) = project.storage_dirs()
    assert len(list(storage.glob("experiment*/seed*/UNHATCHED"))) == 4
    out = project.run_module("alfred", "status", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["storage_dirs"][0]["unhatched"] == 4
    out = project.run_module("alfred", "launch", "--from_file", "schedules/list_searches_cli.txt")
    assert out.returncode == 0, out.stdout + out.stderr
    out = project.run_module("alfred", "status", "--from_file", "schedules/list_searches_cli.txt")
    assert out.returncode == 0 and "100%" in out.stdout
    out = project.run_module("alfred", "prep", "--schedule_file", "schedules/missing.py", "--yes")
    assert out.returncode == 2 and out.stderr.startswith("error:") and out.stderr.count("\n") == 1


def test_launch_use_pbar_two_processes(project):
    """--use_pbar with 2 worker processes: one bar per worker (position = its slot, erased when
    the run ends), runs complete, and the launcher's lines on stdout stay intact."""
    (project.path / "main.py").write_text(project.path.joinpath("main.py").read_text().replace(
        "    time.sleep(config.sleep_s)",
        "    for _ in range(5):\n        time.sleep(config.sleep_s / 5)\n        if pbar is not None:\n"
        "            pbar.update(1)"))
    schedule = project.write_schedule("grid_schedule_pb.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3, 0.4], "sleep_s": [0.3]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    out = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_pb.txt",
                             "--n_processes", "2", "--use_pbar")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    done = r"^done in [\d.]+ s: 4 run\(s\) completed, 0 crashed, 0 worker\(s\) died$"
    assert re.search(done, out.stdout, re.MULTILINE)
    assert len(project.calls()) == 4
    bars = re.findall(r"(\d+-w\d) experiment\d+/seed1: +\d+it", out.stderr)
    assert {b.rsplit("-", 1)[1] for b in bars} == {"w0", "w1"}, out.stderr[-2000:]
    # The launcher's overall bar counts every run of both workers.
    assert re.findall(r"runs done: (\d+)", out.stderr)[-1] == "4", out.stderr[-2000:]


# Import weight ------------------------------------------------------------------------

def heavy_check(body: str) -> str:
    """A script running ``body`` (top-level code), then printing the heavy modules imported and the time."""
    return ("import json, runpy, sys, time\nt = time.perf_counter()\n" + textwrap.dedent(body).strip() + "\n"
            f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], "
            "'s': time.perf_counter() - t}))\n")


@pytest.mark.parametrize("body", [
    "import alfred",
    "from alfred.utils import *",
    "import alfred.cli",
    "import alfred.status, alfred.copy_config, alfred.clean_interrupted, alfred.prepare_schedule",
])
def test_imports_stay_light(body):
    out = run_python("-c", heavy_check(body))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["heavy"] == []
