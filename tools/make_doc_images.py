"""Regenerate the README's result figures in docs/images/ from real runs of the demo project.

Usage: ``python tools/make_doc_images.py [--out docs/images] [--keep DIR]``.

It runs ``python -m alfred.demo`` (the grid search on two tasks, its summaries, plot arrays,
retrains and comparisons), prepares the demo's random search (its ``variations1.png``), and
runs a second comparison of two algorithms (the demo MLP with 4 and with 16 hidden units,
5 seeds each, on both tasks) for compare_models' aggregate, performance-profile and
probability-of-improvement figures. Then it copies one PNG of each kind to ``--out``:

  learning_curves.png    summary/learning_curves_*.png of the moons search
  performance.png        summary/performance_*.png of the moons search
  sensitivity.png        summary/sensitivity_*.png of the moons search
  plot_array.png         plots/*_vs_step.png of the moons search
  retrain.png            summary/performance_*.png of the moons retrain (one experiment)
  compare_searches.png   benchmark_searches_demo/ (the moons and blobs searches)
  compare_models.png     benchmark_retrains_demo/ (the retrains, one panel per task)
  variations.png         variations1.png of the random search
  compare_algorithms.png, aggregates.png, profiles.png, improvement.png
                         compare_models of the two algorithms
  aggregates_paper.png   the same aggregates drawn with --style paper_column (one column of a
                         two-column paper: 3.25 in wide, 7 pt text; its PDF has TrueType fonts)

Everything runs in a temporary folder (kept with ``--keep``), with this checkout's alfred.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ALGS = {"mlp-h4": 4, "mlp-h16": 16}


def _run(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    print("$", " ".join(args), flush=True)
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)


def _one(pattern: str, root: Path) -> Path:
    found = sorted(root.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"expected one file for {pattern} under {root}, found {[str(p) for p in found]}")
    return found[0]


def make(work: Path, out: Path) -> None:
    demo = work / "demo"
    _run(["-m", "alfred.demo", "--dir", str(demo)], cwd=REPO)
    storage, schedules = demo / "storage", demo / "schedules"
    _run(["-m", "alfred.make_plot_arrays", "--from_file", "schedules/list_searches_demo.txt"], cwd=demo)
    _run(["-m", "alfred.prepare_schedule", "--schedule_file", "schedules/random_schedule_demo.py", "--desc", "demo",
          "--yes"], cwd=demo)
    grid = (schedules / "grid_schedule_demo.py").read_text(encoding="utf-8")
    for alg, hidden in ALGS.items():  # one schedule per algorithm: its own architecture
        text = re.sub(r"ALG_NAMES = .*", f"ALG_NAMES = [{alg!r}]", grid)
        text = re.sub(r"SEEDS = .*", "SEEDS = [1, 2, 3, 4, 5]", text)
        text = re.sub(r"VARIATIONS = \{[^}]*\}", f'VARIATIONS = {{"learning_rate": [0.3], "hidden_size": [{hidden}]}}',
                      text)
        (schedules / f"grid_schedule_{alg}.py").write_text(text, encoding="utf-8")
        _run(["-m", "alfred.prepare_schedule", "--schedule_file", f"schedules/grid_schedule_{alg}.py",
              "--desc", "arch", "--yes"], cwd=demo)
    arch = sorted(p.name for p in storage.iterdir() if p.name.endswith("_grid_arch"))
    (schedules / "list_algorithms_arch.txt").write_text("\n".join(arch) + "\n", encoding="utf-8")
    _run(["-m", "alfred.launch_schedule", "--from_file", "schedules/list_algorithms_arch.txt", "--n_processes", "2",
          "--log_level", "WARNING"], cwd=demo)
    _run(["-m", "alfred.benchmark", "--from_file", "schedules/list_algorithms_arch.txt", "--benchmark_type",
          "compare_models"], cwd=demo)
    copies = {
        "learning_curves.png": "storage/*_moons_grid_demo/summary/learning_curves_*.png",
        "performance.png": "storage/*_moons_grid_demo/summary/performance_*.png",
        "sensitivity.png": "storage/*_moons_grid_demo/summary/sensitivity_*.png",
        "plot_array.png": "storage/*_moons_grid_demo/plots/*_vs_step.png",
        "retrain.png": "storage/*_moons_retrainBest_grid_demo/summary/performance_*.png",
        "compare_searches.png": "schedules/benchmark_searches_demo/compare_searches_*.png",
        "compare_models.png": "schedules/benchmark_retrains_demo/compare_models_test_*.png",
        "variations.png": "storage/*_random_demo/variations1.png",
        "compare_algorithms.png": "schedules/benchmark_algorithms_arch/compare_models_test_*.png",
        "aggregates.png": "schedules/benchmark_algorithms_arch/compare_models_aggregates_*.png",
        "profiles.png": "schedules/benchmark_algorithms_arch/compare_models_profiles_*.png",
        "improvement.png": "schedules/benchmark_algorithms_arch/compare_models_improvement_*.png",
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, pattern in copies.items():
        shutil.copyfile(_one(pattern, demo), out / name)
        print(f"{out / name}  <-  {pattern}")
    _run(["-m", "alfred.benchmark", "--from_file", "schedules/list_algorithms_arch.txt", "--benchmark_type",
          "compare_models", "--style", "paper_column"], cwd=demo)  # redone: the record says another style
    pattern = "schedules/benchmark_algorithms_arch/compare_models_aggregates_*.png"
    shutil.copyfile(_one(pattern, demo), out / "aggregates_paper.png")
    print(f"{out / 'aggregates_paper.png'}  <-  {pattern} (--style paper_column)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="alfred_doc_images_"))
    try:
        make(work, args.out.resolve())
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
