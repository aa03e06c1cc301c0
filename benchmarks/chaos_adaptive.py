"""Chaos in an adaptive search: the faults of chaos.py, then every rung record and decision checked.

    python benchmarks/chaos_adaptive.py [--mode stop|promote] [--searches 5] [--seconds 60] [--seed 0]

Each of ``--searches`` adaptive searches (spec seeds 0, 1, ...) minimises multi-fidelity Hartmann-6
(``--preset``: "good" by default, "terrible" where low fidelities rank configurations poorly) over
``--configs`` configurations: fidelity 3 to 27 (``eta`` 3, rungs at 3 and 9), each step 80 ms;
main appends a line per step to its recorder, keeps a checkpoint, calls
``dir_tree.report(step, value)`` and logs what it was told. Every search runs twice from the same
configurations: once without faults (1 launcher, 4 workers), and once with ``--kill`` (20%) of its
runs SIGKILLed at a random step before their next rung (the run kills its own worker process)
under chaos.py's faults for ``--seconds`` (launchers under other hostnames and in other PID
namespaces, SIGKILL, SIGSTOP/SIGCONT, preemption, cleaners, stalls in the protocol's windows and
between a rung record and its alias or a promotion's marker and its rename), then cleaned and
relaunched until nothing is left. Checked in every chaos search:

  seeds not terminal        seeds without exactly one of COMPLETED, PRUNED, PAUSED.<step>
  records per trial         every rung's trials have one record and one alias with its value
  lost records              a main told a decision at a rung where the trial has no record
  decisions made twice      a trial told "continue" and "stopped" at one rung (stop mode), or
                            told "paused" after it was told "continue" there (promote mode)
  promotions without a mark a run that went past a rung it paused at with no .promoted record
  foreign writes            as chaos.py: recorder lines of runs that held no claim of the seed,
                            or of a run after a later run's lines

and the final regret (normalised: the full-fidelity Hartmann-6 value of the configuration with the
best value at fidelity 27 above the function's minimum, over the median random configuration's) of
the chaos searches against the fault-free ones: mean over searches and a 95% bootstrap interval of
the fault-free mean.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import chaos  # noqa: E402  (benchmarks/chaos.py: the faults)

# Stalls in the adaptive windows too: between a rung record and its alias, between a promotion's
# marker and the rename that sends its seed back.
chaos.LAUNCH_STALLS = (*chaos.LAUNCH_STALLS, "between_record_and_alias", "between_promotion_and_unpause")
RUNGS = (3, 9, 27)  # min_resource 3, eta 3, max_resource 27: decisions at 3 and 9, final values at 27

MAIN = textwrap.dedent('''
    import argparse, json, os, random, signal, sys, time
    sys.path.insert(0, os.environ["CHAOS_BENCH"])
    import numpy as np
    from adaptive_sim.problems import Hartmann6
    from alfred.utils import Preempted

    PROBLEM = Hartmann6(os.environ["CHAOS_PRESET"])
    KILL = float(os.environ.get("CHAOS_KILL", "0"))

    def get_run_args(overwritten_cmd_line=None):
        parser = argparse.ArgumentParser()
        for name, kind, default in (("alg_name", str, "hart"), ("task_name", str, "t"), ("desc", str, ""),
                                    ("seed", int, 0), ("max_steps", int, 27), ("step_s", float, 0.08),
                                    *((f"x{j}", float, 0.5) for j in range(6))):
            parser.add_argument("--" + name, type=kind, default=default)
        return parser.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

    def log(line):
        fd = os.open(os.environ["CHAOS_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, (line + "\\n").encode())
        os.close(fd)

    def main(config, dir_tree, logger, pbar):
        token = dir_tree.run_token
        ckpt = dir_tree.incrementals_dir / "ckpt.json"
        start = json.loads(ckpt.read_text())["step"] if ckpt.exists() else 0
        x = np.array([[getattr(config, f"x{j}") for j in range(6)]])
        log(f"start {dir_tree.seed_dir} {token} {start}")
        # This run is SIGKILLed, with probability KILL, at a random step before its next rung (which
        # every run reaches: the rung decides whether it goes further).
        doomed = KILL and random.Random(token).random() < KILL
        next_rung = min(r for r in (3, 9, 27) if r > start)
        kill_at = random.Random(token + "k").randint(start + 1, next_rung) if doomed else None
        for step in range(start + 1, config.max_steps + 1):
            if step == kill_at:
                log(f"killed {dir_tree.seed_dir} {token} {step}")
                os.kill(os.getpid(), signal.SIGKILL)
            value = float(PROBLEM.value(x, np.array([step]))[0, 0])
            with open(dir_tree.recorders_dir / "train_recorder.jsonl", "a") as f:
                f.write(json.dumps({"step": step, "value": value, "token": token}) + "\\n")
            time.sleep(config.step_s)
            tmp = dir_tree.incrementals_dir / "ckpt.tmp"
            tmp.write_text(json.dumps({"step": step, "token": token}))
            os.replace(tmp, ckpt)
            try:
                dir_tree.report(step, value)
            except Preempted as e:
                told = {"Pruned": "stopped", "Paused": "paused"}.get(type(e).__name__)
                if told:
                    log(f"told {dir_tree.seed_dir} {token} {step} {told}")
                raise
            log(f"told {dir_tree.seed_dir} {token} {step} continue")
''')


def schedule(mode: str, configs: int, seed: int) -> str:
    space = {f"x{j}": {"type": "float", "low": 0.0, "high": 1.0} for j in range(6)}
    adaptive = dict(search_space=space, metric="hartmann6", direction="min", eta=3, min_resource=3, max_resource=27,
                    resource_key="max_steps", mode=mode, sampler="random", max_experiments=configs, seed=seed)
    return (f"from main import get_run_args\nALG_NAMES = ['hart']\nTASK_NAMES = ['t']\nSEEDS = [1]\n"
            f"ADAPTIVE = {adaptive!r}\n")


class AdaptiveChaos(chaos.Chaos):
    def all_done(self) -> bool:
        from alfred.protocol.seed_state import SeedState, seed_state

        storage = next((self.project / "storage").iterdir())
        return all(seed_state(p).state not in (SeedState.UNHATCHED, SeedState.RUNNING, SeedState.INTERRUPTED)
                   for p in storage.glob("experiment*/seed*"))


def prepare(base: Path, name: str, mode: str, configs: int, seed: int, env: dict) -> tuple[Path, Path]:
    project = base / name
    (project / "schedules").mkdir(parents=True)
    (project / "main.py").write_text(MAIN)
    (project / "schedules" / "adaptive_schedule_hart.py").write_text(schedule(mode, configs, seed))
    prep = chaos.run_alfred(project, env, "alfred.prepare_schedule", "--schedule_file",
                            "schedules/adaptive_schedule_hart.py", "--yes")
    assert prep.returncode == 0, prep.stdout + prep.stderr
    return project, next((project / "storage").iterdir())


def finish(project: Path, env: dict, list_file: str, done, wait_s: float) -> int:
    rounds = 0
    while True:  # reset what died (judged by heartbeat past the claims' 10 s), run what is left
        rounds += 1
        time.sleep(wait_s)
        # --stale_after_s 10 as the launches: a claim whose holder died before writing its facts
        # (stopped right after its rename, then its launcher killed) records no threshold of its own.
        chaos.run_alfred(project, env, "alfred.clean_interrupted", "--from_file", list_file, "--yes",
                         "--clean_crashes", "--stale_after_s", "10")
        launch = chaos.run_alfred(project, env, "alfred.launch_schedule", "--from_file", list_file, "--n_processes",
                                  "4", "--no_summary", "--max_attempts", "1000", "--max_releases", "1000")
        if (launch.returncode == 0 and done()) or rounds >= 40:  # a cleaner killed on another node holds
            return rounds  # CLEAN_ONGOING for 5 min (judged by age): wait that out, not longer


def final_regret(storage: Path, preset: str) -> float:
    """Normalised simple regret of the configuration the search recommends (the best value at fidelity
    27): its Hartmann-6 value at full fidelity (no bias, no noise) above the function's minimum, over
    the median random configuration's (0: the optimum, 1: no better than the median)."""
    from adaptive_sim.problems import HARTMANN6_MIN, Hartmann6

    best = None
    for rung in (storage / "rungs").glob("bracket*/step27"):
        for n in os.listdir(rung):
            if "=" in n and (best is None or float(n.split("=", 1)[1]) < best[0]):
                best = (float(n.split("=", 1)[1]), n.split("=", 1)[0])
    if best is None:
        return float("nan")
    experiment, seed = best[1].split("-", 1)
    config = json.loads((storage / experiment / seed / "config.json").read_text())
    x = np.array([[config[f"x{j}"] for j in range(6)]])
    value = float(Hartmann6(preset).value(x, np.array([100]))[0, 0])
    return (value - HARTMANN6_MIN) / (_median_value(preset) - HARTMANN6_MIN)


