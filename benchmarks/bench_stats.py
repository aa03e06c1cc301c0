"""Time and peak memory of alfred.utils.stats: bootstraps of curves, rliable metrics, P(best).

Usage: ``python benchmarks/bench_stats.py`` (each case runs in its own subprocess so that
peak-RSS figures do not leak between cases; ``--case NAME`` runs one case and prints JSON).

Columns: ``time`` is wall-clock seconds of one call (best of ``--repeat``); ``CPU`` is the
process CPU seconds of that call summed over BLAS threads (less sensitive to other load on
the machine); ``extra peak`` is the tracemalloc peak of numpy/Python allocations made
during the call (input data excluded); ``max RSS`` is the process's peak resident memory
(interpreter + numpy + data).
Rows marked "extrapolated" run a fraction of the work and scale the time up linearly.
Naive rows are the straightforward loops each vectorised function replaces.
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
from alfred.utils.stats import (  # noqa: E402
    bootstrap_mean_ci,
    interval_estimates,
    performance_profile_ci,
    probability_of_best,
    probability_of_improvement_ci,
)

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


def naive_probability_of_best(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """One resample at a time: rng.choice of every experiment's seeds, then argmax."""
    rng = np.random.default_rng(seed)
    wins = np.zeros(len(x))
    for _ in range(n_resamples):
        wins[np.argmax([rng.choice(row, size=row.size).mean() for row in x])] += 1
    return wins / n_resamples


def by_algorithm(x: np.ndarray, n_algorithms: int) -> dict[str, np.ndarray]:
    """(n_algorithms * n_runs, n_tasks) rows split into n_algorithms (n_runs, n_tasks) matrices."""
    return {f"alg{i}": part for i, part in enumerate(np.split(x, n_algorithms))}


def naive_interval_estimates(x: np.ndarray, n_resamples: int, seed: int) -> None:
    """The same computation with each aggregate called once per resample (a rliable-style loop)."""
    def trim(s: np.ndarray) -> float:
        s = np.sort(s[~np.isnan(s)])
        return float(s[len(s) // 4: len(s) - len(s) // 4].mean())

    fns = {"iqm": trim, "mean": lambda s: float(np.nanmean(s)),
           "median": lambda s: float(np.median(np.nanmean(s, axis=0))),
           "optimality_gap": lambda s: float(1 - np.nanmean(np.minimum(s, 1)))}
    interval_estimates(by_algorithm(x, 5), fns, n_resamples=n_resamples, seed=seed)


# name -> (label, shape of x, function of x, extrapolation factor to the full case, repeat)
CASES: dict[str, tuple[str, tuple[int, int], Callable[[np.ndarray], object], float, bool]] = {
    "vectorised_300": (
        "bootstrap_mean_ci 300 runs x 1000 steps", (300, 1000),
        lambda x: bootstrap_mean_ci(x, n_resamples=N_RESAMPLES, seed=0), 1.0, True,
    ),
    "vectorised_3000": (
        "bootstrap_mean_ci 3000 runs x 1000 steps", (3000, 1000),
        lambda x: bootstrap_mean_ci(x, n_resamples=N_RESAMPLES, seed=0), 1.0, True,
    ),
    "naive_per_step_300": (
        "naive per-step loop 300x1000 (ran 1k resamples, extrapolated x10)", (300, 1000),
        lambda x: naive_per_step(x, N_RESAMPLES // 10, 0), 10.0, False,
    ),
    "naive_double_loop_300": (
        "naive double Python loop 300x1000 (ran 10 steps x 1k resamples, extrapolated x1000)",
        (300, 10), lambda x: naive_double_loop(x, N_RESAMPLES // 10, 0), 1000.0, False,
    ),
    "p_best_1000x3": (
        "probability_of_best 1000 experiments x 3 seeds", (1000, 3),
        lambda x: probability_of_best(x, n_resamples=N_RESAMPLES, seed=0), 1.0, True,
    ),
    "p_best_1000x10": (
        "probability_of_best 1000 experiments x 10 seeds", (1000, 10),
        lambda x: probability_of_best(x, n_resamples=N_RESAMPLES, seed=0), 1.0, True,
    ),
    "naive_p_best_1000x3": (
        "naive P(best) loop 1000x3 (ran 100 resamples, extrapolated x100)", (1000, 3),
        lambda x: naive_probability_of_best(x, N_RESAMPLES // 100, 0), 100.0, False,
    ),
    "p_improvement_10x26": (
        "probability_of_improvement_ci 10 vs 10 runs x 26 tasks", (20, 26),
        lambda x: probability_of_improvement_ci(x[:10], x[10:], n_resamples=N_RESAMPLES, seed=0), 1.0, True,
    ),
    "p_improvement_1000x5": (
        "probability_of_improvement_ci 1000 vs 1000 runs x 5 tasks", (2000, 5),
        lambda x: probability_of_improvement_ci(x[:1000], x[1000:], n_resamples=N_RESAMPLES, seed=0),
        1.0, True,
    ),
    "performance_profile_ci_10x26": (
        "performance_profile_ci 10 runs x 26 tasks, 101 thresholds", (10, 26),
        lambda x: performance_profile_ci(x, np.linspace(-3, 3, 101), n_resamples=N_RESAMPLES, seed=0),
        1.0, True,
    ),
    "interval_estimates_5x10x26": (
        "interval_estimates 5 algorithms x 10 runs x 26 tasks, 4 aggregates", (50, 26),
        lambda x: interval_estimates(by_algorithm(x, 5), n_resamples=N_RESAMPLES, seed=0), 1.0, True,
    ),
    "naive_interval_estimates_5x10x26": (
        "  same, aggregates called per resample (ran 1k resamples, extrapolated x10)", (50, 26),
        lambda x: naive_interval_estimates(x, N_RESAMPLES // 10, 0), 10.0, False,
    ),
}


def run_case(name: str, repeat: int) -> dict[str, float]:
    _, shape, fn, factor, _ = CASES[name]
    x = np.random.default_rng(0).normal(size=shape)
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
    return {"time_s": best * factor, "cpu_s": best_cpu * factor, "extra_peak_mb": peak / 2**20,
            "max_rss_mb": max_rss_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), help="run one case, print JSON")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per case (best kept)")
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="run these cases only")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.repeat)))
        return
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, {N_RESAMPLES} resamples")
    print(f"{'case':<88} {'time (s)':>9} {'CPU (s)':>8} {'extra peak':>11} {'max RSS':>9}")
    for name, (label, _shape, _fn, _factor, repeated) in CASES.items():
        if args.only and name not in args.only:
            continue
        repeat = args.repeat if repeated else 1
        out = subprocess.run(
            [sys.executable, __file__, "--case", name, "--repeat", str(repeat)],
            check=True, capture_output=True, text=True,
        ).stdout
        r = json.loads(out)
        print(
            f"{label:<88} {r['time_s']:>9.3f} {r['cpu_s']:>8.3f} {r['extra_peak_mb']:>8.0f} MB"
            f" {r['max_rss_mb']:>6.0f} MB"
        )


if __name__ == "__main__":
    main()
