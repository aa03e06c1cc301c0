"""Adaptive search through the real system: prepare, launch_schedule workers, FLAG-files, rung records.

    python benchmarks/bench_adaptive_system.py [--tasks 5] [--seeds 3] [--budget 24] [--full_s 1.0]

For each of the first ``--tasks`` LCBench tasks and ``--seeds`` seeds, two searches over the same
stream of configurations (an adaptive schedule with the random sampler, spec seed = seed):

- **random**: every configuration trained to epoch 52 (main does not report),
- **ASHA stop**: main reports the validation accuracy every epoch (``dir_tree.report``), first
  rung at epoch 3, ``eta`` 3,

each launched with 4 worker processes on a tmpfs-backed folder for the same wall time: ``--budget``
full trainings' worth of worker time (``budget * full_s / 4`` seconds), after which the launcher is
sent SIGTERM. main sleeps each epoch's predicted training time (YAHPO's LCBench surrogate), scaled
so that the task's median full training takes ``--full_s`` seconds; the curves are computed before
the launch (one ONNX call per search), so main's own cost is its sleeps. Normalised regret as in
bench_adaptive_search.py (0: the best known value of the task, 1: the median random
configuration), from the best epoch-52 value completed by each moment of the launch. Printed: a
table of the median over tasks of the mean over seeds at 1/3 and all of the budget, and alfred's
share of the workers' time (wall time x 4 less the sleeps, over wall time x 4).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

MAIN = textwrap.dedent('''
    import argparse, json, os, time
    from pathlib import Path

    def get_run_args(overwritten_cmd_line=None):
        parser = argparse.ArgumentParser()
        for name, kind, default in (("alg_name", str, "mlp"), ("task_name", str, "t"), ("desc", str, ""),
                                    ("seed", int, 0), ("epochs", int, 52), ("batch_size", int, 16),
                                    ("learning_rate", float, 0.01), ("momentum", float, 0.5),
                                    ("weight_decay", float, 0.01), ("num_layers", int, 2), ("max_units", int, 64),
                                    ("max_dropout", float, 0.1)):
            parser.add_argument("--" + name, type=kind, default=default)
        return parser.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

    def main(config, dir_tree, logger, pbar):
        curve = json.loads((Path(os.environ["CURVES"]) / (dir_tree.experiment_dir.name + ".json")).read_text())
        report = os.environ.get("REPORT") == "1"
        slept = 0.0
        for epoch in range(1, config.epochs + 1):
            pause = curve["seconds"][epoch - 1]
            time.sleep(pause)
            slept += pause
            value = curve["values"][epoch - 1]
            line = f"final {time.time()} {value} {slept}\\n" if epoch == config.epochs else ""
            if report:
                try:
                    dir_tree.report(epoch, value)
                except BaseException:
                    line = f"stopped {time.time()} {slept}\\n"
                    raise
                finally:
                    if line:
                        _log(line)
                        line = ""
            if line:
                _log(line)

    def _log(line):
        fd = os.open(os.environ["SYSTEM_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, line.encode())
        os.close(fd)
''')


def schedule(space: dict, seed: int, n: int) -> str:
    adaptive = dict(search_space=space, metric="val_accuracy", direction="max", eta=3, min_resource=3,
                    max_resource=52, resource_key="epochs", mode="stop", sampler="random", max_experiments=n,
                    seed=seed)
    return (f"from main import get_run_args\nALG_NAMES = ['mlp']\nTASK_NAMES = ['t']\nSEEDS = [1]\n"
            f"ADAPTIVE = {adaptive!r}\n")


def run_search(base: Path, name: str, problem, space: dict, seed: int, n: int, *, report: bool, wall_s: float,
               scale: float) -> dict:
    project = base / name
    (project / "schedules").mkdir(parents=True)
    (project / "main.py").write_text(MAIN)
    (project / "schedules" / "adaptive_schedule_s.py").write_text(schedule(space, seed, n))
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "CURVES": str(project / "curves"),
           "SYSTEM_LOG": str(project / "system.log"), "REPORT": "1" if report else "0"}
    run = lambda *a: subprocess.run([sys.executable, "-m", *a], cwd=project, env=env,  # noqa: E731
                                    capture_output=True, text=True)
    prep = run("alfred.prepare_schedule", "--schedule_file", "schedules/adaptive_schedule_s.py", "--yes")
    assert prep.returncode == 0, prep.stdout + prep.stderr
    storage = next((project / "storage").iterdir())
    experiments = sorted(storage.glob("experiment*"), key=lambda p: int(p.name[len("experiment"):]))
    configs = [json.loads((e / "seed1" / "config.json").read_text()) for e in experiments]
    c = problem.curves(configs, tuple(range(1, 53)))
    (project / "curves").mkdir()
    for e, values, times in zip(experiments, c.values, c.times):
        seconds = np.diff(np.concatenate([[0.0], times])) * scale
        (project / "curves" / f"{e.name}.json").write_text(json.dumps({"values": values.tolist(),
                                                                        "seconds": seconds.tolist()}))
    start = time.time()
    launcher = subprocess.Popen([sys.executable, "-m", "alfred.launch_schedule", "--from_file",
                                 "schedules/list_searches_s.txt", "--n_processes", "4", "--no_summary",
                                 "--log_level", "WARNING"], cwd=project, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        launcher.wait(timeout=wall_s)
    except subprocess.TimeoutExpired:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait()
    wall = min(time.time() - start, wall_s)
    finals, slept = [], 0.0
    log = project / "system.log"
    for line in log.read_text().splitlines() if log.exists() else []:
        parts = line.split()
        if parts[0] == "final":
            finals.append((float(parts[1]) - start, float(parts[2])))
        slept += float(parts[-1]) if parts[0] in ("final", "stopped") else 0.0
    return {"finals": sorted(finals), "wall": wall, "slept": slept}


def regret_at(finals: list[tuple[float, float]], t: float, ref: dict) -> float:
    done = [v for when, v in finals if when <= t]
    if not done:
        return 1.0
    return float(np.clip((ref["best"] - max(done)) / (ref["best"] - ref["median"]), 0.0, None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=24.0, help="worker time, in median full trainings")
    parser.add_argument("--full_s", type=float, default=1.0, help="seconds a median full training sleeps")
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None)
    args = parser.parse_args()
    from adaptive_sim.problems import LCBench, lcbench_session, lcbench_tasks, reference

    session = lcbench_session()
    base = Path(tempfile.mkdtemp(prefix="alfred-adaptive-system-", dir=args.dir))
    rows = {"random": [], "ASHA stop": []}
    overhead = []
    for task in lcbench_tasks()[:args.tasks]:
        problem = LCBench(task, session=session)
        ref = reference(problem)
        scale = args.full_s / ref["full_time"]
        space = {p.name: {"type": "int" if type(p).__name__ == "IntParam" else "float", "low": p.low,
                          "high": p.high, "log": p.log} for p in problem.space.params}
        wall_s = args.budget * args.full_s / 4
        per_task = {"random": [], "ASHA stop": []}
        for seed in range(args.seeds):
            for label, report, n in (("random", False, int(2 * args.budget)), ("ASHA stop", True,
                                                                                int(20 * args.budget))):
                r = run_search(base, f"{task}-{seed}-{'asha' if report else 'random'}", problem, space, seed, n,
                               report=report, wall_s=wall_s, scale=scale)
                per_task[label].append([regret_at(r["finals"], wall_s / 3, ref),
                                        regret_at(r["finals"], wall_s, ref)])
                overhead.append(1 - r["slept"] / (4 * r["wall"]))
                print(f"task {task} seed {seed} {label}: {len(r['finals'])} trained to epoch 52, regret at 1/3 "
                      f"{per_task[label][-1][0]:.3f}, at the end {per_task[label][-1][1]:.3f}", flush=True)
        for label in rows:
            rows[label].append(np.mean(per_task[label], axis=0))
    print(f"\n{args.tasks} LCBench tasks x {args.seeds} seeds, 4 workers, budget {args.budget:g} full trainings "
          f"({args.budget * args.full_s / 4:.1f} s of wall time), a median full training = {args.full_s:g} s\n")
    print("| strategy | regret at 1/3 budget | regret at full budget |\n|---|---:|---:|")
    for label, values in rows.items():
        med = np.median(np.array(values), axis=0)
        print(f"| {label} | {med[0]:.3f} | {med[1]:.3f} |")
    print(f"\nworkers' time not spent in main's sleeps (process starts, alfred, the launcher's ramp-up and the "
          f"unfinished end): median {np.median(overhead):.1%}")


if __name__ == "__main__":
    main()
