"""System calls alfred makes per run: ``strace -f -c`` of whole launches, marginal per run.

    python benchmarks/bench_syscalls.py [--small 200] [--large 1200] [--dir /dev/shm/x]

Two launches of a grid search whose main does nothing (one seed per experiment, one worker
process, --no_summary), each under ``strace -f -c``: every system call of the launcher, its
worker and their threads is counted. The start-up (interpreter, imports, the first listing)
costs the same in both, so (calls(large) - calls(small)) / (large - small) is what one more run
costs. The table lists that total and the calls that make it up; a call below 0.05 per run is
left out. Needs strace (and ptrace allowed).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

EMPTY_MAIN = '''
import argparse

def get_run_args(overwritten_cmd_line=None):
    p = argparse.ArgumentParser()
    for a in ("alg_name", "task_name", "desc"):
        p.add_argument("--" + a, default="x")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.1)
    return p.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

def main(config, dir_tree, logger, pbar):
    pass
'''


def counts(base: Path, n: int) -> dict[str, int]:
    """{syscall: calls} of one launch of ``n`` runs (prepare is not counted)."""
    project = base / f"p{n}"
    (project / "schedules").mkdir(parents=True)
    (project / "main.py").write_text(EMPTY_MAIN)
    (project / "schedules" / "grid_schedule_s.py").write_text(
        f"from main import get_run_args\nALG_NAMES = ['a']\nTASK_NAMES = ['t']\nSEEDS = [1]\n"
        f"VARIATIONS = {{'lr': [i * 1e-6 for i in range({n})]}}\n")
    env = {"PYTHONPATH": str(REPO)}
    run = lambda *args, **kw: subprocess.run(args, cwd=project, capture_output=True, text=True, check=True,  # noqa
                                              env={**__import__("os").environ, **env}, **kw)
    run(sys.executable, "-m", "alfred.prepare_schedule", "--schedule_file", "schedules/grid_schedule_s.py", "--yes")
    out = project / "strace.txt"
    run("strace", "-f", "-c", "-o", str(out), sys.executable, "-m", "alfred.launch_schedule", "--from_file",
        "schedules/list_searches_s.txt", "--no_summary", "--log_level", "WARNING")
    table = {}
    for line in out.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[-1] not in ("syscall", "total") and re.fullmatch(r"\d+", fields[3]):
            table[fields[-1]] = int(fields[3])
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=1200)
    parser.add_argument("--dir", default=None, help="where to make the searches (default: a temporary folder)")
    args = parser.parse_args()
    if shutil.which("strace") is None:
        print("strace is not installed: nothing measured", file=sys.stderr)
        return 1
    base = Path(tempfile.mkdtemp(prefix=".bench_syscalls-", dir=args.dir))
    try:
        small, large = counts(base, args.small), counts(base, args.large)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    n = args.large - args.small
    per_run = {name: (large.get(name, 0) - small.get(name, 0)) / n for name in set(small) | set(large)}
    total = sum(per_run.values())
    print(f"system calls per run (launches of {args.small} and {args.large} runs, 1 worker, main does nothing):")
    print("| syscall | per run |\n|---|---:|")
    for name, value in sorted(per_run.items(), key=lambda item: -item[1]):
        if value >= 0.05:
            print(f"| {name} | {value:.2f} |")
    print(f"| **total** | **{total:.1f}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
