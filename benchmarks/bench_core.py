"""alfred's own cost: prepare, per-run overhead of the worker loop, scaling, --help start-up.

    python benchmarks/bench_core.py                      # N = 1,000 10,000 100,000
    python benchmarks/bench_core.py --sizes 1000 10000   # quicker

For each N it prepares a grid search of N seeds (one seed per experiment; trivial main:
writes a 1,000-point recorder and returns), launches it with 1 and with 2 worker processes,
and compares with the floor: the same file operations in a bare Python loop on the same disk.

  prepare        (wall time - interpreter start-up) / N; "per added seed" = (wall time -
                 the time to prepare a 1-seed search) / (N - 1), what one more seed costs
  prepare floor  per seed: mkdir experiment<N>/ and seed<S>/, create config.json and
                           config_unique.json (one write each) and UNHATCHED
  run floor      per run:  list the experiment folder, rename UNHATCHED->OPENED.<token>,
                           write one line into it, list attempts/ (none), mkdir runs/,
                           runs/<token>/ and its recorders/ incrementals/, read config.json,
                           append one line to the claim, rename it to COMPLETING.<token>,
                           rename recorders/ and incrementals/ to the seed folder, rename the
                           flag to COMPLETED, rmdir runs/<token>; then the worker's last pass:
                           list the experiment folder again, one failed rename
  overhead/run   = launch wall time / N - main's own time per run (the issue's definition:
                   with 2 processes it is the cost per run of the whole launch)
  per-process    = launch wall time / N * processes - main's own time per run (what one
                   run costs inside its process: with 2 processes it includes the
                   contention of two workers, the launcher and the kernel on 2 cores)
  (launches run with --no_summary: the end-of-search summary is measured by bench_summary.py)

Nothing is deleted until the end: ext4 skips inodes freed in the last ~30 s when it
allocates new ones, and after removing 100,000 folders that scan made every mkdir and
create of the next search cost up to 1 ms of kernel time.
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
    p.add_argument("--cpu_iters", type=int, default=0)
    return p.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

def _spin(n):
    x = 0
    for i in range(n):
        x += i
    return x

def main(config, dir_tree, logger, pbar):
    if config.cpu_iters:  # a fixed amount of pure-Python CPU work, no syscalls
        _spin(int(config.cpu_iters))
        return
    r = Recorder(["step", "score"])
    r.tape["step"] = list(range(1000))
    r.tape["score"] = np.linspace(0, 1, 1000).tolist()
    r.save(dir_tree.recorders_dir / "train_recorder.pkl")
'''


def schedule_text(n: int, cpu_iters: int = 0) -> str:
    return (f"from main import get_run_args\nALG_NAMES = ['a']\nTASK_NAMES = ['t']\nSEEDS = [1]\n"
            f"VARIATIONS = {{'lr': [i * 1e-6 for i in range({n})], 'cpu_iters': [{cpu_iters}]}}\n")


def make_project(base: Path, name: str, n: int, cpu_iters: int = 0) -> Path:
    project = base / name
    (project / "schedules").mkdir(parents=True)
    (project / "main.py").write_text(TRIVIAL_MAIN)
    (project / "schedules" / "grid_schedule_b.py").write_text(schedule_text(n, cpu_iters))
    return project


def spin_iters_per_ms() -> float:
    """Iterations of the main's busy loop per ms, best of 7 (measured here, once: a
    calibration inside each worker would run while the other worker starts, and give
    the two launches different amounts of work)."""
    ns = {}
    exec(TRIVIAL_MAIN.split("def main")[0], ns)
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        ns["_spin"](200_000)
        best = min(best, time.perf_counter() - start)
    return 200_000 / (best * 1000)


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


def _create(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.close(fd)


def _write(path: str, data: bytes, flags: int) -> None:
    fd = os.open(path, os.O_WRONLY | flags)
    os.write(fd, data)
    os.close(fd)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def floor_prepare(base: Path, n: int) -> tuple[float, list[str]]:
    root = base / "floor"
    root.mkdir()
    config = json.dumps({"alg_name": "a", "task_name": "t", "desc": "x", "seed": 1, "lr": 0.1}, indent=2).encode()
    dirs = []
    start = time.perf_counter()
    for i in range(n):
        e = f"{root}/experiment{i}"
        os.mkdir(e)
        d = e + "/seed1"
        os.mkdir(d)
        _create(d + "/config.json", config)
        _create(d + "/config_unique.json", config)
        _create(d + "/UNHATCHED", b"")
        dirs.append(d)
    return (time.perf_counter() - start) / n, dirs


def floor_run(dirs: list[str]) -> float:
    opened = (json.dumps({"host": "h", "pid": 1, "token": "x" * 16, "start_time": "2026-01-01 00:00:00"})
              + "\n").encode()
    ended = (json.dumps({"end_time": "2026-01-01 00:00:00", "duration_s": 0.001}) + "\n").encode()
    start = time.perf_counter()
    for d in dirs:
        claim = d + "/OPENED.0123456789abcdef"
        os.listdir(os.path.dirname(d))
        os.rename(d + "/UNHATCHED", claim)
        _write(claim, opened, os.O_TRUNC)
        try:  # no earlier attempt to resume from
            os.listdir(d + "/attempts")
        except FileNotFoundError:
            pass
        run = d + "/runs/0123456789abcdef"
        os.mkdir(d + "/runs")
        os.mkdir(run)
        os.mkdir(run + "/recorders")
        os.mkdir(run + "/incrementals")
        json.loads(_read(d + "/config.json"))
        _write(claim, ended, os.O_APPEND)
        os.rename(claim, d + "/COMPLETING.0123456789abcdef")  # decided
        os.rename(run + "/recorders", d + "/recorders")  # published
        os.rename(run + "/incrementals", d + "/incrementals")
        os.rename(d + "/COMPLETING.0123456789abcdef", d + "/COMPLETED")
        os.rmdir(run)
    for d in dirs:  # the last pass, which finds nothing left
        os.listdir(os.path.dirname(d))
        try:
            os.rename(d + "/UNHATCHED", d + "/OPENED.0123456789abcdef")
        except FileNotFoundError:
            pass
    return (time.perf_counter() - start) / len(dirs)


def main_time_per_run(project: Path, dirs: list[str]) -> float:
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


def prepare_fixed_s(base: Path) -> float:
    """prepare_schedule's cost that does not grow with N (interpreter, importing the schedule
    and main.py with numpy, git calls, the list file): the median of 3 preparations of one seed."""
    times = []
    for k in range(3):
        project = make_project(base, f"fixed{k}", 1)
        times.append(run_alfred(project, "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_b.py",
                                "--yes"))
    return statistics.median(times)


def bench_size(base: Path, n: int, startup: float, fixed: float) -> list[dict]:
    rows = []
    here = base / f"n{n}"
    here.mkdir()
    floor_prep = floor_dirs = None
    for procs in (1, 2):
        project = make_project(here, f"p{procs}", n)
        t_prep = run_alfred(project, "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_b.py",
                            "--yes")
        if floor_dirs is None:
            floor_prep, floor_dirs = floor_prepare(here, n)
            floor_r = floor_run(floor_dirs)
            t_main = main_time_per_run(project, floor_dirs)
        wall = run_alfred(project, "alfred.launch_schedule", "--from_file", "schedules/list_searches_b.txt",
                          "--n_processes", str(procs), "--log_level", "WARNING", "--no_summary") - startup
        rows.append(dict(n=n, procs=procs, prep_ms=(t_prep - startup) / n * 1e3, prep_floor_ms=floor_prep * 1e3,
                         prep_marginal_ms=(t_prep - fixed) / (n - 1) * 1e3,
                         wall_s=wall, main_ms=t_main * 1e3, overhead_ms=(wall / n - t_main) * 1e3,
                         per_process_ms=(wall / n * procs - t_main) * 1e3, floor_ms=floor_r * 1e3))
    return rows


def bare_launch(n: int, procs: int, iters: int) -> float:
    """Wall time of the same CPU work without alfred: ``procs`` interpreters started at once,
    each running its share of the ``n`` busy loops (the machine's own parallel floor)."""
    code = TRIVIAL_MAIN.split("def main")[0] + f"\nfor _ in range({{}}):\n    _spin({iters})\n"
    shares = [n // procs + (k < n % procs) for k in range(procs)]
    start = time.perf_counter()
    running = [subprocess.Popen([sys.executable, "-c", code.format(share)]) for share in shares]
    for process in running:
        if process.wait() != 0:
            raise SystemExit("the bare parallel loop failed")
    return time.perf_counter() - start


def bench_parallel(base: Path, n: int = 200, cpu_ms: float = 50.0, repeats: int = 5) -> dict:
    """Runs per second with 1 and with 2 processes, alfred's launches alternated with the
    same work in bare interpreters, ``repeats`` times. This VM's cores change speed with
    the load of its host (one busy core may run faster than two), so each speed-up is the
    ratio of neighbouring runs, and the bare speed-up is what the machine allows."""
    iters = round(cpu_ms * spin_iters_per_ms())
    rates: dict[int, list[float]] = {1: [], 2: []}
    bare: dict[int, list[float]] = {1: [], 2: []}
    for r in range(repeats):
        for procs in (1, 2):
            project = make_project(base, f"cpu{procs}-{r}", n, iters)
            run_alfred(project, "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_b.py", "--yes")
            wall = run_alfred(project, "alfred.launch_schedule", "--from_file", "schedules/list_searches_b.txt",
                              "--n_processes", str(procs), "--log_level", "WARNING", "--no_summary")
            rates[procs].append(n / wall)
            bare[procs].append(n / bare_launch(n, procs, iters))
    ratios = [two / one for one, two in zip(rates[1], rates[2])]
    bare_ratios = [two / one for one, two in zip(bare[1], bare[2])]
    return {"rates": rates, "ratios": ratios, "speedup": statistics.median(ratios), "iters": iters,
            "bare": bare, "bare_ratios": bare_ratios, "bare_speedup": statistics.median(bare_ratios)}


def bench_help() -> tuple[float, float]:
    def median_time(cmd):
        times = []
        for _ in range(7):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=tempfile.gettempdir())
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return (median_time([sys.executable, "-m", "alfred.launch_schedule", "--help"]),
            median_time([sys.executable, "-c", "pass"]))


def _print_parallel(result: dict, n: int) -> None:
    def fmt(values, spec=".1f"):
        return ", ".join(format(v, spec) for v in values)

    print(f"\nmain of 50 ms CPU ({result['iters']:,} loop iterations), {n} runs per launch, "
          f"{len(result['ratios'])} rounds (interpreter start-up included in both):")
    print("| | 1 process runs/s | 2 processes runs/s | speed-ups | median speed-up |")
    print("|---|---|---|---|---:|")
    print(f"| alfred launch_schedule | {fmt(result['rates'][1])} | {fmt(result['rates'][2])} | "
          f"{fmt(result['ratios'], '.2f')} | {result['speedup']:.2f}x |")
    print(f"| bare interpreters (floor) | {fmt(result['bare'][1])} | {fmt(result['bare'][2])} | "
          f"{fmt(result['bare_ratios'], '.2f')} | {result['bare_speedup']:.2f}x |")
    print(f"alfred's speed-up / the bare one: {result['speedup'] / result['bare_speedup']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--dir", type=Path, default=None, help="where to build the searches (default: a temp dir)")
    parser.add_argument("--parallel_runs", type=int, default=200,
                        help="runs of the 50 ms main per launch of the 1-vs-2 processes check (default: 200)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternated rounds of the 1-vs-2 processes check (default: 5)")
    parser.add_argument("--only_parallel", action="store_true", help="run the 1-vs-2 processes check alone")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="alfred-bench-", dir=args.dir))
    try:
        startup = python_startup_s()
        if args.only_parallel:
            _print_parallel(bench_parallel(base, n=args.parallel_runs, repeats=args.rounds), args.parallel_runs)
            return
        help_s, bare_s = bench_help()
        print(f"--help: {help_s * 1e3:.0f} ms (bare `python -c pass`: {bare_s * 1e3:.0f} ms); "
              f"interpreter + `import alfred` start-up subtracted below: {startup * 1e3:.0f} ms")
        # First, while the disk is idle: writeback after 100,000 runs takes CPU from both cores.
        _print_parallel(bench_parallel(base, n=args.parallel_runs, repeats=args.rounds), args.parallel_runs)
        print()
        fixed = prepare_fixed_s(base)
        print(f"prepare_schedule of a 1-seed search (what does not grow with N): {fixed * 1e3:.0f} ms\n")
        print("| N seeds | procs | prepare ms/seed | per added seed | floor | ratio | launch wall s | main ms/run | "
              "overhead ms/run | per-process ms/run | run floor ms | per-process / floor |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.sizes:
            for r in bench_size(base, n, startup, fixed):
                print(f"| {r['n']:,} | {r['procs']} | {r['prep_ms']:.3f} | {r['prep_marginal_ms']:.3f} | "
                      f"{r['prep_floor_ms']:.3f} | {r['prep_marginal_ms'] / r['prep_floor_ms']:.2f} | "
                      f"{r['wall_s']:.1f} | {r['main_ms']:.3f} | "
                      f"{r['overhead_ms']:.3f} | {r['per_process_ms']:.3f} | {r['floor_ms']:.3f} | "
                      f"{r['per_process_ms'] / r['floor_ms']:.2f} |", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
