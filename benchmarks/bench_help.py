"""Time ``python -m <script> --help`` for every script module of alfred, against a bare interpreter.

    python benchmarks/bench_help.py [--runs 21]

Scripts are discovered from the package (modules with a ``__main__`` guard). Each row is the
median of ``--runs`` wall times, runs of every command interleaved so that a noisy moment
hits all of them alike. The floor is ``python -c pass`` (the interpreter's own start-up);
the target is 0.2 s per ``--help``.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def scripts() -> list[str]:
    found = []
    for path in sorted((REPO / "alfred").glob("*.py")):
        if re.search(r'^if __name__ == "__main__":', path.read_text(encoding="utf-8"), re.MULTILINE):
            found.append("alfred" if path.stem == "__main__" else f"alfred.{path.stem}")
    return found


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    commands = {"(python -c pass)": [sys.executable, "-c", "pass"]}
    commands.update({m: [sys.executable, "-m", m, "--help"] for m in scripts()})
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    floor = statistics.median(times["(python -c pass)"])
    print("| command | median --help (s) | min (s) | minus bare python (s) |\n|---|---:|---:|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        extra = "" if name.startswith("(") else f"{med - floor:.3f}"
        print(f"| `{name}` | {med:.3f} | {min(ts):.3f} | {extra} |")


if __name__ == "__main__":
    main()
