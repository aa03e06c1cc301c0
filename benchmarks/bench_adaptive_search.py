"""Adaptive search, offline: regret vs budget of random search, alfred's ASHA (stop, promote, + TPE,
Hyperband) and Optuna's own pruners, on LCBench (YAHPO Gym's surrogate) and multi-fidelity Hartmann-6.

Usage: ``python benchmarks/bench_adaptive_search.py [--seeds 10] [--budget 30] [--jobs 2] [--out DIR]``
(``--smoke``: one task, 2 seeds, a small budget: a check of the harness, seconds).

Each search is simulated with 4 parallel workers, clocked by the problem's runtimes (LCBench's
predicted training time; Hartmann's cost model), until ``--budget`` full trainings' worth of
worker time is spent (wall-clock: the mean full-run time of random configurations x budget /
workers): random search at full budget completes about ``--budget`` configurations. All
strategies share one reduction factor (``--eta``, 3), one first rung (LCBench: epoch 1 of 52;
Hartmann-6: fidelity 3 of 100; ``--min_resource``) and one stream of configurations per seed
(ASHA + TPE draws its own). The decisions are made by ``alfred.adaptive`` exactly as the real
system calls it, and by Optuna's SuccessiveHalvingPruner and HyperbandPruner for comparison (the
problems and the simulation live in ``benchmarks/adaptive_sim/``).

Writes into ``--out`` (default ``benchmarks/results/adaptive``): ``regret.png`` (one panel per
problem, 95% bootstrap bands), ``results.md`` (tables and the acceptance checks) and
``results.json``; prints the same tables.

Running time: about 6 minutes with ``--jobs 2`` on a 2-core machine for the defaults (34 LCBench
tasks and 2 Hartmann-6 variants x 10 seeds x 7 strategies; ASHA + TPE, whose sampler step
dominates, on 5 LCBench tasks: ``--tpe_tasks``); with ``--budget 100 --min_resource 3`` (the README's main
setting), 44 minutes under load 3-6, about 90% of it in ASHA + TPE's searches (400-1,100 configurations
each, a sampler step per configuration), 7.5 minutes without ASHA + TPE; ``--smoke`` takes a few seconds.
Needs ``pip install -e '.[benchmarks]'`` (onnxruntime, optuna, cmaes).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from adaptive_sim import report  # noqa: E402
from adaptive_sim.problems import Hartmann6, LCBench, lcbench_tasks, reference  # noqa: E402
from adaptive_sim.simulate import STRATEGIES, simulate  # noqa: E402

PROBLEMS = ("lcbench", "hartmann6-good", "hartmann6-terrible")
TITLES = {"lcbench": "LCBench (YAHPO surrogate), all tasks", "lcbench-tpe": "LCBench, the tasks run with TPE",
          "hartmann6-good": "Hartmann-6, good fidelities",
          "hartmann6-terrible": "Hartmann-6, terrible fidelities"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS)
    p.add_argument("--tasks", type=int, default=None, help="LCBench: the first N tasks (default: all 34)")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--budget", type=float, default=30.0, help="worker time, in mean full trainings")
    p.add_argument("--tpe_tasks", type=int, default=5,
                   help="LCBench: run asha_tpe on this many tasks (evenly spread; its sampler step dominates)")
    p.add_argument("--eta", type=int, default=3)
    p.add_argument("--min_resource", type=int, default=None,
                   help="the first rung (default: LCBench 1 epoch, Hartmann-6 fidelity 3)")
    p.add_argument("--workers", type=int, default=4, help="parallel workers of each simulated search")
    p.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes")
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    p.add_argument("--out", type=Path, default=HERE / "results" / "adaptive")
    p.add_argument("--smoke", action="store_true", help="one task, 2 seeds, budget 8: checks the harness")
    return p


def make_problem(name: str, task: str | None, min_resource: int | None = None):
    problem = LCBench(task) if name == "lcbench" else Hartmann6(name.split("-")[1])
    if min_resource is not None:
        problem.min_resource = min_resource
    return problem


def run_cell(args: tuple) -> tuple:
    """All strategies on one (problem, task, seed): raw completions and counts."""
    name, task, seed, strategies, eta, workers, budget_time, min_resource = args
    problem = make_problem(name, task, min_resource)
    out = {}
    for strategy in strategies:
        t0 = time.perf_counter()
        r = simulate(problem, strategy, seed=seed, eta=eta, n_workers=workers, budget_time=budget_time)
        out[strategy] = {"completions": r.completions, "n_configs": r.n_configs, "n_complete": r.n_complete,
                         "cpu_s": time.perf_counter() - t0}
    return name, task, seed, out


def run(args: argparse.Namespace) -> dict:
    cells, refs = [], {}
    for name in args.problems:
        tasks = lcbench_tasks()[: args.tasks] if name == "lcbench" else [name.split("-")[1]]
        step = max(1, len(tasks) // max(args.tpe_tasks, 1))
        tpe_tasks = set(tasks[::step][: args.tpe_tasks]) if name == "lcbench" else set(tasks)
        for task in tasks:
            strategies = [s for s in args.strategies if s != "asha_tpe" or task in tpe_tasks]
            problem = make_problem(name, task)
            ref = reference(problem, n=2000 if args.smoke else 20000)
            # The budget's unit: the mean full-run time of random configurations (its own stream).
            unit = reference_mean_time(problem)
            refs[(name, task)] = {**ref, "budget_time": args.budget * unit / args.workers}
            for seed in range(args.seeds):
                cells.append((name, task, seed, strategies, args.eta, args.workers,
                              refs[(name, task)]["budget_time"], args.min_resource))
    cells.sort(key=lambda cell: "asha_tpe" not in cell[3])  # the slow cells first: the processes end together
    results = []
    if args.jobs == 1:
        results = [run_cell(cell) for cell in cells]
    else:
        with get_context("spawn").Pool(args.jobs) as pool:
            for result in pool.imap_unordered(run_cell, cells, chunksize=1):
                results.append(result)
                if len(results) % 25 == 0:
                    print(f"{len(results)}/{len(cells)} searches simulated", file=sys.stderr, flush=True)
    return {"refs": refs, "results": results}


def reference_mean_time(problem, n: int = 2000) -> float:
    from alfred.adaptive.space import sample_config

    rng = np.random.default_rng(999)
    configs = [sample_config(problem.space, rng) for _ in range(n)]
    return float(problem.curves(configs, (problem.max_resource,)).times[:, 0].mean())


def analyse(raw: dict, args: argparse.Namespace) -> tuple[dict, dict]:
    """Regret arrays per problem and strategy, their summaries, and the acceptance checks.

    LCBench is summarised twice when ASHA + TPE ran on a subset of its tasks: over all tasks
    (without it), and over that subset (every strategy, so they compare on the same tasks).
    """
    by_problem: dict[str, dict] = {}
    # In (problem, task, seed) order, not the order the processes finished in: the bootstrap's
    # draws then fall on the same rows in every run of the same command.
    for name, task, seed, out in sorted(raw["results"], key=lambda r: (r[0], str(r[1]), r[2])):
        by_problem.setdefault(name, {}).setdefault(task, {})[seed] = out
    summaries, checks = {}, {}
    for name, tasks in by_problem.items():
        regrets, counts = regret_arrays(name, tasks, raw["refs"], args)
        everywhere = [s for s in regrets if len(regrets[s]) == len(tasks)]
        summaries[name] = report.summarise({s: np.stack(list(regrets[s].values())) for s in everywhere},
                                           {s: counts[s] for s in everywhere}, n_resamples=args.resamples)
        checks[name] = acceptance({s: np.stack(list(regrets[s].values())) for s in everywhere}, summaries[name], args)
        if name == "lcbench" and "asha_tpe" in regrets and "asha_tpe" not in everywhere:
            subset = list(regrets["asha_tpe"])
            sub = {s: np.stack([regrets[s][t] for t in subset]) for s in regrets}
            sub_counts = {s: counts_over(tasks, s, subset) for s in regrets}
            summaries["lcbench-tpe"] = report.summarise(sub, sub_counts, n_resamples=args.resamples)
            checks["lcbench-tpe"] = {"tasks": subset, **acceptance(sub, summaries["lcbench-tpe"], args)}
    return summaries, checks


def counts_over(tasks: dict, strategy: str, subset) -> dict:
    cells = [s[strategy] for t in subset for s in tasks[t].values()]
    return {"n_configs": np.mean([c["n_configs"] for c in cells]),
            "n_complete": np.mean([c["n_complete"] for c in cells]),
            "cpu_s": float(np.sum([c["cpu_s"] for c in cells]))}


def regret_arrays(name: str, tasks: dict, refs: dict, args) -> tuple[dict, dict]:
    """strategy -> task -> (seeds, grid) normalised regrets, and strategy -> mean counts over its cells."""
    regrets: dict[str, dict] = {}
    for task, seeds in tasks.items():
        ref = refs[(name, task)]
        direction = make_problem(name, task).direction
        found = [v for s in seeds.values() for st in s.values() for _, v in st["completions"]]
        best = max([ref["best"], *found]) if direction == "max" else min([ref["best"], *found])
        for strategy in seeds[0]:
            regrets.setdefault(strategy, {})[task] = np.stack([
                report.regret_curve(seeds[seed][strategy]["completions"], budget_time=ref["budget_time"], best=best,
                                    median=ref["median"], direction=direction) for seed in sorted(seeds)])
    counts = {s: counts_over(tasks, s, list(regrets[s])) for s in regrets}
    return regrets, counts


def acceptance(regrets: dict, summary: dict, args) -> dict:
    out = {}
    if "asha_stop" in summary and "random" in summary:
        out["asha_stop_reaches_random_final_at"] = summary["asha_stop"]["reach_random"]
        out["asha_promote_reaches_random_final_at"] = summary.get("asha_promote", {}).get("reach_random")
        out["asha_stop_minus_random_final"] = report.paired_difference(
            regrets["asha_stop"], regrets["random"], n_resamples=args.resamples)
    if "asha_stop" in summary and "optuna_sha" in summary:
        s, o = summary["asha_stop"], summary["optuna_sha"]
        inside = (s["curve"] >= o["lo"] - 1e-12) & (s["curve"] <= o["hi"] + 1e-12)
        out["asha_stop_inside_optuna_sha_band"] = float(inside.mean())
        out["asha_stop_vs_optuna_sha_max_abs_diff"] = float(np.max(np.abs(s["curve"] - o["curve"])))
    if "asha_tpe" in summary and "asha_stop" in summary:
        out["asha_tpe_minus_asha_stop_final"] = report.paired_difference(
            regrets["asha_tpe"], regrets["asha_stop"], n_resamples=args.resamples)
    return out


def write(summaries: dict, checks: dict, args, seconds: float) -> str:
    args.out.mkdir(parents=True, exist_ok=True)
    first = "default" if args.min_resource is None else args.min_resource
    rung = ("first rung: LCBench epoch 1, Hartmann-6 fidelity 3" if args.min_resource is None else
            f"first rung: epoch / fidelity {args.min_resource}")
    report.plot({TITLES[k]: v for k, v in summaries.items()}, budget=args.budget, workers=args.workers,
                path=args.out / "regret.png",
                settings=f"budget {args.budget:g} full trainings, {rung}, eta {args.eta}, {args.seeds} seeds")
    parts = [f"Settings: eta={args.eta}, min_resource {first}, {args.workers} workers, budget {args.budget:g} full "
             f"trainings' worth of worker time ({args.budget / args.workers:g} per worker), {args.seeds} seeds; "
             f"{seconds:.0f} s with {args.jobs} processes.\n"]
    for name, summary in summaries.items():
        parts.append(f"### {TITLES[name]}\n\n{report.table(summary, budget=args.budget)}\n")
        parts.append("Checks: " + json.dumps(checks[name], default=float) + "\n")
    text = "\n".join(parts)
    (args.out / "results.md").write_text(text)
    plain = {k: {s: {m: (v.tolist() if isinstance(v, np.ndarray) else v) for m, v in d.items()}
                 for s, d in summary.items()} for k, summary in summaries.items()}
    (args.out / "results.json").write_text(json.dumps({"summaries": plain, "checks": checks}, default=float))
    return text


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.smoke:
        args.tasks, args.seeds, args.budget, args.resamples = 1, 2, 8.0, 100
    t0 = time.perf_counter()
    raw = run(args)
    summaries, checks = analyse(raw, args)
    print(write(summaries, checks, args, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
