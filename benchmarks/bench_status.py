"""Time of ``alfred.status.storage_status`` on storage dirs of 1k, 10k and 100k seeds.

Usage: ``python benchmarks/bench_status.py [--sizes 1000 10000 100000] [--repeat 5] [--dir PATH]``

Builds one storage dir per size (10 seeds per experiment, mixed states: 70% COMPLETED,
8% CRASH.txt, up to 1% (at most --n_running) OPENED by this live process = running, as
many OPENED by another host with a stale heartbeat = interrupted, the rest UNHATCHED;
every seed also holds config.json and config_unique.json) in a temp folder on the disk of ``--dir``
(default: next to this repository, i.e. the same disk as real storage dirs), then times:

  status    storage_status(storage_dir) (counts, 200 COMPLETED files sampled, ETA)
  floor     the same file operations in a bare loop, paths precomputed: list each
            experiment folder; per seed, os.access of COMPLETED, UNHATCHED, CRASH.txt up
            to the first found; for the seeds with none of them (OPENED), list the seed
            folder and read OPENED
  ratio     status / floor
  listdir   a bare ``os.listdir`` of every seed folder: what one listing per seed costs
            (how status decided states before it looked flags up by name)

Figures are medians (and min) of ``--repeat`` runs with a warm page cache (the folders were
just written; dropping caches needs root). The disk may be slow and noisy: compare medians.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from alfred.protocol.seed_state import pid_start_time
from alfred.search.status import storage_status

SEEDS_PER_EXPERIMENT = 10


def build_storage_dir(root: str, name: str, n_seeds: int, n_running: int = 50) -> list[str]:
    """Write ``n_seeds`` seed folders quickly (os.mkdir + open); returns their paths."""
    storage = os.path.join(root, name)
    os.mkdir(storage)
    open(os.path.join(storage, "GRID_SEARCH"), "w").close()
    now = time.time()
    me = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "pid_start": pid_start_time(os.getpid()),
                     "start_epoch": now - 30, "heartbeat_s": 30})
    other = json.dumps({"host": "elsewhere", "pid": 1, "start_epoch": now - 7200, "heartbeat_s": 30})
    paths = []
    n_opened = [0, 0]  # running, interrupted
    n_experiments = -(-n_seeds // SEEDS_PER_EXPERIMENT)
    i = 0
    for e in range(1, n_experiments + 1):
        experiment = os.path.join(storage, f"experiment{e}")
        os.mkdir(experiment)
        for s in range(1, SEEDS_PER_EXPERIMENT + 1):
            if i == n_seeds:
                break
            seed_dir = os.path.join(experiment, f"seed{s}")
            os.mkdir(seed_dir)
            for f in ("config.json", "config_unique.json"):
                with open(os.path.join(seed_dir, f), "w") as fh:
                    fh.write("{}\n")
            r = i % 100
            if r < 70:
                flag, text = "COMPLETED", json.dumps({"start_epoch": now - 3600 + i % 600, "duration_s": 60 + i % 7})
            elif r < 90:
                flag, text = "UNHATCHED", ""
            elif r < 98:
                flag, text = "CRASH.txt", "exception: RuntimeError: boom\n"
            elif n_opened[r - 98] < n_running:
                n_opened[r - 98] += 1
                flag, text = "OPENED", (me if r == 98 else other)
            else:
                flag, text = "UNHATCHED", ""
                r = 0
            with open(os.path.join(seed_dir, flag), "w") as fh:
                fh.write(text)
            if r == 99:
                os.utime(os.path.join(seed_dir, flag), (now - 7200, now - 7200))
            paths.append(seed_dir)
            i += 1
    return paths


def time_it(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--n_running", type=int, default=50,
                        help="seeds running (and as many interrupted) per storage dir, at most 1%% of it: "
                             "live workers are few, whatever the size of the search (default: 50)")
    parser.add_argument("--dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                        help="a folder on the disk to test (a temp folder is made inside and removed)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix=".bench_status-", dir=args.dir)
    try:
        rows = []
        for n in args.sizes:
            t = time.perf_counter()
            paths = build_storage_dir(tmp, f"Bx{n}_nogit_alg_task_grid_bench", n, args.n_running)
            built = time.perf_counter() - t
            storage = os.path.join(tmp, f"Bx{n}_nogit_alg_task_grid_bench")
            st = storage_status(storage)
            assert st.total == n, (st.total, n)

            experiments = sorted({os.path.dirname(p) for p in paths})

            def floor(paths=paths, experiments=experiments):
                access, ok = os.access, os.F_OK
                for e in experiments:
                    os.listdir(e)
                for p in paths:
                    if access(p + "/COMPLETED", ok) or access(p + "/UNHATCHED", ok) or access(p + "/CRASH.txt", ok):
                        continue
                    os.listdir(p)
                    with open(p + "/OPENED", "rb") as f:
                        f.read()

            def listdir_each(paths=paths):
                for p in paths:
                    os.listdir(p)

            status_t = time_it(lambda storage=storage: storage_status(storage), args.repeat)
            floor_t = time_it(floor, args.repeat)
            listdir_t = time_it(listdir_each, args.repeat)
            rows.append((n, built, status_t, floor_t, listdir_t, st))
            print(f"built {n} seeds in {built:.1f} s", file=sys.stderr, flush=True)
        print(f"storage_status vs the same file operations in a bare loop (median / min of {args.repeat}, warm cache)")
        print(f"{'seeds':>8}  {'status median':>13}  {'status min':>10}  {'floor median':>12}  {'floor min':>9}  "
              f"{'ratio':>5}  {'us/seed':>7}  {'listdir median':>14}")
        for n, built, status_t, floor_t, listdir_t, st in rows:
            sm, fm = statistics.median(status_t), statistics.median(floor_t)
            print(f"{n:>8}  {sm:>12.3f}s  {min(status_t):>9.3f}s  {fm:>11.3f}s  {min(floor_t):>8.3f}s  "
                  f"{sm / fm:>5.2f}  {sm / n * 1e6:>7.1f}  {statistics.median(listdir_t):>13.3f}s")
        n, _, _, _, _, st = rows[-1]
        print(f"check ({n} seeds): unhatched {st.unhatched}, running {st.running}, interrupted {st.interrupted}, "
              f"crashed {st.crashed}, completed {st.completed}, ETA {st.eta_s and round(st.eta_s)} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
