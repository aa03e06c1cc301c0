"""alfred's cost per run in this checkout against another one, in alternated rounds on the same disk.

    python benchmarks/bench_ab.py --other /path/to/other/checkout [--n 5000] [--rounds 4] [--dir DIR]

Each round prepares, in each checkout, a grid search of ``--n`` seeds (the trivial main of
bench_core.py: a 1,000-point recorder) and launches it with 1 worker process (--no_summary),
the two checkouts one after the other, first one then the other in turn. Printed per round and
as medians: the overhead per run (launch wall time / N, less the interpreter's start-up and
main's own time) and the ratio this / other. A machine that is busy with other work moves
both sides of a round alike; the ratio of medians is what to quote.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

# Run inside each checkout, with its own bench_core.py (its own main, floor and start-up).
ROUND = """
import sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1] + "/benchmarks")
import bench_core as b
base = Path(tempfile.mkdtemp(dir=sys.argv[3]))
startup = b.python_startup_s()
project = b.make_project(base, "p", int(sys.argv[2]))
b.run_alfred(project, "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_b.py", "--yes")
wall = b.run_alfred(project, "alfred.launch_schedule", "--from_file", "schedules/list_searches_b.txt",
                    "--n_processes", "1", "--log_level", "WARNING", "--no_summary") - startup
_, dirs = b.floor_prepare(base, 2000)
b.floor_run(dirs)
main_s = b.main_time_per_run(project, dirs)
print((wall / int(sys.argv[2]) - main_s) * 1e3)
"""


def one_round(repo: Path, n: int, scratch: Path) -> float:
    out = subprocess.run([sys.executable, "-c", ROUND, str(repo), str(n), str(scratch)], capture_output=True,
                         text=True, env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"})
    if out.returncode != 0:
        raise SystemExit(f"round in {repo} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return float(out.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other", type=Path, required=True, help="the other checkout (e.g. a worktree of main)")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=None, help="where to build the searches (default: a temp dir)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix=".bench_ab-", dir=args.dir))
    this, other = [], []
    try:
        print(f"overhead per run, ms (N = {args.n:,}, 1 worker process); this = {HERE}, other = {args.other}")
        print("| round | this | other | this / other |\n|---:|---:|---:|---:|")
        for r in range(args.rounds):
            order = [(this, HERE), (other, args.other)] if r % 2 == 0 else [(other, args.other), (this, HERE)]
            for results, repo in order:
                results.append(one_round(repo, args.n, scratch))
            print(f"| {r + 1} | {this[-1]:.3f} | {other[-1]:.3f} | {this[-1] / other[-1]:.2f} |", flush=True)
        a, b = statistics.median(this), statistics.median(other)
        print(f"| median | {a:.3f} | {b:.3f} | {a / b:.2f} |")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
