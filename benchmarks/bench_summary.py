"""How long ``python -m alfred.benchmark`` takes to summarise a large search, and where the time goes.

Usage: ``python benchmarks/bench_summary.py [--cases small,large] [--data_dir DIR] [--repeat N]``.

Each case writes a synthetic grid storage dir of COMPLETED seeds, each with a
``recorders/train_recorder.pkl`` (a Recorder tape of Python lists, ``step`` and ``score``, as
``Recorder.save`` writes it), then, per repeat:

1. runs the whole command a user runs, ``python -X importtime -m alfred.benchmark
   --storage_names <it> --re_run_if_exists`` (10,000 resamples, every figure and file), in a
   fresh process: its wall time, the time it spent importing (the sum of the top-level
   imports ``-X importtime`` reports, lazy ones included) and its peak RSS;
2. runs ``summarize_search`` in another fresh process that first imports what the command
   imported (not timed), with timers around the phases:

  load     reading the recorders and turning their lists into arrays (alfred.results.loading),
           in as many processes as there are cores (alfred.results.parallel), wall time
  compute  the rest of scoring: seed scores, bootstrap intervals, P(best), learning-curve bands
  draw     the figures (alfred.results.figures), PNG, one per process, wall time
  other    summary.txt/json, seed scores, the folder swap

Every recorder is read once before (not timed), so the page cache holds them, as it does
right after a launch; a cold cache adds the disk's time to ``load``. Shares are of the whole
command's wall time; what they leave is the interpreter's start and the command's own work.
With ``--repeat`` the medians are printed. Targets (issue 19): small <= 2.5 s and large
<= 15 s for the whole command, figures drawn, on the 2-core development machine (issue 12's:
large <= 1 GiB peak).
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]

CASES = {  # name: (n_experiments, n_seeds per experiment, n_steps)
    "small": (1000, 3, 1000),
    "large": (1000, 100, 1000),
}
NAME = "Be1_nogit_algA_taskA_grid_bench"
PHASES = ("load", "compute", "draw", "other")


def write_search(root: Path, n_experiments: int, n_seeds: int, n_steps: int) -> Path:
    """A grid storage dir of completed seeds, written with plain syscalls (not timed)."""
    import pickle

    storage = root / NAME
    storage.mkdir(parents=True)
    (storage / "GRID_SEARCH").touch()
    (storage / "variations.json").write_text(json.dumps({"lr": list(range(n_experiments))}))
    rng = np.random.default_rng(0)
    steps = list(range(n_steps))
    t = np.linspace(0, 1, n_steps)
    for e in range(1, n_experiments + 1):
        exp_dir = storage / f"experiment{e}"
        exp_dir.mkdir()
        level = rng.uniform(0, 1)
        for s in range(1, n_seeds + 1):
            seed_dir = exp_dir / f"seed{s}"
            os.mkdir(seed_dir)
            os.mkdir(seed_dir / "recorders")
            unique = json.dumps({"lr": e, "alg_name": "algA", "task_name": "taskA", "seed": s})
            with open(seed_dir / "config_unique.json", "w") as f:
                f.write(unique)
            os.close(os.open(seed_dir / "COMPLETED", os.O_CREAT | os.O_WRONLY))
            score = (level * (1 - np.exp(-5 * t)) + 0.05 * rng.standard_normal(n_steps)).tolist()
            with open(seed_dir / "recorders" / "train_recorder.pkl", "wb") as f:
                pickle.dump({"step": steps, "score": score}, f, protocol=pickle.HIGHEST_PROTOCOL)
    (storage / "prepare_info.json").write_text(json.dumps({"alg_name": "algA", "task_name": "taskA"}))  # last:
    return storage  # marks the search complete for reuse


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


def whole_command(storage: Path) -> dict:
    """Wall time, import time, peak RSS and imported top-level modules of the real command."""
    cmd = [sys.executable, "-X", "importtime", "-m", "alfred.benchmark", "--storage_names", storage.name,
           "--root_dir", str(storage.parent), "--re_run_if_exists"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err.seek(0)
        log = err.read().decode(errors="replace")
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"alfred.benchmark failed:\n{stdout}\n{log[-3000:]}")
    imported, every, import_us = [], set(), 0
    for line in log.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit():
            continue
        every.add(name.strip().split(".")[0])
        if not name.startswith("  "):  # a top-level import (eager or lazy)
            import_us += int(cumulative)
            imported.append(name.strip())
    return {"wall_s": wall, "import_s": import_us / 1e6, "peak_rss_mib": usage.ru_maxrss / 1024,
            "imported": imported, "packages": every, "stdout": stdout}


def warm_cache(storage: Path) -> float:
    """Read every recorder once (the page cache then holds them, as after a launch); seconds."""
    t = time.perf_counter()
    for root, _, files in os.walk(storage):
        for name in files:
            if name.startswith("train_recorder"):
                with open(os.path.join(root, name), "rb") as f:
                    f.read()
    return time.perf_counter() - t


def timed_phases(storage: Path, imported: list[str]) -> dict:
    """In this (fresh) process: summarize_search with timers around its phases."""
    import importlib

    for name in imported:  # what the command imports, so that no phase pays for an import
        try:
            importlib.import_module(name)
        except Exception:
            pass
    from alfred.results import scoring, summary

    spent = dict.fromkeys(PHASES, 0.0)

    inside = []  # set while the parallel read runs: its iter_curves calls are in its own wall time

    def timed_generator(fn):
        def wrapper(*args, **kwargs):
            if any(inside):
                yield from fn(*args, **kwargs)
                return
            it = fn(*args, **kwargs)
            while True:
                t = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    spent["load"] += time.perf_counter() - t
                    return
                spent["load"] += time.perf_counter() - t
                yield item
        return wrapper

    def timed(fn, phase):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            inside.append(phase == "load")
            try:
                return fn(*args, **kwargs)
            finally:
                inside.pop()
                spent[phase] += time.perf_counter() - t
        return wrapper

    # Wall time of each phase, in this process: reading and drawing run in forked processes
    # (alfred.results.parallel), whose own time would not add up here. "load" is the parallel
    # read of every recorder plus curve_bands' second read of the top experiments' (iter_curves
    # is timed only outside the parallel read, which times its own children's work as wall time).
    scoring.load_seed_scores = timed(scoring.load_seed_scores, "load")
    scoring.iter_curves = timed_generator(scoring.iter_curves)
    for name in ("compute_search_scores", "curve_bands"):
        setattr(summary, name, timed(getattr(summary, name), "compute"))
    summary.fork_map = timed(summary.fork_map, "draw")
    t = time.perf_counter()
    result = summary.summarize_search(storage, re_run_if_exists=True)
    total = time.perf_counter() - t
    spent["compute"] -= spent["load"]  # loading happens inside the scoring calls
    spent["other"] = total - spent["load"] - spent["compute"] - spent["draw"]
    return {**spent, "total_s": total, "best": result["best_experiment"], "loaded": result["load_report"]["loaded"],
            "p_best": result["p_best"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="small,large")
    parser.add_argument("--data_dir", type=Path, default=None,
                        help="keep the synthetic searches in <data_dir>/<case>/ and reuse them on later runs "
                             "(default: a temp folder, removed)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement (medians printed)")
    parser.add_argument("--case_dir", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--imported", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case_dir is not None:
        sys.path.insert(0, str(REPO))
        print(json.dumps(timed_phases(args.case_dir, [m for m in args.imported.split(",") if m])))
        return
    rows = []
    for name in args.cases.split(","):
        n_exp, n_seeds, n_steps = CASES[name]
        root = Path(tempfile.mkdtemp(prefix=f"bench_summary_{name}_")) if args.data_dir is None \
            else args.data_dir / name
        try:
            if (root / NAME / "prepare_info.json").exists():
                storage = root / NAME  # reused
            else:
                shutil.rmtree(root / NAME, ignore_errors=True)
                t = time.perf_counter()
                storage = write_search(root, n_exp, n_seeds, n_steps)
                print(f"{name}: wrote the search in {time.perf_counter() - t:.0f} s", file=sys.stderr)
            print(f"{name}: read every recorder once in {warm_cache(storage):.1f} s (page cache warm)", file=sys.stderr)
            commands, phases = [], []
            for _ in range(args.repeat):
                commands.append(whole_command(storage))
                out = subprocess.run([sys.executable, __file__, "--case_dir", str(storage),
                                      "--imported", ",".join(commands[-1]["imported"])],
                                     capture_output=True, text=True, check=True, env=_env(), cwd=REPO)
                phases.append(json.loads(out.stdout.strip().splitlines()[-1]))
            med = {k: statistics.median(c[k] for c in commands) for k in ("wall_s", "import_s", "peak_rss_mib")}
            med.update({k: statistics.median(p[k] for p in phases) for k in PHASES})
            heavy = sorted(commands[-1]["packages"] & {"numpy", "matplotlib", "seaborn", "pandas", "scipy", "PIL"})
            rows.append((name, n_exp, n_seeds, n_steps, med, heavy, phases[-1]))
        finally:
            if args.data_dir is None:
                shutil.rmtree(root, ignore_errors=True)
    print(f"{'case':<6} {'experiments x seeds x steps':>28} {'command':>8} {'import':>13} {'load':>13} "
          f"{'compute':>13} {'draw':>13} {'other':>12} {'peak RSS':>9}")
    for name, n_exp, n_seeds, n_steps, m, heavy, last in rows:
        def cell(v: float, width: int = 13) -> str:
            return f"{v:5.2f}s {100 * v / m['wall_s']:3.0f}%".rjust(width)

        print(f"{name:<6} {f'{n_exp} x {n_seeds} x {n_steps}':>28} {m['wall_s']:7.2f}s {cell(m['import_s'])} "
              f"{cell(m['load'])} {cell(m['compute'])} {cell(m['draw'])} {cell(m['other'], 12)} "
              f"{m['peak_rss_mib']:5.0f} MiB")
        print(f"{'':<6} heavy packages imported: {', '.join(heavy) or 'none'}; best experiment{last['best']}, "
              f"{last['loaded']} seeds loaded, P(best) {last['p_best']}")


if __name__ == "__main__":
    main()