def _median_value(preset: str) -> float:
    """The median full-fidelity value of random configurations (normalised regret 1)."""
    from adaptive_sim.problems import Hartmann6, reference

    return reference(Hartmann6(preset))["median"]


def check(storage: Path, log: Path, mode: str) -> dict:
    from alfred.protocol.layout import is_seed_flag

    found = collections.Counter()
    told: dict[tuple[str, int], list[str]] = collections.defaultdict(list)
    starts: dict[str, list[int]] = collections.defaultdict(list)
    for line in log.read_text().splitlines() if log.exists() else []:
        parts = line.split()
        if parts[0] == "told":  # a report at a step past a rung answers for that rung (a resumed run's first)
            rung = max((r for r in RUNGS if r <= int(parts[3])), default=None)
            if rung is not None:
                told[(Path(parts[1]).parent.name + "-" + Path(parts[1]).name, rung)].append(parts[4])
        elif parts[0] == "start":
            starts[parts[1]].append(int(parts[3]))
    records: dict[tuple[str, int], float] = {}
    promoted: set[tuple[str, int]] = set()
    for rung in sorted((storage / "rungs").glob("bracket*/step*")):
        step = int(rung.name[len("step"):])
        names = os.listdir(rung)
        aliases = collections.Counter(n.split("=", 1)[0] for n in names if "=" in n)
        for n in names:
            if n.endswith(".promoted"):
                promoted.add((n[:-len(".promoted")], step))
            elif "=" not in n and "." not in n:
                found["records"] += 1
                value = float((rung / n).read_text())
                records[(n, step)] = value
                alias = [a for a in names if a.startswith(n + "=")]
                found["trials without exactly one record and one alias"] += aliases[n] != 1 or len(alias) != 1 or \
                    float(alias[0].split("=", 1)[1]) != value if alias else 1
    for seed in storage.glob("experiment*/seed*"):
        flags = [n for n in os.listdir(seed) if is_seed_flag(n) or n == "PRUNED" or n.startswith("PAUSED.")]
        terminal = [n for n in flags if n in ("COMPLETED", "PRUNED") or n.startswith("PAUSED.")]
        found["seeds not terminal"] += len(flags) != 1 or len(terminal) != 1
        found["seeds"] += 1
        found[f"ended {terminal[0].split('.')[0]}" if terminal else "ended other"] += 1
        claims = {tok for tok in chaos._lines(seed / "recorders" / "train_recorder.jsonl")}
        found["foreign writes"] += chaos._foreign(chaos._lines(seed / "recorders" / "train_recorder.jsonl"),
                                                  claims, False)
    for (trial, step), answers in told.items():
        found["decisions told"] += len(answers)
        if (trial, step) not in records:
            found["lost records"] += 1
        if mode == "stop":
            found["decisions made twice"] += len(set(answers)) > 1
        else:
            if "continue" in answers and "paused" in answers[answers.index("continue"):]:
                found["decisions made twice"] += 1
            if "continue" in answers and step != 27 and (trial, step) not in promoted:
                found["promotions without a mark"] += 1
    found["promotions"] = len(promoted)
    return dict(found)


