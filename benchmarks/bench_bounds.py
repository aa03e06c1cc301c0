"""How fast oversized input is refused: schedules too large for --max_experiments, a huge recorder.

    python benchmarks/bench_bounds.py [--runs 5]

Each row is the median of ``--runs`` wall times of a real command in a throw-away project
(rows interleaved, so a noisy moment hits all alike), with its peak memory (max RSS of the
process). The floors are a bare interpreter, and the same interpreter building the
schedule's own 10^7-element list: what a schedule costs before alfred looks at it.

  prepare, SEEDS = range(10**7)               refused from len(SEEDS) before any value is read
  prepare, VARIATIONS of 10^7 values          refused from the lists' lengths once the schedule ran
  benchmark, a 3 GiB (sparse) recorder        refused by its size (fstat), the other seeds summarised
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAIN = textwrap.dedent('''
    import argparse
    from alfred.utils import Recorder

    def get_run_args(overwritten_cmd_line=None):
        parser = argparse.ArgumentParser()
        for name, default in (("alg_name", "a"), ("task_name", "t"), ("desc", ""), ("seed", 0), ("lr", 0.1)):
            parser.add_argument(f"--{name}", type=type(default), default=default)
        return parser.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

    def main(config, dir_tree, logger, pbar):
        r = Recorder(["step", "score"])
        r.write_to_tape({"step": 0, "score": config.lr})
        r.save(dir_tree.recorders_dir / "train_recorder.pkl")
''')
HEAD = "from main import get_run_args\nALG_NAMES = ['a']\nTASK_NAMES = ['t']\n"
SCHEDULES = {"grid_schedule_seeds.py": HEAD + "SEEDS = range(10**7)\nVARIATIONS = {'lr': [0.1]}\n",
             "grid_schedule_values.py": HEAD + "SEEDS = [1]\nVARIATIONS = {'lr': list(range(10**7))}\n",
             "grid_schedule_ok.py": HEAD + "SEEDS = [1, 2]\nVARIATIONS = {'lr': [0.1, 0.2]}\n"}


def timed(cmd: list[str], cwd: Path, expect: int) -> tuple[float, float]:
    """(wall s, max RSS MiB) of one child process (its own rusage, from wait4)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != expect:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}, expected {expect}")
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "main.py").write_text(MAIN)
        (project / "schedules").mkdir()
        for name, text in SCHEDULES.items():
            (project / "schedules" / name).write_text(text)
        py = sys.executable
        subprocess.run([py, "-m", "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_ok.py",
                        "--yes"], cwd=project, check=True, capture_output=True,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
        lst = ["--from_file", "schedules/list_searches_ok.txt"]
        subprocess.run([py, "-m", "alfred.launch_schedule", *lst, "--no_summary"], cwd=project, check=True,
                       capture_output=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
        recorder = next(project.glob("storage/*/experiment1/seed1/recorders/train_recorder.pkl"))
        with open(recorder, "r+b") as f:
            f.truncate(3 << 30)
        rows = {
            "bare interpreter (python -c pass)": ([py, "-c", "pass"], 0),
            "floor: python building {'lr': list(range(10**7))}": ([py, "-c", "x = {'lr': list(range(10**7))}"], 0),
            "prepare, SEEDS = range(10**7)": ([py, "-m", "alfred.prepare_schedule", "--schedule_file",
                                               "schedules/grid_schedule_seeds.py", "--yes"], 2),
            "prepare, VARIATIONS of 10^7 values": ([py, "-m", "alfred.prepare_schedule", "--schedule_file",
                                                    "schedules/grid_schedule_values.py", "--yes"], 2),
            "benchmark, one 3 GiB (sparse) recorder of 4": ([py, "-m", "alfred.benchmark", *lst, "--y_metric", "score",
                                                              "--re_run_if_exists", "--n_resamples", "1000"], 0),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in rows}
        for _ in range(args.runs):
            for name, (cmd, expect) in rows.items():
                times[name].append(timed(cmd, project, expect))
    print("| command | median wall (s) | min (s) | peak RSS (MiB) |\n|---|---:|---:|---:|")
    for name, ts in times.items():
        walls = [w for w, _ in ts]
        print(f"| {name} | {statistics.median(walls):.2f} | {min(walls):.2f} | {max(r for _, r in ts):.0f} |")


if __name__ == "__main__":
    main()
