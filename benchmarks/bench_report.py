"""Size and build time of the HTML report of a large search whose summary exists.

Usage: ``python benchmarks/bench_report.py [--cases small,target] [--repeat 5] [--data_dir DIR]``

Each case writes a synthetic grid storage dir of COMPLETED seeds (bench_summary's writer: one
``train_recorder.pkl`` per seed; each experiment's config then gets three varied
hyperparameters, lr, width and dropout, as a real grid would), makes its automatic summary
once -- ``summarize_finished``: summary/ figures and files, plots/ (at most 64 panels) and
the storage dir's report.html -- and then times the report alone:

  in process   ``write_report([storage_dir], path)`` in this process, alfred already imported:
               every seed's state, every experiment's config_unique.json, summary.json, the
               figures embedded, the page rendered and written (median of --repeat runs)
  command      ``python -m alfred.report --storage_name ...`` as a user runs it: interpreter
               start and imports included (median of --repeat runs)
  size         the report file, every figure embedded

Targets (issue 13): a 1,000-experiment search's report <= 5 MB, built in <= 3 s.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from bench_summary import NAME, write_search  # noqa: E402  (the synthetic search writer, shared)

CASES = {  # name: (n_experiments, n_seeds per experiment, n_steps)
    "small": (100, 3, 100),
    "target": (1000, 3, 100),
}


def vary_configs(storage: Path) -> None:
    """Give each experiment three varied hyperparameters (10 x 10 x 10 values), in every seed."""
    from alfred.protocol.layout import SeedDir
    from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs

    for e, experiment_dir in list_experiment_dirs(storage):
        i = e - 1
        values = {"lr": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0][i % 10],
                  "width": 16 * (1 + (i // 10) % 10), "dropout": round(0.05 * ((i // 100) % 10), 2)}
        for seed, seed_dir in list_seed_dirs(experiment_dir):
            path = SeedDir(seed_dir).config_unique_path
            config = json.loads(path.read_text())
            config.update(values)
            path.write_text(json.dumps(config))


def build_case(root: Path, n_exp: int, n_seeds: int, n_steps: int) -> tuple[Path, float]:
    """The storage dir with its summary (reused when already in ``root``); seconds spent summarising."""
    storage = root / NAME
    if (storage / "summary" / "summary.json").is_file():
        return storage, float("nan")
    shutil.rmtree(storage, ignore_errors=True)
    storage = write_search(root, n_exp, n_seeds, n_steps)
    vary_configs(storage)
    from alfred.results.auto_summary import summarize_finished

    t = time.perf_counter()
    (done,) = summarize_finished([storage], overrides={"y_metric": "score", "x_metric": "step"}, n_resamples=1000,
                                 log=lambda line: None)
    if done.action != "summarized":
        raise SystemExit(f"summary of the synthetic search failed: {done.action} {done.message}")
    return storage, time.perf_counter() - t


def time_case(storage: Path, repeat: int) -> dict:
    from alfred.results.report import write_report

    out = storage.parent / "bench_report.html"
    in_process = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = write_report([storage], out)
        in_process.append(time.perf_counter() - t)
    command = []
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "alfred.report", "--storage_name", storage.name, "--root_dir",
                        str(storage.parent), "--output", str(out)], check=True, capture_output=True, env=env)
        command.append(time.perf_counter() - t)
    html = out.read_text(encoding="utf-8")
    figures = html.count('<img src="data:image/png;base64,')
    return {"in_process_s": statistics.median(in_process), "command_s": statistics.median(command),
            "size_mb": result.n_bytes / 1e6, "rows": html.count("<tr") - 1, "figures": figures,
            "figures_mb": sum(p.stat().st_size for p in [*storage.glob("summary/*.png"), *storage.glob("plots/*.png")])
            * 4 / 3 / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="small,target")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data_dir", type=Path, default=None,
                        help="keep the synthetic searches in <data_dir>/<case>/ and reuse them on later runs "
                             "(default: a temp folder, removed)")
    args = parser.parse_args()
    rows = []
    for name in args.cases.split(","):
        n_exp, n_seeds, n_steps = CASES[name]
        root = Path(tempfile.mkdtemp(prefix=f"bench_report_{name}_")) if args.data_dir is None else args.data_dir / name
        root.mkdir(parents=True, exist_ok=True)
        try:
            storage, t_summary = build_case(root, n_exp, n_seeds, n_steps)
            rows.append((name, n_exp, n_seeds, t_summary, time_case(storage, args.repeat)))
        finally:
            if args.data_dir is None:
                shutil.rmtree(root, ignore_errors=True)
    print(f"{'case':<7} {'experiments x seeds':>20} {'summary (once)':>15} {'rows':>5} {'figures':>8} "
          f"{'of which figures':>17} {'size':>8} {'in process':>11} {'command':>8}")
    for name, n_exp, n_seeds, t_summary, r in rows:
        summary = f"{t_summary:.1f}s" if t_summary == t_summary else "(reused)"
        print(f"{name:<7} {f'{n_exp} x {n_seeds}':>20} {summary:>15} {r['rows']:>5} {r['figures']:>8} "
              f"{r['figures_mb']:>14.2f} MB {r['size_mb']:>5.2f} MB {r['in_process_s']:>10.2f}s "
              f"{r['command_s']:>7.2f}s")
    print(f"(medians of {args.repeat} runs; targets for 1,000 experiments: <= 5 MB, <= 3 s)")


if __name__ == "__main__":
    main()