def bootstrap_ci(values: list[float], rng: np.random.Generator, n: int = 10000) -> tuple[float, float]:
    means = rng.choice(values, size=(n, len(values)), replace=True).mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("stop", "promote"), default="stop")
    parser.add_argument("--searches", type=int, default=5)
    parser.add_argument("--configs", type=int, default=81)
    parser.add_argument("--launchers", type=int, default=2)
    parser.add_argument("--preset", choices=("good", "terrible"), default="good",
                        help="Hartmann-6's fidelity correlation (mf-prior-bench's presets)")
    parser.add_argument("--kill", type=float, default=0.2, help="the share of runs SIGKILLed at a random step")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="where to make the searches (default: a temp folder)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = Path(tempfile.mkdtemp(prefix="alfred-chaos-adaptive-", dir=args.dir))
    repo = str(HERE.parent)
    sys.path.insert(0, repo)
    clean_final, chaos_final = [], []
    totals: collections.Counter = collections.Counter()
    actions: collections.Counter = collections.Counter()
    logs, killed, started = "", 0, 0
    for s in range(args.searches):
        for kind in ("clean", "chaos"):
            env = {**os.environ, "PYTHONPATH": repo, "CHAOS_BENCH": str(HERE),
                   "CHAOS_LOG": str(base / f"{kind}{s}.log"), "CHAOS_KILL": str(args.kill if kind == "chaos" else 0),
                   "CHAOS_PRESET": args.preset}
            project, storage = prepare(base, f"{kind}{s}", args.mode, args.configs, s, env)
            list_file = "schedules/list_searches_hart.txt"
            start = time.time()
            if kind == "clean":
                launch = chaos.run_alfred(project, env, "alfred.launch_schedule", "--from_file", list_file,
                                          "--n_processes", "4", "--no_summary")
                assert launch.returncode == 0, launch.stdout[-2000:] + launch.stderr[-2000:]
                clean_final.append(final_regret(storage, args.preset))
                print(f"search {s} without faults: {time.time() - start:.0f} s, regret {clean_final[-1]:.3f}",
                      flush=True)
                continue
            c = AdaptiveChaos(project, list_file, args.launchers, rng, env)
            while time.time() - start < args.seconds and not c.all_done():
                c.step()
                time.sleep(rng.uniform(0.2, 0.8))
            c.settle()
            rounds = finish(project, env, list_file, c.all_done, 11.0)
            actions.update(c.done)
            logs += "".join(p.read_text() for p in project.glob("launcher*.log"))
            found = check(storage, base / f"chaos{s}.log", args.mode)
            text = (base / f"chaos{s}.log").read_text()
            killed, started = killed + text.count("killed "), started + text.count("start ")
            totals.update(found)
            chaos_final.append(final_regret(storage, args.preset))
            print(f"search {s} under chaos: {time.time() - start:.0f} s ({rounds} finishing rounds), "
                  f"regret {chaos_final[-1]:.3f}, {json.dumps(found)}", flush=True)
    print(f"\nmode {args.mode}, Hartmann-6 {args.preset}: {args.searches} searches of {args.configs} "
          f"configurations, each without faults "
          f"and under {args.seconds:.0f} s of chaos\n")
    print("| action (done) | times |\n|---|---:|")
    for action, n in sorted(actions.items()):
        print(f"| {action} | {n} |")
    share = f"{killed / max(started, 1):.0%}"
    print(f"| runs SIGKILLed at a random step (of {started} runs started) | {killed} ({share}) |")
    print(f"| runs fenced (LOST) | {logs.count('LOST ')} |")
    print(f"| crashes recorded for killed workers | {logs.count('its worker process killed by SIGKILL')} |")
    keys = ["seeds not terminal", "trials without exactly one record and one alias", "lost records",
            "decisions made twice", "promotions without a mark", "foreign writes"]
    print("\n| check | result |\n|---|---:|")
    for key in ["seeds", "records", "decisions told", "promotions", *sorted(k for k in totals if k.startswith("ended")),
                *keys]:
        print(f"| {key} | {totals.get(key, 0)} |")
    lo, hi = bootstrap_ci(clean_final, np.random.default_rng(0))
    inside = lo <= float(np.mean(chaos_final)) <= hi
    print(f"\nfinal regret, mean over searches: without faults {np.mean(clean_final):.3f} "
          f"(95% CI [{lo:.3f}, {hi:.3f}]), under chaos {np.mean(chaos_final):.3f}: "
          f"{'inside' if inside else 'OUTSIDE'} the interval")
    ok = not any(totals.get(k, 0) for k in keys)
    print(f"\n{'OK' if ok else 'FAILED'}: folder {base}")
    if ok:
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
