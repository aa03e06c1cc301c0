"""Chaos: launchers, workers and cleaners killed, stopped and resumed at random; nothing may be lost.

    python benchmarks/chaos.py [--seeds 500] [--launchers 3] [--seconds 90] [--seed 0]

A search of ``--seeds`` seeds (each run: 10 steps of 70 ms, each step appending a line
with the run's claim token to its recorder and rewriting a checkpoint, by path) is launched by
``--launchers`` launchers of 2 worker processes each. Each launcher runs under its own
hostname (``unshare -u``, when this machine allows it), as on its own node, so that cleaners
judge its workers by their heartbeats. For ``--seconds``, at random moments, the script:

  SIGKILLs a worker              (the launcher records a CRASH and starts another worker)
  SIGKILLs a launcher            (its workers release their seeds and stop), starts a new one
  SIGSTOPs a worker for 1-3 s    (a cleaner may reset its seed meanwhile: SIGCONT must fence it)
  runs 1-2 cleaners at once      (clean_interrupted --clean_crashes --stale_after_s 1)
  SIGKILLs a cleaner mid-clean

Then it lets everything finish (clean --clean_crashes and relaunch until every seed is
COMPLETED) and checks every seed folder and every attempt folder:

  lost results        seeds not COMPLETED at the end (must be 0)
  double completions  a COMPLETED in an attempt folder beside the seed's own (must be 0)
  unaccounted runs    runs whose main finished without a claim recorded in the seed folder or
                      one of its attempts (must be 0)
  foreign writes      recorder lines or checkpoints, in a seed folder or an attempt folder,
                      written by a run other than those whose claims that folder held
                      (must be 0)

and prints a table of what was done and found.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHAOS_MAIN = textwrap.dedent('''
    import argparse, glob, json, os, time

    def get_run_args(overwritten_cmd_line=None):
        parser = argparse.ArgumentParser()
        for name, kind, default in (("alg_name", str, "chaos"), ("task_name", str, "t"), ("desc", str, ""),
                                    ("seed", int, 0), ("lr", float, 0.1), ("steps", int, 10), ("step_s", float, 0.07)):
            parser.add_argument("--" + name, type=kind, default=default)
        return parser.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

    def main(config, dir_tree, logger, pbar):
        token = glob.glob(str(dir_tree.seed_dir / "OPENED.*"))[0].rsplit(".", 1)[1]
        for step in range(config.steps):
            with open(dir_tree.recorders_dir / "train_recorder.jsonl", "a") as f:
                f.write(json.dumps({"step": step, "score": config.lr, "token": token}) + "\\n")
            (dir_tree.incrementals_dir / "ckpt.txt").write_text(token)
            time.sleep(config.step_s)
        fd = os.open(os.environ["CHAOS_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, f"done {dir_tree.seed_dir} {token}\\n".encode())
        os.close(fd)
''')


def can_unshare() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-u", "true"],
                                                                  capture_output=True).returncode == 0


class Chaos:
    def __init__(self, project: Path, list_file: str, launchers: int, rng: random.Random, env: dict):
        self.project, self.list_file, self.rng, self.env = project, list_file, rng, env
        self.unshare = can_unshare()
        self.launchers: list[subprocess.Popen] = []
        self.cleaners: list[subprocess.Popen] = []
        self.stopped: dict[int, float] = {}  # pid -> when to SIGCONT it
        self.done = collections.Counter()
        self.outputs: list[str] = []
        self.n_launched = 0
        for _ in range(launchers):
            self.start_launcher()

    def start_launcher(self) -> None:
        self.n_launched += 1
        cmd = [sys.executable, "-m", "alfred.launch_schedule", "--from_file", self.list_file, "--n_processes", "2",
               "--heartbeat_s", "0.3", "--no_summary", "--max_attempts", "1000", "--log_level", "WARNING"]
        if self.unshare:
            cmd = ["unshare", "-u", "sh", "-c", f'hostname chaos-node-{self.n_launched} && exec "$@"', "sh", *cmd]
        out = open(self.project / f"launcher{self.n_launched}.log", "w")
        self.launchers.append(subprocess.Popen(cmd, cwd=self.project, env=self.env, stdout=out,
                                               stderr=subprocess.STDOUT))

    def workers(self) -> list[int]:
        alive = {p.pid for p in self.launchers if p.poll() is None}
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) in alive:
                    found.append(int(entry))
        return found

    def step(self) -> None:
        now = time.time()
        for pid, until in list(self.stopped.items()):
            if now >= until:
                _signal(pid, signal.SIGCONT)
                del self.stopped[pid]
        finished = [p for p in self.launchers if p.poll() is not None]
        self.launchers = [p for p in self.launchers if p.poll() is None]
        if finished and not self.all_done():
            self.start_launcher()  # keep launchers running while seeds are left
        action = self.rng.choice(["kill_worker", "kill_launcher", "stop_worker", "clean", "clean", "kill_cleaner"])
        workers = self.workers()
        if action == "kill_worker" and workers:
            _signal(self.rng.choice(workers), signal.SIGKILL)
        elif action == "kill_launcher":
            running = [p for p in self.launchers if p.poll() is None]
            if running:
                victim = self.rng.choice(running)
                victim.kill()
                victim.wait()
                self.start_launcher()
        elif action == "stop_worker" and workers:
            pid = self.rng.choice(workers)
            if pid not in self.stopped and _signal(pid, signal.SIGSTOP):
                self.stopped[pid] = now + self.rng.uniform(1.0, 3.0)
        elif action == "clean":
            for _ in range(self.rng.choice([1, 2])):
                self.cleaners.append(subprocess.Popen(
                    [sys.executable, "-m", "alfred.clean_interrupted", "--from_file", self.list_file, "--yes",
                     "--clean_crashes", "--stale_after_s", "1"], cwd=self.project, env=self.env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        elif action == "kill_cleaner":
            running = [c for c in self.cleaners if c.poll() is None]
            if running:
                self.rng.choice(running).kill()
        self.done[action] += 1
        self.cleaners = [c for c in self.cleaners if c.poll() is None]

    def all_done(self) -> bool:
        storage = next((self.project / "storage").glob("*_chaos"))
        return all((p / "COMPLETED").exists() for p in storage.glob("experiment*/seed*"))

    def settle(self) -> None:
        for pid in self.stopped:
            _signal(pid, signal.SIGCONT)
        self.stopped.clear()
        for c in self.cleaners:
            c.wait()
        for p in self.launchers:
            p.wait()


def _signal(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def run_alfred(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=project, env=env, capture_output=True, text=True)


def check(storage: Path, log: Path) -> dict:
    """Every seed and attempt folder: who completed, who wrote what.

    A run may write only into the folder of a claim it holds. A released run (preempted,
    stopped by a signal) leaves its files in place for the next attempt to resume from, so a
    seed's live folder may hold its owner's lines and those of earlier released attempts; the
    folder of an attempt a cleaner reset holds that attempt's lines and those of the released
    attempts before it. A line from any other run is a foreign write: a run that went on
    writing after it lost its seed.
    """
    from alfred.protocol.listing import iter_seed_dirs
    from alfred.protocol.seed_state import read_flag_info

    lost = foreign = attempts = double_completions = unaccounted = n_seeds = 0
    done_by_seed: dict[str, list[str]] = collections.defaultdict(list)  # seed -> tokens whose main finished
    for line in log.read_text().splitlines() if log.exists() else []:
        seed_dir, token = line[len("done "):].rsplit(" ", 1)
        done_by_seed[seed_dir].append(token)
    for _, _, seed_dir in iter_seed_dirs(storage):
        n_seeds += 1
        seed = Path(seed_dir)
        if not (seed / "COMPLETED").exists():
            lost += 1
            continue
        owner = read_flag_info(seed / "COMPLETED").get("token")
        released: set[str] = set()
        folders = sorted((seed / "attempts").glob("*"), key=lambda p: int(p.name)) \
            if (seed / "attempts").is_dir() else []
        for attempt in folders:
            attempts += 1
            holder = _holder(attempt)
            if (attempt / "RELEASED").exists():
                released.add(holder)
                foreign += len(_tokens(attempt))  # a release leaves its files in the seed folder
            else:
                foreign += len(_tokens(attempt) - released - {holder})
        live = _tokens(seed)
        foreign += len(live - released - {owner})
        ckpt = seed / "incrementals" / "ckpt.txt"
        foreign += ckpt.exists() and ckpt.read_text() != owner
        # one COMPLETED per seed, never one in an attempt folder (a reset never moves a COMPLETED)
        double_completions += any((a / "COMPLETED").exists() for a in folders)
        # every run whose main finished held a claim of this seed: the owner or a recorded attempt
        unaccounted += len(set(done_by_seed[seed_dir]) - {owner} - {_holder(a) for a in folders})
    return {"seeds": n_seeds, "lost results (not COMPLETED)": lost, "double completions": double_completions,
            "runs that held no recorded claim": unaccounted, "foreign writes": foreign, "attempt folders": attempts,
            "seeds whose main finished more than once (re-runs of unrecorded runs)": sum(
                len(tokens) > 1 for tokens in done_by_seed.values())}


def _holder(attempt: Path) -> str | None:
    from alfred.protocol.seed_state import read_flag_info

    for name in ("OPENED", "CRASH.txt"):
        if (attempt / name).exists():
            return read_flag_info(attempt / name).get("token")
    return None


def _tokens(folder: Path) -> set[str]:
    """The runs whose lines are in the folder's recorder (lines torn by a SIGKILL mid-write skipped)."""
    found = set()
    try:
        text = (folder / "recorders" / "train_recorder.jsonl").read_text()
    except FileNotFoundError:
        return found
    for line in text.splitlines():
        try:
            found.add(json.loads(line)["token"])
        except (ValueError, KeyError):
            pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--launchers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="where to make the search (default: a temp folder)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = Path(tempfile.mkdtemp(prefix="alfred-chaos-", dir=args.dir))
    project = base / "project"
    (project / "schedules").mkdir(parents=True)
    (project / "main.py").write_text(CHAOS_MAIN)
    n_lr = max(1, args.seeds // 5)
    (project / "schedules" / "grid_schedule_chaos.py").write_text(
        f"from main import get_run_args\nALG_NAMES = ['chaos']\nTASK_NAMES = ['t']\nSEEDS = [1, 2, 3, 4, 5]\n"
        f"VARIATIONS = {{'lr': [round(0.001 * i, 6) for i in range(1, {n_lr + 1})]}}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CHAOS_LOG": str(base / "done.log")}
    prep = run_alfred(project, env, "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_chaos.py",
                      "--yes")
    assert prep.returncode == 0, prep.stdout + prep.stderr
    list_file = "schedules/list_searches_chaos.txt"
    storage = next((project / "storage").glob("*_chaos_*"))

    start = time.time()
    chaos = Chaos(project, list_file, args.launchers, rng, env)
    while time.time() - start < args.seconds:
        chaos.step()
        time.sleep(rng.uniform(0.2, 0.8))
    chaos.settle()
    chaos_s = time.time() - start
    rounds = 0
    while True:  # let it finish: reset what died, run what is left
        rounds += 1
        run_alfred(project, env, "alfred.clean_interrupted", "--from_file", list_file, "--yes", "--clean_crashes",
                   "--stale_after_s", "1")
        launch = run_alfred(project, env, "alfred.launch_schedule", "--from_file", list_file, "--n_processes", "2",
                            "--no_summary", "--max_attempts", "1000")
        if launch.returncode == 0 or rounds >= 5:
            break
    logs = "".join(p.read_text() for p in project.glob("launcher*.log"))
    sys.path.insert(0, str(REPO))
    results = check(storage, base / "done.log")
    print(f"chaos on {results['seeds']} seeds: {chaos_s:.0f} s of chaos with {args.launchers} launchers of 2 workers "
          f"({chaos.n_launched} launchers started in all; hostnames per launcher: "
          f"{'yes' if chaos.unshare else 'no (unshare -u not allowed: one host)'}), then {rounds} clean+launch "
          "round(s) to finish\n")
    print("| action | times |\n|---|---:|")
    for action, n in sorted(chaos.done.items()):
        print(f"| {action} | {n} |")
    print(f"| worker runs fenced (LOST: their seed was reset while they were stopped) | {logs.count('LOST ')} |")
    print(f"| crashes recorded for killed workers | {logs.count('its worker process killed by SIGKILL')} |")
    print("\n| check | result |\n|---|---:|")
    for key, value in results.items():
        print(f"| {key} | {value} |")
    ok = not (results["lost results (not COMPLETED)"] or results["double completions"] or results["foreign writes"]
              or results["runs that held no recorded claim"])
    print(f"\n{'OK' if ok else 'FAILED'}: folder {base}")
    if ok:
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
