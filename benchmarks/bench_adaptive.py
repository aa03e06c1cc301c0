"""Cost of adaptive search's decisions: the stop rule, the promote rule, and a sampler step.

Usage: ``python benchmarks/bench_adaptive.py [--records 1000] [--trials 1000] [--repeat 7]``

  stop      ``should_continue`` on a rung of ``--records`` records (one pass)
  promote   ``next_promotion`` over 4 rungs of ``--records``, /3, /9, /27 records, where the top
            rungs' best are promoted already (so it ranks every rung), eta 3
  propose   ``propose`` with ``--trials`` trials (1/2 complete, 1/3 pruned with rung values, 1/6
            running) on a 7-hyperparameter space like LCBench's, per sampler (needs optuna;
            cmaes and torch for those samplers, skipped with a note when absent)

Pure functions on in-memory lists: listing the rung's files is the protocol layer's cost, not
measured here. Prints medians (and min) of ``--repeat`` runs, in milliseconds.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from alfred.adaptive.rungs import next_promotion, should_continue, top_records  # noqa: E402
from alfred.adaptive.sampling import SAMPLERS, TrialRecord, propose  # noqa: E402
from alfred.adaptive.space import parse_space, sample_config  # noqa: E402

SPACE = parse_space({
    "batch_size": {"type": "int", "low": 16, "high": 512, "log": True},
    "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "momentum": {"type": "float", "low": 0.1, "high": 0.99},
    "weight_decay": {"type": "float", "low": 1e-5, "high": 1e-1},
    "num_layers": {"type": "int", "low": 1, "high": 5},
    "max_units": {"type": "int", "low": 64, "high": 1024, "log": True},
    "max_dropout": {"type": "float", "low": 0.0, "high": 1.0},
})
NEEDS = {"cmaes": "cmaes", "gp": "torch"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=7)
    return p


def timed(fn, repeat: int, inner: int = 1) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        runs.append((time.perf_counter() - t0) / inner * 1e3)
    return statistics.median(runs), min(runs)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    recs = [(f"experiment{i}/seed1", float(rng.random())) for i in range(args.records)]
    own = recs[len(recs) // 2][0]
    rows.append(("stop", f"{args.records} records",
                 *timed(lambda: should_continue(recs, own, eta=3, direction="min"), args.repeat, 100)))
    rungs = [recs[: max(args.records // 3**k, 1)] for k in range(4)]
    promoted = [set() for _ in rungs]
    for k in range(1, 4):  # the top rungs' quota is used up: the decision has to go down to rung 0
        promoted[k] = {t for t, _ in top_records(rungs[k], len(rungs[k]) // 3, direction="min")}
    rows.append(("promote", f"rungs of {[len(r) for r in rungs]}",
                 *timed(lambda: next_promotion(rungs, promoted, eta=3, direction="min"), args.repeat, 20)))
    trials = []
    for i in range(args.trials):
        c = sample_config(SPACE, rng)
        state = ("complete", "complete", "complete", "pruned", "pruned", "running")[i % 6]
        trials.append(TrialRecord(c, state, value=float(rng.random()) if state == "complete" else None,
                                  intermediate={1: float(rng.random()), 3: float(rng.random())}))
    for sampler in SAMPLERS:
        missing = [m for m in ("optuna", NEEDS.get(sampler)) if m and sampler != "random"
                   and importlib.util.find_spec(m) is None]
        if missing:
            rows.append((f"propose {sampler}", f"skipped: {', '.join(missing)} not installed", float("nan"),
                         float("nan")))
            continue
        propose(SPACE, trials[:20], sampler=sampler, direction="min", seed=0)  # imports, warm-up
        repeat = 3 if sampler == "gp" else args.repeat
        rows.append((f"propose {sampler}", f"{args.trials} trials",
                     *timed(lambda: propose(SPACE, trials, sampler=sampler, direction="min", seed=1), repeat)))
    print(f"{'decision':<16} {'input':<34} {'median ms':>10} {'min ms':>10}")
    for name, what, med, low in rows:
        print(f"{name:<16} {what:<34} {med:>10.3f} {low:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
