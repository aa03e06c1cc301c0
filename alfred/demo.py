"""Run alfred's main job on a small real problem: a grid search of a numpy MLP, 2 workers.

    python -m alfred.demo                # into ./alfred_demo
    python -m alfred.demo --dir /tmp/d   # elsewhere

It copies the demo project (main.py + schedules/) into the folder and runs the README's
"Typical usage" steps there: prepare the grid search of schedules/grid_schedule_demo.py,
run it with 2 worker processes (each search is summarised when its last seed is done),
retrain the best configuration of each search on more seeds with twice the budget, run
the retrains, compare the searches and the retrained models, then write the HTML report of
the searches. It prints where each result is.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from alfred.protocol.layout import SCHEDULES_DIR
from alfred.utils.misc import cli_main

SCHEDULES = ("grid_schedule_demo.py", "random_schedule_demo.py")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("alfred_demo"),
                        help="the demo project folder to create or reuse (default: ./alfred_demo)")
    parser.add_argument("--n_processes", type=int, default=2, help="worker processes (default: 2)")
    return parser


def make_demo_project(folder: Path) -> Path:
    """Copy the demo main.py and example schedules into ``folder`` (kept if already there)."""
    import alfred.demo_project
    import alfred.schedules_examples

    folder.mkdir(parents=True, exist_ok=True)
    (folder / SCHEDULES_DIR).mkdir(exist_ok=True)
    shutil.copyfile(Path(alfred.demo_project.__file__).with_name("main.py"), folder / "main.py")
    examples = Path(alfred.schedules_examples.__file__).parent
    for name in SCHEDULES:
        shutil.copyfile(examples / name, folder / SCHEDULES_DIR / name)
    return folder


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from alfred import launch_schedule, prepare_schedule

    folder = make_demo_project(args.dir.resolve())
    print(f"demo project: {folder}")
    os.chdir(folder)
    list_file = "schedules/list_searches_demo.txt"
    if Path(list_file).exists():
        Path(list_file).unlink()  # this run's searches only
    from alfred import benchmark, create_retrainbest, report

    retrains = "schedules/list_retrains_demo.txt"
    if Path(retrains).exists():
        Path(retrains).unlink()
    workers = ["--n_processes", str(args.n_processes), "--log_level", "WARNING"]
    steps = [
        ("1. create the search folders", prepare_schedule.main,
         ["--schedule_file", "schedules/grid_schedule_demo.py", "--desc", "demo", "--yes"]),
        ("2. launch the searches (each is summarised when done)", launch_schedule.main,
         ["--from_file", list_file, *workers]),
        ("3. create the folders to retrain the best configuration", create_retrainbest.main,
         ["--from_file", list_file, "--n_retrain_seeds", "5", "--budget_params", "n_steps",
          "--train_time_factor", "2", "--yes"]),
        ("4. launch the retrains", launch_schedule.main, ["--from_file", retrains, *workers]),
        ("5. benchmark the searches", benchmark.main,
         ["--from_file", list_file, "--benchmark_type", "compare_searches"]),
        ("6. benchmark the retrains", benchmark.main, ["--from_file", retrains, "--benchmark_type", "compare_models"]),
        ("7. write the HTML report of the searches", report.main, ["--from_file", list_file]),
    ]
    for title, step, step_args in steps:
        print(f"\n== {title}: python -m {step.__module__} {' '.join(step_args)}", flush=True)
        code = step(step_args)
        if code != 0:
            print(f"demo step failed with exit code {code}", file=sys.stderr)
            return code
    print(f"\nresults, under {folder}:")
    for list_path in (list_file, retrains):
        for line in Path(list_path).read_text().splitlines():
            if not line.startswith("#"):
                print(f"  storage/{line}/summary/")
    from alfred.protocol.layout import comparison_dir

    for list_path in (list_file, retrains):  # this run's comparisons, not others left in schedules/
        print(f"  {comparison_dir(Path(list_path), [])}/")
    from alfred.results.report import report_path

    print(f"  {report_path(list_file=Path(list_file))}  (open it in a browser)")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
