"""Chaos: launchers, workers and cleaners killed, stopped, stalled in every window; nothing may be lost.

    python benchmarks/chaos.py [--seeds 500] [--launchers 3] [--seconds 300] [--seed 0]

A search of ``--seeds`` seeds (each run: 10 steps of 70 ms; each step appends a line with the
run's claim token to its recorder and rewrites its checkpoint, both by path) is launched by
``--launchers`` launchers of 2 worker processes each (``--heartbeat_s 0.3 --stale_after_s 10``).
Launchers run as on other nodes: under their own hostname (``unshare -u``), every other one also
in its own PID namespace (``unshare -p``), some in a PID namespace of their own under this
machine's hostname (as in a container sharing it). For ``--seconds``, at random moments, the
script does one of:

  kill_worker      SIGKILL a worker            (its launcher records a CRASH, starts another)
  kill_launcher    SIGKILL a launcher          (its workers release their seeds and stop)
  term_launcher    SIGTERM a launcher          (the same, through the launcher)
  preempt_worker   SIGTERM a worker            (Preempted in main: the seed is released)
  stop_worker      SIGSTOP a worker for 2-20 s (over 7.5 s its lease runs out: it stops its own
                   run when it resumes, and a cleaner may reset its seed meanwhile)
  clean            1-2 clean_interrupted --clean_crashes at once
  kill_cleaner     SIGKILL a running cleaner
  stall_launcher   start a launcher one of whose workers stops itself (ALFRED_STALL_AT) right
                   after a claim's rename, before main, before a release decides, before a
                   completion decides or while it publishes; resumed 2-20 s later
  stall_cleaner    start a cleaner that stops itself before a seed, after a reset decided or
                   before it ends; resumed 2-20 s later (its lock may be taken over meanwhile)

Every action is counted when it was done (a process signalled, a stall reached), not when
drawn. Then it lets everything finish (clean --clean_crashes and relaunch until nothing is
left) and checks every seed folder, every attempt folder and every run folder:

  lost results       seeds not COMPLETED at the end
  flags              seeds holding other than exactly one flag
  double completions a COMPLETED anywhere but the seed's own flag
  unaccounted runs   runs whose main finished without a claim recorded in the seed folder or
                     one of its attempts
  foreign writes     in any recorder: a line of a run that held no claim of that seed, a line of a
                     run after a line of a later run (a run that wrote after it lost its seed:
                     each run's lines come in one block, in claim order), any line in a folder a
                     fenced run recreated; a checkpoint not the owner's at the end

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
    import argparse, json, os, time

    def get_run_args(overwritten_cmd_line=None):
        parser = argparse.ArgumentParser()
        for name, kind, default in (("alg_name", str, "chaos"), ("task_name", str, "t"), ("desc", str, ""),
                                    ("seed", int, 0), ("lr", float, 0.1), ("steps", int, 10), ("step_s", float, 0.07)):
            parser.add_argument("--" + name, type=kind, default=default)
        return parser.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

    def main(config, dir_tree, logger, pbar):
        token = dir_tree.run_token
        for step in range(config.steps):
            with open(dir_tree.recorders_dir / "train_recorder.jsonl", "a") as f:
                f.write(json.dumps({"step": step, "score": config.lr, "token": token}) + "\\n")
            (dir_tree.incrementals_dir / "ckpt.txt").write_text(token)
            time.sleep(config.step_s)
        fd = os.open(os.environ["CHAOS_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, f"done {dir_tree.seed_dir} {token}\\n".encode())
        os.close(fd)
''')

LAUNCH_STALLS = ("after_claim_rename", "before_main", "before_release_rename", "before_complete_rename",
                 "while_publishing")
CLEAN_STALLS = ("clean_before_seed", "after_reset_decision", "before_reset_rename")
ACTIONS = ("kill_worker", "kill_launcher", "term_launcher", "preempt_worker", "stop_worker", "stop_worker", "clean",
           "clean", "kill_cleaner", "stall_launcher", "stall_cleaner")


def can(*cmd: str) -> bool:
    return shutil.which(cmd[0]) is not None and subprocess.run(cmd, capture_output=True).returncode == 0


class Chaos:
    def __init__(self, project: Path, list_file: str, launchers: int, rng: random.Random, env: dict):
        self.project, self.list_file, self.rng, self.env = project, list_file, rng, env
        self.uts = can("unshare", "-u", "true")
        self.pidns = can("unshare", "-p", "-f", "--mount-proc", "true")
        self.launchers: list[subprocess.Popen] = []
        self.cleaners: list[subprocess.Popen] = []
        self.stopped: dict[int, float] = {}  # pid -> when to SIGCONT it
        self.stalls: list[tuple[Path, str]] = []  # markers of stall points not reached yet
        self.done: collections.Counter = collections.Counter()
        self.n_launched = 0
        self.n_markers = 0
        for _ in range(launchers):
            self.start_launcher()

    def start_launcher(self, stall: str | None = None) -> None:
        self.n_launched += 1
        n = self.n_launched
        cmd = [sys.executable, "-m", "alfred.launch_schedule", "--from_file", self.list_file, "--n_processes", "2",
               "--heartbeat_s", "0.3", "--stale_after_s", "10", "--no_summary", "--max_attempts", "1000",
               "--max_releases", "1000", "--log_level", "WARNING"]
        if self.pidns and n % 2 == 0:
            cmd = ["unshare", "-p", "-f", "--mount-proc", *cmd]
        if self.uts and n % 3 != 0:  # every third one keeps this host name (in its own PID namespace if even)
            cmd = ["unshare", "-u", "sh", "-c", f'hostname chaos-node-{n} && exec "$@"', "sh", *cmd]
        env = dict(self.env)
        if stall is not None:
            env["ALFRED_STALL_AT"] = f"{stall}:{self._marker(stall)}"
        out = open(self.project / f"launcher{n}.log", "w")
        self.launchers.append(subprocess.Popen(cmd, cwd=self.project, env=env, stdout=out, stderr=subprocess.STDOUT))

    def start_cleaner(self, stall: str | None = None) -> None:
        env = dict(self.env)
        if stall is not None:
            env["ALFRED_STALL_AT"] = f"{stall}:{self._marker(stall)}"
        cmd = [sys.executable, "-m", "alfred.clean_interrupted", "--from_file", self.list_file, "--yes",
               "--clean_crashes"]
        if self.uts:  # a cleaner of another node: it can judge no pid, only heartbeats
            cmd = ["unshare", "-u", "sh", "-c", f'hostname chaos-cleaner-{self.rng.randrange(1000)} && exec "$@"',
                   "sh", *cmd]
        self.cleaners.append(subprocess.Popen(cmd, cwd=self.project, env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))

    def _marker(self, stall: str) -> Path:
        self.n_markers += 1
        marker = self.project / f".stall-{self.n_markers}-{stall}"
        self.stalls.append((marker, stall))
        return marker

    def workers(self) -> list[int]:
        """This script's worker processes: the children of its launchers' Python processes (wrapped in
        unshare and sh or not, in another PID namespace or not: pids as seen from here)."""
        children: dict[int, list[int]] = collections.defaultdict(list)
        command = {}
        for pid, ppid, cmdline in _processes():
            children[ppid].append(pid)
            command[pid] = cmdline
        found, stack = [], [p.pid for p in self.launchers if p.poll() is None]
        while stack:
            pid = stack.pop()
            launcher = command.get(pid, "").startswith(sys.executable)
            for child in children.get(pid, []):
                (found if launcher else stack).append(child)
        return found

    def step(self) -> None:
        now = time.time()
        for marker, stall in list(self.stalls):  # a stall point reached: resume it 2-20 s from now
            if marker.exists() and marker.read_text():
                pid = int(marker.read_text())
                self.stalls.remove((marker, stall))
                self.stopped[pid] = now + self.rng.uniform(2.0, 20.0)
                self.done[f"stalled at {stall}"] += 1
        for pid, until in list(self.stopped.items()):
            if now >= until:
                _signal(pid, signal.SIGCONT)
                del self.stopped[pid]
        self.launchers = [p for p in self.launchers if p.poll() is None]
        if len(self.launchers) < 2 and not self.all_done():
            self.start_launcher()  # keep launchers running while seeds are left
        action = self.rng.choice(ACTIONS)
        workers = [pid for pid in self.workers() if pid not in self.stopped]
        running = [p for p in self.launchers if p.poll() is None]
        if action == "kill_worker" and workers:
            self.done[action] += _signal(self.rng.choice(workers), signal.SIGKILL)
        elif action in ("kill_launcher", "term_launcher") and running:
            victim = self.rng.choice(running)
            if victim.pid not in self.stopped:
                victim.send_signal(signal.SIGKILL if action == "kill_launcher" else signal.SIGTERM)
                self.done[action] += 1
        elif action == "preempt_worker" and workers:
            self.done[action] += _signal(self.rng.choice(workers), signal.SIGTERM)
        elif action == "stop_worker" and workers:
            pid = self.rng.choice(workers)
            if _signal(pid, signal.SIGSTOP):
                self.stopped[pid] = now + self.rng.uniform(2.0, 20.0)
                self.done[action] += 1
        elif action == "clean":
            for _ in range(self.rng.choice([1, 2])):
                self.start_cleaner()
                self.done[action] += 1
        elif action == "kill_cleaner":
            alive = [c for c in self.cleaners if c.poll() is None and c.pid not in self.stopped]
            if alive:
                self.rng.choice(alive).kill()
                self.done[action] += 1
        elif action == "stall_launcher":
            self.start_launcher(stall=self.rng.choice(LAUNCH_STALLS))
        elif action == "stall_cleaner":
            self.start_cleaner(stall=self.rng.choice(CLEAN_STALLS))
        self.cleaners = [c for c in self.cleaners if c.poll() is None]

    def all_done(self) -> bool:
        storage = next((self.project / "storage").glob("*_chaos"))
        return all((p / "COMPLETED").exists() for p in storage.glob("experiment*/seed*"))

    def settle(self) -> None:
        for marker, _ in self.stalls:  # stall points reached late
            if marker.exists() and marker.read_text():
                self.stopped[int(marker.read_text())] = 0.0
        for pid in self.stopped:
            _signal(pid, signal.SIGCONT)
        self.stopped.clear()
        for c in self.cleaners:
            c.wait()
        for p in self.launchers:
            p.wait()


def _processes() -> list[tuple[int, int, str]]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            found.append((int(entry), int(fields[1]), cmdline))
    return found


def _signal(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def run_alfred(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=project, env=env, capture_output=True, text=True)


def check(storage: Path, log: Path) -> dict:
    """Every seed, attempt and run folder: who completed, who wrote what (see the module's doc)."""
    from alfred.protocol.layout import is_seed_flag
    from alfred.protocol.listing import iter_seed_dirs
    from alfred.protocol.seed_state import read_flag_info

    found = collections.Counter()
    done_by_seed: dict[str, list[str]] = collections.defaultdict(list)  # seed -> tokens whose main finished
    for line in log.read_text().splitlines() if log.exists() else []:
        seed_dir, token = line[len("done "):].rsplit(" ", 1)
        done_by_seed[seed_dir].append(token)
    for _, _, seed_dir in iter_seed_dirs(storage):
        found["seeds"] += 1
        seed = Path(seed_dir)
        found["seeds holding other than one flag"] += len([n for n in os.listdir(seed) if is_seed_flag(n)]) != 1
        if not (seed / "COMPLETED").exists():
            found["lost results (not COMPLETED)"] += 1
            continue
        owner = read_flag_info(seed / "COMPLETED").get("token")
        folders = sorted((seed / "attempts").glob("*"), key=lambda p: int(p.name)) \
            if (seed / "attempts").is_dir() else []
        holders = [_holder(a) for a in folders]
        claims = set(holders) | {owner}
        found["attempt folders"] += len(folders)
        found["double completions"] += sum((a / "COMPLETED").exists() for a in folders)
        found["runs that held no recorded claim"] += len(set(done_by_seed[seed_dir]) - claims)
        found["seeds whose main finished more than once"] += len(done_by_seed[seed_dir]) > 1
        for recorder in [seed / "recorders" / "train_recorder.jsonl",
                         *seed.glob("attempts/*/runs/*/recorders/train_recorder.jsonl")]:
            stray = recorder.parent.parent.name.startswith("stray-")
            found["foreign writes"] += _foreign(_lines(recorder), claims, stray)
        ckpt = seed / "incrementals" / "ckpt.txt"
        found["foreign writes"] += ckpt.exists() and ckpt.read_text() != owner
    return dict(found)


def _foreign(tokens: list[str], claims: set[str], stray: bool) -> int:
    """Lines by no claim of the seed, lines of a run after a later run's, every line of a stray folder."""
    if stray:
        return len(tokens)
    bad, seen, current = 0, set(), None
    for token in tokens:
        if token not in claims:
            bad += 1
        elif token != current:
            bad += token in seen  # this run wrote again after another run had started writing
            seen.add(token)
            current = token
    return bad


def _holder(attempt: Path) -> str | None:
    from alfred.protocol.seed_state import read_flag_info

    for name in ("OPENED", "CRASH.txt"):
        if (attempt / name).exists():
            return read_flag_info(attempt / name).get("token")
    return None


def _lines(recorder: Path) -> list[str]:
    """The token of each line (lines torn by a SIGKILL mid-write skipped)."""
    try:
        text = recorder.read_text()
    except FileNotFoundError:
        return []
    tokens = []
    for line in text.splitlines():
        try:
            tokens.append(json.loads(line)["token"])
        except (ValueError, KeyError):
            pass
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--launchers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=300.0)
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
    while True:  # let it finish: reset what died (judged by heartbeat past the claims' 10 s), run what is left
        rounds += 1
        time.sleep(11.0)
        run_alfred(project, env, "alfred.clean_interrupted", "--from_file", list_file, "--yes", "--clean_crashes")
        launch = run_alfred(project, env, "alfred.launch_schedule", "--from_file", list_file, "--n_processes", "2",
                            "--no_summary", "--max_attempts", "1000", "--max_releases", "1000")
        if (launch.returncode == 0 and chaos.all_done()) or rounds >= 5:
            break
    logs = "".join(p.read_text() for p in project.glob("launcher*.log"))
    sys.path.insert(0, str(REPO))
    results = check(storage, base / "done.log")
    print(f"chaos on {results['seeds']} seeds: {chaos_s:.0f} s of chaos, {chaos.n_launched} launchers of 2 workers "
          f"started in all (own hostname: {'yes' if chaos.uts else 'no'}; own PID namespace: "
          f"{'every other one' if chaos.pidns else 'no'}), then {rounds} clean+launch round(s) to finish\n")
    print("| action (done) | times |\n|---|---:|")
    for action, n in sorted(chaos.done.items()):
        print(f"| {action} | {n} |")
    print(f"| runs fenced (LOST: their seed was reset while they were stopped) | {logs.count('LOST ')} |")
    print(f"| runs stopped by their own worker (lease ran out; seed released) | {logs.count('RELEASED ')} |")
    print(f"| crashes recorded for killed workers | {logs.count('its worker process killed by SIGKILL')} |")
    print("\n| check | result |\n|---|---:|")
    keys = ["seeds", "lost results (not COMPLETED)", "seeds holding other than one flag", "double completions",
            "runs that held no recorded claim", "foreign writes", "attempt folders",
            "seeds whose main finished more than once"]
    for key in keys:
        print(f"| {key} | {results.get(key, 0)} |")
    ok = not any(results.get(k, 0) for k in keys[1:6])
    print(f"\n{'OK' if ok else 'FAILED'}: folder {base}")
    if ok:
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
