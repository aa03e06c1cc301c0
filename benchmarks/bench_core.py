"""alfred's own cost: prepare, per-run overhead of the worker loop, scaling, --help start-up.

    python benchmarks/bench_core.py                      # N = 1,000 10,000 100,000
    python benchmarks/bench_core.py --sizes 1000 10000   # quicker

For each N it prepares a grid search of N seeds (trivial main: writes a 1,000-point
recorder and returns), launches it with 1 and with 2 worker processes, and compares with
the floor: the same file operations in a bare Python loop on the same disk.

  prepare floor  per seed: mkdir + write config.json, config_unique.json, UNHATCHED
  run floor      per run:  rename UNHATCHED->OPENED, write OPENED (temp + replace),
                           read config.json, read OPENED, rename OPENED->COMPLETED,
                           write COMPLETED (temp + replace), mkdir recorders/ incrementals/
  overhead/run = launch wall time / N * processes - main's own time per run
  (launches run with --no_summary: the end-of-search summary is measured by bench_summary.py)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL_MAIN = '''
import argparse, os, time
import numpy as np
from alfred.utils import Recorder

def get_run_args(overwritten_cmd_line=None):
    p = argparse.ArgumentParser()
    for a in ("alg_name", "task_name", "desc"):
        p.add_argument("--" + a, default="x")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--cpu_ms", type=float, default=0.0)
    return p.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

def _spin(n):
    x = 0
    for i in range(n):
        x += i
    return x

# Calibrated once per process: a busy loop of pure Python arithmetic, no syscalls
# (time.process_time() in a loop would spend its "CPU work" in the kernel).
_t = time.perf_counter(); _spin(200_000); _ITER_PER_MS = 200_000 / ((time.perf_counter() - _t) * 1000)

def main(config, dir_tree, logger, pbar):
    if config.cpu_ms:
        _spin(int(config.cpu_ms * _ITER_PER_MS))
        return
    r = Recorder(["step", "score"])
    r.tape["step"] = list(range(1000))
    r.tape["score"] = np.linspace(0, 1, 1000).tolist()
    r.save(dir_tree.recorders_dir / "train_recorder.pkl")
'''


def schedule_text(n: int, cpu_ms: float = 0.0) -> str:
    return (f"from main import get_run_args\nALG_NAMES = ['a']\nTASK_NAMES = ['t']\nSEEDS = [1]\n"
            f"VARIATIONS = {{'lr': [i * 1e-6 for i in range({n})], 'cpu_ms': [{cpu_ms}]}}\n")


def make_project(base: Path, name: str, n: int, cpu_ms: float = 0.0) -> Path:
    project = base / name
    (project / "schedules").mkdir(parents=True)
    (project / "main.py").write_text(TRIVIAL_MAIN)
    (project / "schedules" / "grid_schedule_b.py").write_text(schedule_text(n, cpu_ms))
    return project


def run_alfred(project: Path, module: str, *args: str) -> float:
    """Wall time of ``python -m module args`` in the project, minus the interpreter start."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", module, *args], cwd=project, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{module} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return elapsed


def python_startup_s() -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import alfred"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor_prepare(base: Path, n: int) -> tuple[float, list[Path]]:
    root = base / "floor"
    root.mkdir()
    config = json.dumps({"alg_name": "a", "task_name": "t", "desc": "x", "seed": 1, "lr": 0.1}, indent=2)
    dirs = []
    start = time.perf_counter()
    for i in range(n):
        d = root / f"seed{i}"
        os.mkdir(d)
        for name, text in (("config.json", config), ("config_unique.json", config), ("UNHATCHED", "")):
            with open(d / name, "w") as f:
                f.write(text)
        dirs.append(d)
    return (time.perf_counter() - start) / n, dirs


def floor_run(dirs: list[Path]) -> float:
    info = json.dumps({"host": "h", "pid": 1, "token": "x" * 32}, indent=1)
    start = time.perf_counter()
    for d in dirs:
        os.rename(d / "UNHATCHED", d / "OPENED")
        for flag in ("OPENED",):
            with open(d / f".{flag}.tmp", "w") as f:
                f.write(info)
            os.replace(d / f".{flag}.tmp", d / flag)
        with open(d / "config.json") as f:
            json.load(f)
        with open(d / "OPENED") as f:
            json.load(f)
        os.mkdir(d / "recorders")
        os.mkdir(d / "incrementals")
        os.rename(d / "OPENED", d / "COMPLETED")
        with open(d / ".COMPLETED.tmp", "w") as f:
            f.write(info)
        os.replace(d / ".COMPLETED.tmp", d / "COMPLETED")
    return (time.perf_counter() - start) / len(dirs)


