"""Time and peak memory of summarising a large synthetic search (alfred.results.summary.summarize_search).

Usage: ``python benchmarks/bench_summary.py [--cases small,large] [--data_dir DIR]``.

Each case writes a synthetic storage dir of COMPLETED seeds with a ``recorders/train_recorder.pkl``
(a Recorder tape: Python lists of ``step`` and ``score``, as a real run saves it) into a temp
folder, then summarises it in a fresh subprocess (so peak RSS is that of the summary alone:
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of a process that imports alfred, reads every
recorder, bootstraps and draws). Columns:

  load+stats  reading every recorder, seed scores, bootstrap CIs of every experiment (10,000
              resamples), the top experiments' curve CIs -- everything but figures and files
  total       the whole summarize_search call: + figures (png+pdf) and the summary files
  import      importing alfred.benchmark and the plotting stack (matplotlib, seaborn)
  peak RSS    of the summarising process, interpreter and imports included

Targets from the issue: small (3,000 seeds x 1,000 steps): <= 5 s and <= 1 GiB;
large (100,000 seeds x 1,000 steps): <= 2 GiB.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CASES = {  # name: (n_experiments, n_seeds per experiment, n_steps)
    "small": (1000, 3, 1000),
    "large": (1000, 100, 1000),
}
NAME = "Be1_nogit_algA_taskA_grid_bench"


def write_search(root: Path, n_experiments: int, n_seeds: int, n_steps: int) -> Path:
    """A grid storage dir of completed seeds, written with plain syscalls (not timed)."""
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


def run_case(storage: Path) -> dict:
    """In this (fresh) process: summarise, report times and peak RSS."""
    t0 = time.perf_counter()
    from alfred.results import scoring, settings, summary
    # the plotting stack, timed as import (alfred.utils.plots imports it on first use)
    import matplotlib.pyplot  # noqa: F401
    import seaborn  # noqa: F401
    t_import = time.perf_counter() - t0
    chosen = settings.resolve_settings(storage, {"y_metric": "score", "x_metric": "step"})
    t1 = time.perf_counter()
    scores = scoring.compute_search_scores(storage, chosen, n_resamples=10_000, seed=0)
    top = [scores.experiments[i] for i in scores.order[:summary.TOP_K_CURVES]]
    scoring.curve_bands(storage, chosen, top, n_resamples=summary.CURVE_RESAMPLES, seed=0)
    t_stats = time.perf_counter() - t1
    del scores
    t2 = time.perf_counter()
    result = summary.summarize_search(storage, y_metric="score", x_metric="step", n_resamples=10_000)
    t_total = time.perf_counter() - t2
    return {"import_s": t_import, "load_stats_s": t_stats, "total_s": t_total,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "best": result["best_experiment"], "loaded": result["load_report"]["loaded"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="small,large")
    parser.add_argument("--data_dir", type=Path, default=None,
                        help="keep the synthetic searches in <data_dir>/<case>/ and reuse them on later runs "
                             "(default: a temp folder, removed)")
    parser.add_argument("--case_dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case_dir is not None:
        print(json.dumps(run_case(args.case_dir)))
        return
    rows = []
    for name in args.cases.split(","):
        n_exp, n_seeds, n_steps = CASES[name]
        root = Path(tempfile.mkdtemp(prefix=f"bench_summary_{name}_")) if args.data_dir is None \
            else args.data_dir / name
        try:
            t = time.perf_counter()
            if (root / NAME / "prepare_info.json").exists():
                storage, t_write = root / NAME, float("nan")  # reused
            else:
                shutil.rmtree(root / NAME, ignore_errors=True)
                storage = write_search(root, n_exp, n_seeds, n_steps)
                t_write = time.perf_counter() - t
            out = subprocess.run([sys.executable, __file__, "--case_dir", str(storage)], capture_output=True,
                                 text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((name, n_exp, n_seeds, n_steps, t_write, result))
        finally:
            if args.data_dir is None:
                shutil.rmtree(root, ignore_errors=True)
    print(f"{'case':<6} {'experiments x seeds x steps':>28} {'write':>7} {'import':>7} {'load+stats':>10} "
          f"{'total':>7} {'peak RSS':>9}")
    for name, n_exp, n_seeds, n_steps, t_write, r in rows:
        shape = f"{n_exp} x {n_seeds} x {n_steps}"
        print(f"{name:<6} {shape:>28} {t_write:>6.1f}s {r['import_s']:>6.1f}s {r['load_stats_s']:>9.1f}s "
              f"{r['total_s']:>6.1f}s {r['peak_rss_mib']:>6.0f} MiB")


if __name__ == "__main__":
    main()
