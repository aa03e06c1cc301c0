"""The benchmark problems: YAHPO Gym's LCBench surrogate (ONNX, read directly) and multi-fidelity Hartmann-6.

A problem gives, for a batch of configurations, the value and the cumulative training time at each
of a few steps (the rungs and the end), which is all a simulated search ever looks at.

LCBench (``benchmarks/data/yahpo_lcbench/``, Apache 2.0, see its SOURCE.md): the surrogate takes
``x_cat`` (int32, the OpenML task id through ``encoding.json``) and ``x_cont`` (float32, raw values in
the order epoch, batch_size, learning_rate, momentum, weight_decay, num_layers, max_units,
max_dropout) and returns time, val_accuracy, val_cross_entropy, val_balanced_accuracy,
test_cross_entropy, test_balanced_accuracy, as YAHPO Gym's ``BenchmarkSet`` feeds it. The search
maximises ``val_accuracy`` (percent) over epochs 1-52; ``time`` is the cumulative training time in
seconds at that epoch.

Hartmann-6 with fidelities (Kandasamy et al. 2017, in mf-prior-bench's form): at fidelity
``z`` in [1, 100] with ``s = log z / log 100``, ``f(z, x) = -sum_i (alpha_i - bias (1 - s))
exp(-sum_j A_ij (x_j - P_ij)^2) + noise (1 - s) |eps|``, ``eps`` a standard normal fixed by
(seed, z, x). At z = 100 it is the Hartmann-6 function (minimum -3.32237). mf-prior-bench's presets:
"good" bias 2.5, noise 2.0; "terrible" bias 4.0, noise 5.0. Cost of reaching ``z``: mf-prior-bench's
``0.05 + 0.95 (z / 100)^2`` (one unit is a full run), so a run continued from z1 to z2 costs the
difference.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alfred.adaptive.space import SearchSpace, parse_space, sample_config

DATA = Path(__file__).resolve().parents[1] / "data" / "yahpo_lcbench"
LCBENCH_CONT = ("epoch", "batch_size", "learning_rate", "momentum", "weight_decay", "num_layers", "max_units",
                "max_dropout")
LCBENCH_OUT = ("time", "val_accuracy", "val_cross_entropy", "val_balanced_accuracy", "test_cross_entropy",
               "test_balanced_accuracy")


@dataclass
class Curves:
    """values[i, j] and cumulative time[i, j] of configuration i at step ``steps[j]``."""

    steps: tuple[int, ...]
    values: np.ndarray
    times: np.ndarray


class LCBench:
    """One LCBench task (an OpenML task id) through the ONNX surrogate."""

    direction = "max"
    min_resource, max_resource = 1, 52

    def __init__(self, task: str, *, session=None):
        self.task = task
        self.name = f"lcbench/{task}"
        self._session = session or lcbench_session()
        encoding = json.loads((DATA / "encoding.json").read_text())["OpenML_task_id"]
        self._task_code = encoding[task]
        spec = {}
        for hp in json.loads((DATA / "config_space.json").read_text())["hyperparameters"]:
            if hp["name"] in ("OpenML_task_id", "epoch"):
                continue
            kind = "int" if hp["type"] == "uniform_int" else "float"
            spec[hp["name"]] = {"type": kind, "low": hp["lower"], "high": hp["upper"], "log": hp["log"]}
        self.space: SearchSpace = parse_space(spec)

    def predict(self, configs: list[dict], epochs: np.ndarray) -> np.ndarray:
        """The surrogate's 6 outputs for every (config, epoch) pair: shape (len(configs), len(epochs), 6)."""
        rows = np.array([[c[name] for name in LCBENCH_CONT[1:]] for c in configs], dtype=np.float64)
        n, m = len(configs), len(epochs)
        x_cont = np.empty((n, m, len(LCBENCH_CONT)), dtype=np.float32)
        x_cont[:, :, 0] = np.asarray(epochs, dtype=np.float32)[None, :]
        x_cont[:, :, 1:] = rows[:, None, :]
        x_cat = np.full((n * m, 1), self._task_code, dtype=np.int32)
        out = self._session.run(None, {"x_cat": x_cat, "x_cont": x_cont.reshape(n * m, -1)})[0]
        return out.reshape(n, m, len(LCBENCH_OUT))

    def curves(self, configs: list[dict], steps: tuple[int, ...]) -> Curves:
        out = self.predict(configs, np.asarray(steps))
        values = out[:, :, LCBENCH_OUT.index("val_accuracy")].astype(np.float64)
        # The surrogate's time is almost always increasing with epochs (a few per mille of
        # neighbouring epochs are not): a run cannot take less time to train more.
        times = np.maximum.accumulate(np.maximum(out[:, :, 0].astype(np.float64), 1e-3), axis=1)
        times[:, 1:] = np.maximum(times[:, 1:], times[:, :-1] + 1e-6)
        return Curves(steps, values, times)


