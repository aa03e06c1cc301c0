"""The README's commands, run as a newcomer would: the README cannot drift from the code."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def bash_blocks(section: str) -> list[str]:
    """The ```bash blocks of a ``## <section>`` of the README, in order."""
    start = README.index(f"## {section}")
    end = README.find("\n## ", start + 3)
    text = README[start:end if end != -1 else None]
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def commands(block: str) -> list[str]:
    """One command per line (continuations joined), comments dropped."""
    joined = block.replace("\\\n", " ")
    lines = [line.split("  #")[0].strip() for line in joined.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def run_bash(command: str, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, input="y\n" * 50, capture_output=True,
                          text=True, timeout=timeout)


def python_env(bin_dir: Path | None = None) -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bin_dir or Path(sys.executable).parent), env["PATH"]])
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.slow
def test_quick_start_installs_and_runs_the_demo(tmp_path):
    demo_command = bash_blocks("Quick start")[0].strip()
    assert demo_command.startswith("pip install") and "alfred.demo" in demo_command
    # A fresh copy of the repository (what git tracks) and a fresh venv; the declared
    # dependencies come from this interpreter's site-packages, alfred itself is installed.
    checkout = tmp_path / "alfred"
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
        elif source.is_symlink():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(source), checkout / name)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=True)
    result = run_bash(demo_command, checkout, python_env(env_dir / "bin"), timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # The demo ran from the installed package, not from the checkout's sources.
    where = subprocess.run([str(env_dir / "bin" / "python"), "-c", "import alfred; print(alfred.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert str(env_dir) in where.stdout
    demo = checkout / "alfred_demo"
    assert len(list(demo.glob("storage/*/summary/bestConfig_exp*.json"))) == 4  # 2 searches + 2 retrains
    assert list(demo.glob("schedules/benchmark_retrains_demo/*.png"))
    assert "0 crashed" in result.stdout


@pytest.mark.slow
def test_typical_usage_steps_work_as_written(tmp_path):
    project = tmp_path / "my_ml_project"
    (project / "schedules").mkdir(parents=True)
    shutil.copy(REPO / "alfred" / "demo_project" / "main.py", project / "main.py")
    for schedule in (REPO / "schedules_examples").glob("*_schedule_*.py"):
        shutil.copy(schedule, project / "schedules" / schedule.name)
    env = python_env()
    env["PYTHONPATH"] = str(REPO)
    steps = [c for block in bash_blocks("Typical usage") for c in commands(block)]
    assert len([s for s in steps if "alfred." in s]) >= 8
    for step in steps:
        result = run_bash(step, project, env)
        assert result.returncode == 0, f"{step}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert len(list(project.glob("storage/*/summary/bestConfig_exp*.json"))) == 4
    assert list(project.glob("schedules/benchmark_searches_demo/*.png"))
    assert list(project.glob("schedules/benchmark_retrains_demo/*.png"))


def test_alias_block_works_pasted_into_bashrc(tmp_path):
    block = next(b for b in bash_blocks("One command, or aliases") if "alias alprep=" in b)
    bashrc = tmp_path / "bashrc"
    bashrc.write_text(block)
    names = re.findall(r"^alias (\w+)=", block, flags=re.M)
    assert {"alprep", "allaunch", "alclean", "alplot", "alretrain", "albench", "alsync", "alcopy"} <= set(names)
    script = ("shopt -s expand_aliases\nsource " + str(bashrc) + "\n"
              + "\n".join(f"{n} --help >/dev/null" for n in names))
    env = python_env()
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr


def test_readme_test_command_is_what_ci_runs():
    test_command = bash_blocks("Quick start")[1].strip()
    assert "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text()
