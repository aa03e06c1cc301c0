"""The offline benchmark of adaptive search: its problems behave as documented, and its harness runs
end to end on a small case (the full benchmark is ``benchmarks/bench_adaptive_search.py``)."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))


def test_lcbench_surrogate_encoding_gives_sane_curves():
    pytest.importorskip("onnxruntime", reason="the benchmark's optional extra 'adaptive' (CI installs it)")
    from adaptive_sim.problems import LCBench, lcbench_tasks

    from alfred.adaptive.space import sample_config

    tasks = lcbench_tasks()
    assert len(tasks) == 34
    epochs = np.arange(1, 53)
    finals = []
    for task in (tasks[0], tasks[10], tasks[-1]):
        problem = LCBench(task)
        rng = np.random.default_rng(0)
        configs = [sample_config(problem.space, rng) for _ in range(50)]
        out = problem.predict(configs, epochs)
        time_s, acc = out[:, :, 0], out[:, :, 1]
        assert (acc >= 0).all() and (acc <= 100).all()
        assert (out[:, :, 3] >= -0.05).all() and (out[:, :, 3] <= 1.05).all()  # balanced accuracy, a fraction
        assert (time_s[:, -1] > 5 * time_s[:, 0]).all()  # 52 epochs take much longer than 1
        assert np.mean(np.diff(time_s, axis=1) > 0) > 0.99  # runtime increases with epochs
        assert np.median(acc[:, -1]) > np.median(acc[:, 0])  # training helps, in the median
        c = problem.curves(configs, (1, 3, 9, 27, 52))
        assert (np.diff(c.times, axis=1) > 0).all()
        finals.append(np.median(acc[:, -1]))
    assert len({round(f) for f in finals}) > 1  # the task id reaches the model: tasks differ


def test_hartmann6_is_exact_at_full_fidelity_and_noisy_below():
    from adaptive_sim.problems import HARTMANN6_MIN, Hartmann6

    optimum = np.array([[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]])
    for preset in ("good", "terrible"):
        h = Hartmann6(preset)
        assert h.value(optimum, np.array([100]))[0, 0] == pytest.approx(HARTMANN6_MIN, abs=1e-4)
        low = h.value(optimum, np.array([3, 3]))
        assert low[0, 0] == low[0, 1]  # the noise is a function of (seed, z, x)
        assert low[0, 0] > HARTMANN6_MIN + 1.0  # bias flattens, noise only adds
    rng = np.random.default_rng(0)
    x = rng.random((300, 6))
    good, terrible = Hartmann6("good"), Hartmann6("terrible")

    def rank_corr(h):
        v = h.value(x, np.array([27, 100]))
        ranks = np.argsort(np.argsort(v, axis=0), axis=0)
        return np.corrcoef(ranks[:, 0], ranks[:, 1])[0, 1]

    assert rank_corr(good) > rank_corr(terrible)


def test_the_harness_runs_end_to_end_and_alfred_stop_equals_optunas_pruner(tmp_path):
    pytest.importorskip("onnxruntime", reason="the benchmark's optional extra 'adaptive' (CI installs it)")
    pytest.importorskip("optuna", reason="the optional extra 'adaptive' (CI installs it)")
    import bench_adaptive_search

    code = bench_adaptive_search.main(["--smoke", "--jobs", "1", "--resamples", "50",
                                       "--problems", "lcbench", "hartmann6-terrible", "--out", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "regret.png").stat().st_size > 10_000
    results = json.loads((tmp_path / "results.json").read_text())
    for problem in ("lcbench", "hartmann6-terrible"):
        summary, checks = results["summaries"][problem], results["checks"][problem]
        # same stream, same rule: alfred's stop rule makes the same decisions as Optuna's pruner
        assert checks["asha_stop_vs_optuna_sha_max_abs_diff"] == 0.0
        for name, s in summary.items():
            curve = np.array(s["curve"])
            assert ((curve >= 0) & (curve <= 1)).all(), name
            assert (np.diff(curve) <= 1e-12).all(), name  # regret of the best so far never goes up
            assert (np.array(s["lo"]) <= curve + 1e-12).all() and (curve <= np.array(s["hi"]) + 1e-12).all()
        assert summary["asha_stop"]["n_configs"] > 3 * summary["random"]["n_configs"]
    assert "| alfred ASHA promote |" in (tmp_path / "results.md").read_text()