def lcbench_session():
    """An ONNX session on one thread (the benchmark parallelises over processes)."""
    import onnxruntime as rt

    options = rt.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return rt.InferenceSession(str(DATA / "model.onnx"), sess_options=options)


def lcbench_tasks() -> list[str]:
    """The 34 OpenML task ids of the surrogate's search space."""
    space = json.loads((DATA / "config_space.json").read_text())["hyperparameters"]
    return list(next(hp for hp in space if hp["name"] == "OpenML_task_id")["choices"])


_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
               [17, 8, 0.05, 10, 0.1, 14]], dtype=float)
_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]], dtype=float)
HARTMANN6_MIN = -3.32237
HARTMANN_PRESETS = {"good": (2.5, 2.0), "terrible": (4.0, 5.0)}  # (bias, noise), mf-prior-bench


class Hartmann6:
    """Multi-fidelity Hartmann-6 (minimised), fidelity z = 1..100, with a preset's bias and noise."""

    direction = "min"
    min_resource, max_resource = 3, 100  # mf-prior-bench's fidelity range

    def __init__(self, preset: str, *, noise_seed: int = 1337):
        self.bias, self.noise = HARTMANN_PRESETS[preset]
        self.name = f"hartmann6/{preset}"
        self.task = preset
        self.noise_seed = noise_seed
        self.space = parse_space({f"x{j}": {"type": "float", "low": 0.0, "high": 1.0} for j in range(6)})

    def value(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """f(z, x) for rows x (n, 6) at fidelities z (m,): shape (n, m)."""
        s = np.log(np.asarray(z, dtype=float)) / np.log(100.0)
        bumps = np.exp(-np.sum(_A[None] * (x[:, None, :] - _P[None]) ** 2, axis=-1))  # (n, 4)
        alpha = _ALPHA[None, :] - self.bias * (1 - s)[:, None]  # (m, 4)
        h = -bumps @ alpha.T  # (n, m)
        eps = np.empty_like(h)
        for i, row in enumerate(x):
            key = zlib.crc32(row.tobytes())
            for j, zj in enumerate(np.asarray(z)):
                eps[i, j] = np.random.default_rng([self.noise_seed, int(zj), key]).standard_normal()
        return h + self.noise * (1 - s)[None, :] * np.abs(eps)

    def curves(self, configs: list[dict], steps: tuple[int, ...]) -> Curves:
        x = np.array([[c[f"x{j}"] for j in range(6)] for c in configs], dtype=float)
        z = np.asarray(steps, dtype=float)
        times = np.broadcast_to(0.05 + 0.95 * (z / 100.0) ** 2, (len(configs), len(steps))).copy()
        return Curves(steps, self.value(x, np.asarray(steps)), times)


def reference(problem, *, n: int = 20000, seed: int = 12345) -> dict[str, float]:
    """Best and median final value of ``n`` random configurations, and the median full-run time."""
    rng = np.random.default_rng(seed)
    configs = [sample_config(problem.space, rng) for _ in range(n)]
    c = problem.curves(configs, (problem.max_resource,))
    final = c.values[:, 0]
    best = final.max() if problem.direction == "max" else final.min()
    if isinstance(problem, Hartmann6):
        best = min(best, HARTMANN6_MIN)
    return {"best": float(best), "median": float(np.median(final)), "full_time": float(np.median(c.times[:, 0]))}
