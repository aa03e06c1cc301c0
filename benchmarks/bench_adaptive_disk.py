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
- proposal (TPE, CMA-ES): ``propose_one`` in a search of ``--records`` experiments (1/2 completed
  with a final record, 1/3 pruned at the first rung, 1/6 pending), the whole step a worker takes:
  the PROPOSE lock, the trials rebuilt from the storage dir, the sampler asked, the experiment
  folder built and renamed into place (``--proposals`` times after an untimed first one, which
  imports Optuna; each adds an experiment);
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


PROPOSE_MAIN = """
import argparse
def get_run_args(overwritten_cmd_line=None):
    p = argparse.ArgumentParser()
    for name, kind, default in (("alg_name", str, "a"), ("task_name", str, "t"), ("desc", str, ""), ("seed", int, 0),
                                ("lr", float, 0.1), ("width", int, 8), ("steps", int, 27)):
        p.add_argument("--" + name, type=kind, default=default)
    return p.parse_args(None if overwritten_cmd_line is None else overwritten_cmd_line.split())
def main(config, dir_tree, logger, pbar):
    pass
"""


def proposal_search(base: Path, n: int, sampler: str, extra: int) -> tuple[Path, object]:
    """A search of ``n`` experiments made by prepare (random sampler), then switched to ``sampler``
    with ``extra`` experiments of budget left, its seeds ended as a search's would be."""
    import subprocess

    from alfred.adaptive.spec import load_spec

    project = base / f"project_{sampler}"
    (project / "schedules").mkdir(parents=True)
    (project / "main.py").write_text(PROPOSE_MAIN)
    space = {"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True}, "width": {"type": "int", "low": 1,
                                                                                       "high": 64, "log": True}}
    adaptive = dict(search_space=space, metric="loss", direction="min", eta=3, min_resource=1, max_resource=27,
                    resource_key="steps", sampler="random", max_experiments=n, seed=0)
    (project / "schedules" / "adaptive_schedule_p.py").write_text(
        f"from main import get_run_args\nALG_NAMES = ['a']\nTASK_NAMES = ['t']\nADAPTIVE = {adaptive!r}\n")
    out = subprocess.run([sys.executable, "-m", "alfred.prepare_schedule", "--schedule_file",
                          "schedules/adaptive_schedule_p.py", "--yes", "--max_experiments", str(n)],
                         cwd=project, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    storage = next((project / "storage").iterdir())
    spec_dict = json.loads((storage / SPEC_FILE).read_text())
    (storage / SPEC_FILE).write_text(json.dumps({**spec_dict, "sampler": sampler, "max_experiments": n + extra}))
    for i in range(1, n + 1):
        seed, trial = storage / f"experiment{i}" / "seed1", f"experiment{i}-seed1"
        value = (i * 7919 % 1000) / 1000
        rung_records.record(storage, 0, 1, trial, value)
        if i % 6 < 3:  # completed: its records up to the final one
            for step in (3, 9, 27):
                rung_records.record(storage, 0, step, trial, value / step)
            os.rename(seed / "UNHATCHED", seed / "COMPLETED")
        elif i % 6 < 5:
            os.rename(seed / "UNHATCHED", seed / "PRUNED")
    return storage, load_spec(storage)


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
    parser.add_argument("--proposals", type=int, default=5)
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
        from alfred.search.proposals import propose_one

        proposals = {}
        for sampler in ("tpe", "cmaes"):
            sstorage, sspec = proposal_search(base, n, sampler, args.proposals + 1)
            propose_one(sstorage, sspec)  # a worker's first proposal imports Optuna: not timed
            proposals[sampler] = [timed(lambda: propose_one(sstorage, sspec)) for _ in range(args.proposals)]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    fs = os.popen(f"stat -f -c %T {args.dir or tempfile.gettempdir()}").read().strip()
    print(f"rung of {n} records on {args.dir or tempfile.gettempdir()} ({fs}), {r} repeats, medians (ms)\n")
    print("| operation | median ms | min ms | ratio to floor |\n|---|---:|---:|---:|")
    f = statistics.median(floor)
    for name, values in (("stop decision, new record", new), ("stop decision, re-read (resumed run)", again),
                         (f"promotion ({markers} made)", promotions),
                         *((f"proposal, {s} ({len(v)} made)", v) for s, v in proposals.items()),
                         ("floor: the same file operations", floor)):
        ratio = "-" if name.startswith("proposal") else f"{statistics.median(values) / f:.1f}"
        print(f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {ratio} |")


if __name__ == "__main__":
    main()
