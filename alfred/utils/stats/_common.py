"""What every statistics module shares: types, the input error, seeds, and scores split into tasks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from alfred.utils.misc import AlfredError

FloatArray = npt.NDArray[np.float64]
Result = FloatArray | np.float64  # a numpy scalar when the output is 0-d
Scores = npt.ArrayLike | Mapping[str, npt.ArrayLike]
Seed = int | np.integer | np.random.Generator

DEFAULT_N_RESAMPLES = 10_000  # the one default resample count of every bootstrap here


class StatsError(AlfredError, ValueError):
    """Scores or options a statistic cannot use; the message says what was given and what is valid.

    An ``AlfredError`` (scripts print it as one ``error: ...`` line) and a ``ValueError``.
    """


class IntervalEstimate(NamedTuple):
    """A point estimate and the bounds of its interval, ``lower <= point <= upper``."""

    point: Result
    lower: Result
    upper: Result


def rng_from(seed: Seed) -> np.random.Generator:
    """The Generator passed in (advanced by its use) or a new one seeded with the int."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")


def tail_mass(confidence: float) -> float:
    """``(1 - confidence) / 2``, the probability left out on each side of an interval."""
    if not 0.0 < confidence < 1.0:
        raise StatsError(f"confidence must be in (0, 1) (e.g. 0.95), got {confidence}")
    return (1.0 - confidence) / 2.0


def check_n_resamples(n_resamples: int) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise StatsError(f"n_resamples must be an integer >= 1, got {n_resamples!r}")
    return int(n_resamples)


def draw_indices(rng: np.random.Generator, n: int, size: tuple[int, ...]) -> npt.NDArray[np.intp]:
    """Uniform indices in [0, n) as intp: drawn as uint16 when they fit (about 10 times faster
    than int64 draws in numpy's Generator), then widened."""
    if n <= 2**16:
        return rng.integers(0, n, size=size, dtype=np.uint16).astype(np.intp)
    return rng.integers(0, n, size=size)


def containing(point: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike) -> IntervalEstimate:
    """Widen ``[lower, upper]`` to hold ``point``, so that error-bar lengths are never negative.

    Percentile bounds of resampled statistics can miss the point estimate by a rounding
    error (constant data: a sum taken in another order) or, for strongly biased
    statistics, by more; a NaN point gives NaN bounds.
    """
    p = np.asarray(point, dtype=np.float64)
    lo = np.minimum(np.asarray(lower, dtype=np.float64), p)
    hi = np.maximum(np.asarray(upper, dtype=np.float64), p)
    return IntervalEstimate(p[()], lo[()], hi[()])


def one_run_axis(values: npt.ArrayLike, what: str) -> FloatArray:
    """A 0-d or 1-D array of runs, without its NaNs; StatsError for more dimensions."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim > 1:
        raise StatsError(f"{what} has shape {a.shape}; expected a 1-D array of runs (n_runs,)")
    a = a.reshape(-1)
    return a[~np.isnan(a)]


def task_runs(scores: Scores, *, name: str = "scores") -> tuple[list[FloatArray], Callable[[list], object]]:
    """Split scores into per-task 1-D arrays of their non-NaN runs, and a layout rebuilder.

    Args:
      scores: (n_runs, n_tasks) matrix, possibly NaN-padded; (n_runs,) runs of one task; or
        a mapping task -> (n_runs_task,) runs. A mapping whose values have 2 or more
        dimensions (rliable's ``{algorithm: (n_runs, n_tasks)}``) is refused, not flattened.
      name: how the argument is called in error messages.

    Returns:
      (tasks, rebuild): ``tasks[j]`` holds task j's runs (NaN removed, order kept).
      ``rebuild(parts)`` takes per-task arrays ``(..., n_runs_j)`` and lays them out like
      ``scores``: the same mapping keys, the 1-D array, or a (..., max_j n_runs_j,
      n_tasks) matrix padded with NaN.
    """
    if isinstance(scores, Mapping):
        keys = list(scores)
        for k in keys:
            shape = np.shape(scores[k])
            if len(shape) > 1:
                hint = (" For rliable's {algorithm: (n_runs, n_tasks)} layout call interval_estimates, "
                        "or pass one algorithm's matrix" if name == "scores" else "")
                raise StatsError(f"{name}[{k!r}] has shape {shape}; a mapping must hold one task's runs "
                                 f"per key, {{task: (n_runs,) scores}}.{hint}")
        tasks = [one_run_axis(scores[k], f"{name}[{k!r}]") for k in keys]
        labels = [repr(k) for k in keys]

        def rebuild(parts: list) -> object:
            return dict(zip(keys, parts))

    else:
        a = np.asarray(scores, dtype=np.float64)
        if a.ndim not in (1, 2):
            raise StatsError(f"{name} must be (n_runs,) or (n_runs, n_tasks) or a mapping "
                             f"{{task: (n_runs,)}}, got an array of shape {a.shape}")
        columns = [a] if a.ndim == 1 else list(a.T)
        tasks = [c[~np.isnan(c)] for c in columns]
        labels = [f"column {j}" for j in range(len(tasks))]

        def rebuild(parts: list) -> object:
            return parts[0] if a.ndim == 1 else pad_tasks(parts)

    if not tasks:
        raise StatsError(f"{name} holds no task; expected at least one task with at least one run")
    empty = [lab for lab, t in zip(labels, tasks) if t.size == 0]
    if empty:
        raise StatsError(f"{name}: task {', '.join(empty[:5])} has no run (empty or all NaN); every "
                         "task needs at least one non-NaN run")
    return tasks, rebuild


def pad_tasks(parts: list[np.ndarray]) -> FloatArray:
    """Per-task (..., n_runs_j) arrays as one (..., max_j n_runs_j, n_tasks) array padded with NaN."""
    lead = parts[0].shape[:-1]
    n_max = max(p.shape[-1] for p in parts)
    out = np.full((*lead, n_max, len(parts)), np.nan)
    for j, p in enumerate(parts):
        out[..., : p.shape[-1], j] = p
    return out
