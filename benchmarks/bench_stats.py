"""Time and peak memory of ``bootstrap_mean_ci`` against naive per-step bootstraps.

Usage: ``python benchmarks/bench_stats.py`` (each case runs in its own subprocess so that
peak-RSS figures do not leak between cases; ``--case NAME`` runs one case and prints JSON).

Columns: ``time`` is wall-clock seconds of one call (best of ``--repeat``); ``CPU`` is the
process CPU seconds of that call summed over BLAS threads (less sensitive to other load on
the machine); ``extra peak`` is the tracemalloc peak of numpy/Python allocations made
during the call (input data excluded); ``max RSS`` is the process's peak resident memory
(interpreter + numpy + data).
Rows marked "extrapolated" run a fraction of the work and scale the time up linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from alfred.utils.stats import bootstrap_mean_ci  # noqa: E402

N_RESAMPLES = 10_000


def naive_per_step(x: np.ndarray, n_resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-step loop, resamples vectorised: fresh (n_resamples, n_runs) indices per step."""
    rng = np.random.default_rng(seed)
    lower, upper = np.empty(x.shape[1]), np.empty(x.shape[1])
    for j, column in enumerate(np.ascontiguousarray(x.T)):
        means = column[rng.integers(0, len(x), size=(n_resamples, len(x)))].mean(axis=1)
        lower[j], upper[j] = np.percentile(means, [2.5, 97.5])
    return lower, upper


def naive_double_loop(x: np.ndarray, n_resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Loops over steps and resamples in Python, one ``rng.choice`` per resample."""
    rng = np.random.default_rng(seed)
    lower, upper = np.empty(x.shape[1]), np.empty(x.shape[1])
    for j in range(x.shape[1]):
        means = [rng.choice(x[:, j], size=len(x)).mean() for _ in range(n_resamples)]
        lower[j], upper[j] = np.percentile(means, [2.5, 97.5])
    return lower, upper


# name -> (label, n_runs, n_steps run, function of x, extrapolation factor to the full case)
CASES: dict[str, tuple[str, int, int, Callable[[np.ndarray], object], float]] = {
    "vectorised_300": (
        "bootstrap_mean_ci 300x1000, 10k resamples", 300, 1000,
        lambda x: bootstrap_mean_ci(x, n_resamples=N_RESAMPLES, seed=0), 1.0,
    ),
    "vectorised_3000": (
        "bootstrap_mean_ci 3000x1000, 10k resamples", 3000, 1000,
        lambda x: bootstrap_mean_ci(x, n_resamples=N_RESAMPLES, seed=0), 1.0,
    ),
    "naive_per_step_300": (
        "naive per-step loop 300x1000 (ran 1k resamples, extrapolated x10)", 300, 1000,
        lambda x: naive_per_step(x, N_RESAMPLES // 10, 0), 10.0,
    ),
    "naive_double_loop_300": (
        "naive double Python loop 300x1000 (ran 10 steps x 1k resamples, extrapolated x1000)",
        300, 10, lambda x: naive_double_loop(x, N_RESAMPLES // 10, 0), 1000.0,
    ),
}


def run_case(name: str, repeat: int) -> dict[str, float]:
    _, n_runs, n_steps, fn, factor = CASES[name]
    x = np.random.default_rng(0).normal(size=(n_runs, n_steps))
    fn(x[:, :2])  # warm-up: imports, BLAS threads
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(x)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    tracemalloc.start()
    fn(x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"time_s": best * factor, "cpu_s": best_cpu * factor, "extra_peak_mb": peak / 2**20, "max_rss_mb": max_rss_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), help="run one case, print JSON")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per case (best kept)")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.repeat)))
        return
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, {N_RESAMPLES} resamples")
    print(f"{'case':<88} {'time (s)':>9} {'CPU (s)':>8} {'extra peak':>11} {'max RSS':>9}")
    for name, (label, *_rest) in CASES.items():
        repeat = args.repeat if name.startswith("vectorised") else 1
        out = subprocess.run(
            [sys.executable, __file__, "--case", name, "--repeat", str(repeat)],
            check=True, capture_output=True, text=True,
        ).stdout
        r = json.loads(out)
        print(
            f"{label:<88} {r['time_s']:>9.2f} {r['cpu_s']:>8.2f} {r['extra_peak_mb']:>8.0f} MB"
            f" {r['max_rss_mb']:>6.0f} MB"
        )


if __name__ == "__main__":
    main()