def main_time_per_run(project: Path, dirs: list[Path]) -> float:
    """The trivial main's own time, in a bare loop (first 2,000 floor folders)."""
    sys.path.insert(0, str(project))
    import importlib

    user = importlib.import_module("main")
    from alfred.utils import DirectoryTree

    config = user.get_run_args("")
    sample = dirs[:2000]
    start = time.perf_counter()
    for d in sample:
        user.main(config, DirectoryTree(d), None, None)
    sys.path.remove(str(project))
    return (time.perf_counter() - start) / len(sample)


def bench_size(base: Path, n: int, startup: float) -> list[dict]:
    rows = []
    project = make_project(base, f"p{n}", n)
    t_prep = run_alfred(project, "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_b.py", "--yes")
    floor_prep, floor_dirs = floor_prepare(base / f"p{n}", n)
    floor_r = floor_run(floor_dirs)
    t_main = main_time_per_run(project, floor_dirs)
    for procs in (1, 2):
        if procs == 2:  # fresh copy of the search for the second launch
            shutil.rmtree(project)
            project = make_project(base, f"p{n}", n)
            run_alfred(project, "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_b.py", "--yes")
        wall = run_alfred(project, "alfred.launch_schedule", "--from_file", "schedules/list_searches_b.txt",
                          "--n_processes", str(procs), "--log_level", "WARNING", "--no_summary") - startup
        per_run = wall / n * procs
        rows.append(dict(n=n, procs=procs, prep_ms=(t_prep - startup) / n * 1e3, prep_floor_ms=floor_prep * 1e3,
                         wall_s=wall, main_ms=t_main * 1e3, overhead_ms=(per_run - t_main) * 1e3,
                         floor_ms=floor_r * 1e3))
    shutil.rmtree(base / f"p{n}")
    return rows


def bench_parallel(base: Path, startup: float, n: int = 100, cpu_ms: float = 50.0) -> dict:
    rates = {}
    for procs in (1, 2):
        project = make_project(base, f"cpu{procs}", n, cpu_ms)
        run_alfred(project, "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_b.py", "--yes")
        wall = run_alfred(project, "alfred.launch_schedule", "--from_file", "schedules/list_searches_b.txt",
                          "--n_processes", str(procs), "--log_level", "WARNING", "--no_summary") - startup
        rates[procs] = n / wall
        shutil.rmtree(project)
    return rates


def bench_help() -> tuple[float, float]:
    def median_time(cmd):
        times = []
        for _ in range(7):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=tempfile.gettempdir())
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return median_time([sys.executable, "-m", "alfred.launch_schedule", "--help"]), median_time([sys.executable, "-c", "pass"])


def _print_parallel(rates: dict, n: int) -> None:
    print(f"\nmain of 50 ms CPU, {n} runs: 1 process {rates[1]:.1f} runs/s, 2 processes {rates[2]:.1f} runs/s, "
          f"speed-up {rates[2] / rates[1]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--dir", type=Path, default=None, help="where to build the searches (default: a temp dir)")
    parser.add_argument("--parallel_runs", type=int, default=300,
                        help="runs of the 50 ms main for the 1-vs-2 processes check (default: 300)")
    parser.add_argument("--only_parallel", action="store_true", help="run the 1-vs-2 processes check alone")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="alfred-bench-", dir=args.dir))
    try:
        startup = python_startup_s()
        if args.only_parallel:
            _print_parallel(bench_parallel(base, startup, n=args.parallel_runs), args.parallel_runs)
            return
        help_s, bare_s = bench_help()
        print(f"--help: {help_s * 1e3:.0f} ms (bare `python -c pass`: {bare_s * 1e3:.0f} ms); "
              f"interpreter + `import alfred` start-up subtracted below: {startup * 1e3:.0f} ms\n")
        print("| N seeds | procs | prepare ms/seed | floor | ratio | launch wall s | main ms/run | "
              "overhead ms/run | run floor ms | ratio |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.sizes:
            for r in bench_size(base, n, startup):
                print(f"| {r['n']:,} | {r['procs']} | {r['prep_ms']:.3f} | {r['prep_floor_ms']:.3f} | "
                      f"{r['prep_ms'] / r['prep_floor_ms']:.2f} | {r['wall_s']:.1f} | {r['main_ms']:.3f} | "
                      f"{r['overhead_ms']:.3f} | {r['floor_ms']:.3f} | {r['overhead_ms'] / r['floor_ms']:.2f} |",
                      flush=True)
        _print_parallel(bench_parallel(base, startup, n=args.parallel_runs), args.parallel_runs)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
