"""Regret curves of simulated searches, their bootstrap bands, the acceptance checks, figures and tables.

Normalised regret of a run at time t: its best final value so far (configurations that reached
``max_resource``), measured from the task's best value ``y*`` (best of 20,000 random configurations
and of every run of every strategy) in units of ``|y* - median|`` (the median random
configuration): 0 is the best known, 1 is no better than a typical random configuration. Before a
run's first completion, and whenever it is worse than the median, it counts as 1.

The aggregate of a strategy at time t is the median over tasks of the mean over seeds; its 95%
band is a percentile bootstrap that resamples seeds within each task (stratified, as rliable does).
"""
from __future__ import annotations

import numpy as np

GRID = np.linspace(0.01, 1.0, 100)  # fractions of the budget


def regret_curve(completions: list[tuple[float, float]], *, budget_time: float, best: float, median: float,
                 direction: str) -> np.ndarray:
    """A run's normalised regret at each point of ``GRID`` (see the module docstring)."""
    out = np.ones(len(GRID))
    if not completions:
        return out
    times = np.array([t for t, _ in completions])
    values = np.array([v for _, v in completions])
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    inc = np.maximum.accumulate(values) if direction == "max" else np.minimum.accumulate(values)
    idx = np.searchsorted(times, GRID * budget_time, side="right") - 1
    have = idx >= 0
    gap = (best - inc[idx[have]]) if direction == "max" else (inc[idx[have]] - best)
    out[have] = np.clip(gap / abs(best - median), 0.0, 1.0)
    return out


def aggregate(regrets: np.ndarray) -> np.ndarray:
    """(tasks, seeds, grid) -> (grid,): median over tasks of the mean over seeds."""
    return np.median(regrets.mean(axis=1), axis=0)


def bootstrap(regrets: np.ndarray, *, n_resamples: int = 2000, seed: int = 0) -> np.ndarray:
    """Resampled aggregates, (n_resamples, grid): seeds drawn with replacement within each task."""
    rng = np.random.default_rng(seed)
    n_tasks, n_seeds, _ = regrets.shape
    out = np.empty((n_resamples, regrets.shape[2]))
    for b in range(n_resamples):
        idx = rng.integers(n_seeds, size=(n_tasks, n_seeds))
        out[b] = aggregate(np.take_along_axis(regrets, idx[:, :, None], axis=1))
    return out


def band(resampled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.percentile(resampled, 2.5, axis=0), np.percentile(resampled, 97.5, axis=0)


def first_reach(curve: np.ndarray, target: float) -> float | None:
    """The first fraction of the budget where ``curve <= target`` (None: never)."""
    hit = np.nonzero(curve <= target + 1e-12)[0]
    return float(GRID[hit[0]]) if len(hit) else None


def summarise(regrets: dict[str, np.ndarray], counts: dict[str, dict], *, n_resamples: int) -> dict[str, dict]:
    """Per strategy: curve, band, final regret and its interval, regret at 1/3, budget to reach random's final."""
    out = {}
    random_final = aggregate(regrets["random"])[-1] if "random" in regrets else None
    third = int(np.argmin(np.abs(GRID - 1 / 3)))
    for name, r in regrets.items():
        curve = aggregate(r)
        lo, hi = band(bootstrap(r, n_resamples=n_resamples))
        out[name] = {"curve": curve, "lo": lo, "hi": hi, "final": curve[-1], "final_lo": lo[-1], "final_hi": hi[-1],
                     "at_third": curve[third],
                     "reach_random": None if random_final is None else first_reach(curve, random_final),
                     **counts[name]}
    return out


def paired_difference(a: np.ndarray, b: np.ndarray, *, n_resamples: int, seed: int = 1) -> tuple[float, float, float]:
    """Final aggregate of a minus b, with a 95% interval resampling the same seeds for both (same streams)."""
    rng = np.random.default_rng(seed)
    n_tasks, n_seeds, _ = a.shape
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(n_seeds, size=(n_tasks, n_seeds))[:, :, None]
        diffs[i] = aggregate(np.take_along_axis(a[:, :, -1:], idx, 1))[0] - aggregate(
            np.take_along_axis(b[:, :, -1:], idx, 1))[0]
    point = aggregate(a)[-1] - aggregate(b)[-1]
    return float(point), float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


LABELS = {"random": "random, full budget", "asha_stop": "alfred ASHA stop", "asha_promote": "alfred ASHA promote",
          "asha_tpe": "alfred ASHA stop + TPE", "hyperband_stop": "alfred Hyperband stop",
          "optuna_sha": "Optuna SuccessiveHalvingPruner", "optuna_hb": "Optuna HyperbandPruner"}


def plot(summaries: dict[str, dict[str, dict]], *, budget: float, workers: int, path, settings: str = "") -> None:
    """One panel per problem: aggregate regret vs budget, 95% bootstrap bands; ``settings`` heads the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"random": ("black", "-"), "asha_stop": ("tab:blue", "-"), "asha_promote": ("tab:green", "-"),
              "asha_tpe": ("tab:purple", "-"), "hyperband_stop": ("tab:cyan", "-"),
              "optuna_sha": ("tab:orange", "--"), "optuna_hb": ("tab:red", "--")}
    n = len(summaries)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(max(6.2 * cols, 9.0), 4.3 * rows + 1.0), squeeze=False)
    x = GRID * budget
    handles = {}
    for ax, (problem, summary) in zip(axes.flat, summaries.items()):
        for name, s in summary.items():
            color, ls = styles.get(name, ("grey", ":"))
            (line,) = ax.plot(x, np.maximum(s["curve"], 1e-4), color=color, ls=ls, lw=1.6)
            handles.setdefault(name, line)
            ax.fill_between(x, np.maximum(s["lo"], 1e-4), np.maximum(s["hi"], 1e-4), color=color, alpha=0.15, lw=0)
        ax.set_yscale("log")
        ax.set_title(problem)
        ax.set_xlabel(f"worker time used, in full trainings ({workers} workers)")
        ax.set_ylabel("normalised regret, median over tasks" if problem.startswith("LCBench") else
                      "normalised regret, mean over seeds")
        ax.set_xlim(0, budget)
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    order = [s for s in LABELS if s in handles]
    fig.legend([handles[s] for s in order], [LABELS[s] for s in order], loc="lower center", ncol=3 if cols == 1 else 4,
               fontsize=9, frameon=False)
    head = f"Regret vs budget ({settings}), 95% bootstrap bands over seeds" if settings else \
        "Regret vs budget, 95% bootstrap bands over seeds"
    fig.suptitle(f"{head}\n(alfred ASHA stop and Optuna's SuccessiveHalvingPruner coincide)", fontsize=10)
    fig.tight_layout(rect=(0, 0.1 if rows == 1 else 0.06, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(summary: dict[str, dict], *, budget: float) -> str:
    """A markdown table of one problem's strategies."""
    lines = ["| strategy | final regret [95% CI] | regret at 1/3 budget | budget to reach random's final | "
             "configurations tried | reached max resource |", "|---|---|---|---|---|---|"]
    for name, s in summary.items():
        reach = "never" if s["reach_random"] is None else f"{s['reach_random']:.2f} ({s['reach_random'] * budget:.0f})"
        lines.append(f"| {LABELS.get(name, name)} | {s['final']:.3f} [{s['final_lo']:.3f}, {s['final_hi']:.3f}] | "
                     f"{s['at_third']:.3f} | {reach} | {s['n_configs']:.0f} | {s['n_complete']:.0f} |")
    return "\n".join(lines)
