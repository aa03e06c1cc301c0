"""Runs per minute when K runs share one GPU (launch_schedule --gpus G --runs_per_gpu K).

    python benchmarks/bench_gpu_packing.py                       # K = 1 2 4 8 on GPU 0
    python benchmarks/bench_gpu_packing.py --gpu 1 --ks 1,2,4     # another GPU, fewer K
    python benchmarks/bench_gpu_packing.py --device cpu --ks 1,2 --n_runs 4 --steps 50   # smoke check

Each K prepares a fresh grid search of ``--n_runs`` seeds of a small PyTorch job (an MLP
trained with Adam on random data for ``--steps`` steps, full batch on the device) and launches
it with ``--gpus <gpu> --runs_per_gpu K``. It prints, for each K:

  wall      launch_schedule's wall time, worker start-up (python, torch, CUDA context) included
  runs/min  n_runs / wall
  steady    runs/min between the first run's start and the last run's end (start-up excluded)
  run_s     mean duration of one run (grows when K runs share the GPU)
  xK=1      runs/min relative to K = 1 (the gain from packing)

Small models leave a GPU mostly idle (kernel launch and Python overhead dominate), so
packing several runs on it raises throughput until the GPU (or the CPU feeding it) saturates.
Exits 0 with a message when torch is not installed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

MAIN = '''
import argparse, time

def get_run_args(overwritten_cmd_line=None):
    p = argparse.ArgumentParser()
    for a in ("alg_name", "task_name", "desc"):
        p.add_argument("--" + a, default="x")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--device", default="cuda")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--batch", type=int, default=512)
    return p.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())

def main(config, dir_tree, logger, pbar):
    import torch
    if config.device == "cpu":
        torch.set_num_threads(1)
    torch.manual_seed(config.seed)
    dev = torch.device(config.device)
    model = torch.nn.Sequential(torch.nn.Linear(64, config.width), torch.nn.ReLU(),
                                torch.nn.Linear(config.width, config.width), torch.nn.ReLU(),
                                torch.nn.Linear(config.width, 1)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    x = torch.randn(config.batch, 64, device=dev)
    y = x[:, :1] * 2 + torch.randn(config.batch, 1, device=dev) * 0.1
    for _ in range(config.steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    logger.info("final loss %.4f", loss.item())  # .item() synchronises with the device
'''


def schedule_text(n_runs: int, device: str, steps: int, width: int, batch: int) -> str:
    return (f"from main import get_run_args\nALG_NAMES = ['mlp']\nTASK_NAMES = ['rand']\nSEEDS = [1]\n"
            f"VARIATIONS = {{'lr': [1e-3 * (1 + i / 1000) for i in range({n_runs})], 'device': [{device!r}], "
            f"'steps': [{steps}], 'width': [{width}], 'batch': [{batch}]}}\n")


def run_once(k: int, args: argparse.Namespace, workdir: Path) -> dict:
    project = workdir / f"k{k}"
    (project / "schedules").mkdir(parents=True)
    (project / "main.py").write_text(MAIN)
    (project / "schedules" / "grid_schedule_pack.py").write_text(
        schedule_text(args.n_runs, args.device, args.steps, args.width, args.batch))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    subprocess.run([sys.executable, "-m", "alfred.prepare_schedule", "--schedule_file",
                    "schedules/grid_schedule_pack.py", "--yes", "--root_dir", str(project / "storage")],
                   cwd=project, env=env, check=True, capture_output=True)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "alfred.launch_schedule", "--from_file",
                             "schedules/list_searches_pack.txt", "--gpus", str(args.gpu), "--runs_per_gpu", str(k),
                             "--no_summary", "--log_level", "WARNING"],
                            cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        crash = next((p.read_text() for p in (project / "storage").glob("*/experiment*/seed*/CRASH.txt")), "")
        raise SystemExit(f"K={k}: launch failed (exit {result.returncode})\n{result.stdout[-2000:]}"
                         f"{result.stderr[-2000:]}\n{crash[-3000:]}")
    infos = [json.loads(p.read_text()) for p in (project / "storage").glob("*/experiment*/seed*/COMPLETED")]
    assert len(infos) == args.n_runs, f"K={k}: {len(infos)} of {args.n_runs} runs completed"
    first = min(i["start_epoch"] for i in infos)
    last = max(i["start_epoch"] + i["duration_s"] for i in infos)
    return {"k": k, "wall_s": wall, "runs_per_min": args.n_runs / wall * 60,
            "steady_runs_per_min": args.n_runs / (last - first) * 60,
            "run_s": sum(i["duration_s"] for i in infos) / len(infos)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cuda", "cpu"], default=None,
                        help="where the runs train (default: cuda if available, else cpu)")
    parser.add_argument("--gpu", default="0", help="the GPU id the K runs share (default: 0)")
    parser.add_argument("--ks", default="1,2,4,8", help="runs per GPU to compare (default: 1,2,4,8)")
    parser.add_argument("--n_runs", type=int, default=None, help="runs per K (default: max(16, 2 x max K))")
    parser.add_argument("--steps", type=int, default=300, help="training steps per run (default: 300)")
    parser.add_argument("--width", type=int, default=256, help="hidden width of the MLP (default: 256)")
    parser.add_argument("--batch", type=int, default=512, help="batch size (default: 512)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("bench_gpu_packing: torch is not installed: skipped (pip install torch)")
        return 0
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_gpu_packing: --device cuda but torch sees no GPU: skipped (use --device cpu for a smoke check)")
        return 0
    ks = [int(k) for k in args.ks.split(",")]
    args.n_runs = args.n_runs or max(16, 2 * max(ks))
    where = (f"GPU {args.gpu} ({torch.cuda.get_device_name(int(args.gpu))})" if args.device == "cuda"
             else f"CPU ({os.cpu_count()} cores, 1 torch thread per run)")
    print(f"bench_gpu_packing: {args.n_runs} runs per K of an MLP (width {args.width}, batch {args.batch}, "
          f"{args.steps} Adam steps) on {where}; torch {torch.__version__}")
    print(f"{'K':>3} {'wall_s':>8} {'runs/min':>9} {'steady':>8} {'run_s':>7} {'xK=1':>6}")
    results = []
    with tempfile.TemporaryDirectory(prefix="alfred-bench-gpu-") as tmp:
        for k in ks:
            r = run_once(k, args, Path(tmp))
            r["ratio_to_k1"] = r["runs_per_min"] / results[0]["runs_per_min"] if results else 1.0
            results.append(r)
            print(f"{k:>3} {r['wall_s']:>8.1f} {r['runs_per_min']:>9.1f} {r['steady_runs_per_min']:>8.1f} "
                  f"{r['run_s']:>7.2f} {r['ratio_to_k1']:>6.2f}", flush=True)
    if ks[0] != 1:
        print("note: xK=1 is relative to the first K given, not to K = 1")
    if args.json:
        args.json.write_text(json.dumps({"device": args.device, "where": where, "n_runs": args.n_runs,
                                         "steps": args.steps, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
