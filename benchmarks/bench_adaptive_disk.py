"""The cost of an adaptive search's decisions on disk: rung records, a stop decision, a promotion.

    python benchmarks/bench_adaptive_disk.py [--records 1000] [--repeats 50] [--dir /dev/shm]

In a storage dir on ``--dir`` (tmpfs by default) whose first rung already holds ``--records``
records, each of ``--repeats`` times (medians printed, in ms):

- stop decision, new record: ``dir_tree.report`` of a run reaching the rung (stop mode): its
  record created (link + alias), the rung listed, the rule applied, the decision created;
- stop decision, re-read: the same trial reporting again in a new claim (a resumed run): its
  record and decision read back;
- promotion: ``promote_one`` in promote mode (every record PAUSED at the rung): the rungs listed,
  ASHA's choice, the marker created, the seed's PAUSED.<step> renamed UNHATCHED;
- floor: the same file operations in a bare loop, without alfred (one listdir of the rung, a
  temp file written, two links, one unlink, a second small file linked), for the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alfred.adaptive.spec import SPEC_FILE, parse_spec  # noqa: E402
from alfred.protocol import rung_records  # noqa: E402
from alfred.protocol.adaptive_run import AdaptiveRun  # noqa: E402
from alfred.protocol.fencing import Preempted  # noqa: E402
from alfred.protocol.layout import claim_flag_name, paused_flag_name  # noqa: E402


def make_storage(base: Path, mode: str, n: int, extra: int) -> tuple[Path, object]:
    storage = base / f"Se1_nogit_a_t_{mode}"
    storage.mkdir()
    spec = parse_spec({"search_space": {"lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True}},
                       "metric": "loss", "direction": "min", "eta": 3, "min_resource": 1, "max_resource": 27,
                       "mode": mode, "max_experiments": n + extra})
    (storage / SPEC_FILE).write_text(json.dumps(spec.to_dict()))
    for i in range(1, n + extra + 1):
        seed = storage / f"experiment{i}" / "seed1"
        seed.mkdir(parents=True)
        if i <= n:
            rung_records.record(storage, 0, 1, f"experiment{i}-seed1", (i * 7919 % 1000) / 1000)
            if mode == "promote":
                (seed / paused_flag_name(1)).write_bytes(b"")
    return storage, spec


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def report_once(seed: Path, token: str, spec) -> None:
    (seed / claim_flag_name(token)).write_bytes(b"")
    try:
        AdaptiveRun(seed, token, spec).report(1, 0.5)
    except Preempted:  # Pruned: the rule stopped it
        pass


def floor_once(folder: Path, i: int) -> None:
    os.listdir(folder)
    tmp = folder / f".floor{i}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"0.5")
    os.close(fd)
    os.link(tmp, folder / f"floor{i}")
    os.link(tmp, folder / f"floor{i}=0.5")
    os.unlink(tmp)
    os.link(folder / f"floor{i}", folder / f"floor{i}.decision")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None)
    args = parser.parse_args()
    from alfred.search.adaptive_worker import promote_one

    base = Path(tempfile.mkdtemp(prefix="alfred-bench-adaptive-disk-", dir=args.dir))
    n, r = args.records, args.repeats
    try:
        storage, spec = make_storage(base, "stop", n, r)
        new = [timed(lambda i=i: report_once(storage / f"experiment{i}" / "seed1", f"t{i}", spec))
               for i in range(n + 1, n + r + 1)]
        again = [timed(lambda i=i: report_once(storage / f"experiment{i}" / "seed1", f"u{i}", spec))
                 for i in range(n + 1, n + r + 1)]
        folder = Path(rung_records.rung_dir(storage, 0, 1))
        floor = [timed(lambda i=i: floor_once(folder, i)) for i in range(r)]
        pstorage, pspec = make_storage(base, "promote", n, 0)
        promotions = [timed(lambda: promote_one(pstorage, pspec)) for _ in range(r)]
        markers = sum(name.endswith(".promoted") for name in os.listdir(rung_records.rung_dir(pstorage, 0, 1)))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    fs = os.popen(f"stat -f -c %T {args.dir or tempfile.gettempdir()}").read().strip()
    print(f"rung of {n} records on {args.dir or tempfile.gettempdir()} ({fs}), {r} repeats, medians (ms)\n")
    print("| operation | median ms | min ms | ratio to floor |\n|---|---:|---:|---:|")
    f = statistics.median(floor)
    for name, values in (("stop decision, new record", new), ("stop decision, re-read (resumed run)", again),
                         (f"promotion ({markers} made)", promotions), ("floor: the same file operations", floor)):
        print(f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {statistics.median(values) / f:.1f} |")


if __name__ == "__main__":
    main()
