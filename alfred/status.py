"""Show how far the searches of some storage dirs have got; reads files, changes nothing.

Per storage dir: seeds per state, a progress bar, time since the first run started and an
estimate of the time left. Without --from_file and --storage_name: every storage dir of the
root dir.

  states     UNHATCHED (waiting), running (live pid on this host or fresh heartbeat),
             interrupted (dead pid or stale heartbeat: clean_interrupted resets them),
             CRASH (CRASH.txt), COMPLETED
  progress   (COMPLETED + CRASH) / total; the bar shows # completed, x crashed,
             > running, . the rest
  elapsed    now - the earliest start recorded in the OPENED files read and in the
             sampled COMPLETED files (the sample includes the first seeds in launch
             order, i.e. the first ones claimed)
  ETA        ((UNHATCHED seeds x mean duration) + what is left of each running seed's mean
             duration) / number of seeds running now (one per worker). The mean duration
             comes from at most 200 COMPLETED files, evenly spread. No ETA without a
             completed run or a running worker. Interrupted seeds are not counted: they
             run again only after clean_interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from alfred.utils import flags
from alfred.utils.directory_tree import COMPLETED, CRASH, UNHATCHED, DirectoryTree
from alfred.utils.flags import SeedState
from alfred.utils.misc import AlfredError, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs

__all__ = ["CrashInfo", "StorageStatus", "format_duration", "format_status", "storage_status"]

MAX_DURATION_SAMPLES = 200
_STATE_KEYS = {SeedState.UNHATCHED: "unhatched", SeedState.RUNNING: "running",
               SeedState.INTERRUPTED: "interrupted", SeedState.CRASHED: "crashed",
               SeedState.COMPLETED: "completed"}


@dataclass
class CrashInfo:
    """One crashed seed: its run name, the exception line of CRASH.txt, the file's path."""

    run_name: str
    exception: str
    crash_file: str


@dataclass
class StorageStatus:
    """The facts ``storage_status`` gathers about one storage dir (times in seconds)."""

    storage_dir: str
    total: int = 0
    unhatched: int = 0
    running: int = 0
    interrupted: int = 0
    crashed: int = 0
    completed: int = 0
    first_start_epoch: float | None = None
    elapsed_s: float | None = None
    mean_duration_s: float | None = None
    n_durations_sampled: int = 0
    workers_running: int = 0
    eta_s: float | None = None
    eta_note: str = ""
    crashes: list[CrashInfo] | None = None  # filled only when asked (opens every CRASH.txt)

    @property
    def name(self) -> str:
        return Path(self.storage_dir).name

    @property
    def finished(self) -> int:
        return self.completed + self.crashed

    @property
    def fraction_done(self) -> float:
        return self.finished / self.total if self.total else 1.0

    @property
    def active(self) -> bool:
        """Whether some seed still waits or runs (what --watch waits for)."""
        return bool(self.unhatched or self.running)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["name"] = self.name
        d["fraction_done"] = round(self.fraction_done, 6)
        if self.crashes is None:
            del d["crashes"]
        return d




def _crash_headline(path: str) -> str:
    """The exception line of a CRASH.txt (its first line, ``exception: Type: message``)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            line = f.readline().strip()
    except OSError:
        return "(CRASH.txt unreadable)"
    if not line:
        return "(CRASH.txt is empty: being written, or the crash was recorded without details)"
    return line[len("exception:"):].strip() if line.startswith("exception:") else line


def _evenly_spread(items: list, k: int) -> list:
    """At most ``k`` items spread over the list, the first one always included."""
    if len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def storage_status(storage_dir: str | os.PathLike, *, stale_after_s: float | None = None,
                   with_crashes: bool = False, now: float | None = None) -> StorageStatus:
    """Count the seeds of one storage dir per state and estimate the time left.

    A seed folder holds one FLAG-file at a time (every transition is a rename, and a reset
    creates UNHATCHED only after moving the old flag away), so ``os.access`` of COMPLETED,
    then UNHATCHED, then CRASH.txt decides most seeds with one or two lookups: a tenth of
    the cost of listing the folder. OPENED seeds, seeds without a flag and seeds that
    changed between two lookups fall through to ``flags.read_status``, which lists the
    folder and reads OPENED. Files are opened only for those, for at most 200 COMPLETED
    ones (durations and start times) and, with ``with_crashes``, for each CRASH.txt.
    """
    now = time.time() if now is None else now
    storage_dir = Path(storage_dir)
    status = StorageStatus(str(storage_dir))
    completed: list[tuple[int, int, str]] = []  # (rank in its experiment, experiment number, seed dir)
    crashed: list[str] = []
    starts: list[float] = []
    running_ages: list[float] = []
    counts = dict.fromkeys(_STATE_KEYS.values(), 0)
    try:
        experiment_dirs = DirectoryTree.list_experiment_dirs(storage_dir)
    except (FileNotFoundError, NotADirectoryError):
        raise AlfredError(f"storage dir {storage_dir} does not exist") from None
    completed_append, crashed_append = completed.append, crashed.append
    n_unhatched = n_completed = n_crashed = n_running = n_interrupted = 0
    access, exists = os.access, os.F_OK
    completed_name, unhatched_name, crash_name = "/" + COMPLETED, "/" + UNHATCHED, "/" + CRASH
    for n, experiment_dir in experiment_dirs:
        try:
            seed_dirs = DirectoryTree.list_seed_dirs(experiment_dir)
        except FileNotFoundError:
            continue
        for rank, (_, seed_dir) in enumerate(seed_dirs):
            if access(seed_dir + completed_name, exists):
                n_completed += 1
                completed_append((rank, n, seed_dir))
            elif access(seed_dir + unhatched_name, exists):
                n_unhatched += 1
            elif access(seed_dir + crash_name, exists):
                n_crashed += 1
                crashed_append(seed_dir)
            else:  # OPENED, no flag, or changed meanwhile: read_status lists it; pid and heartbeat decide
                s = flags.read_status(DirectoryTree(seed_dir), stale_after_s=stale_after_s, now=now)
                if s.state is SeedState.RUNNING:
                    n_running += 1
                elif s.state is SeedState.INTERRUPTED:
                    n_interrupted += 1
                else:  # finished, crashed or released between the lookups
                    if s.state is SeedState.COMPLETED:
                        n_completed += 1
                        completed_append((rank, n, seed_dir))
                    elif s.state is SeedState.CRASHED:
                        n_crashed += 1
                        crashed_append(seed_dir)
                    else:
                        n_unhatched += 1
                    continue
                start = s.info.get("start_epoch")
                if isinstance(start, (int, float)):
                    starts.append(float(start))
                    if s.state is SeedState.RUNNING:
                        running_ages.append(max(0.0, now - start))
                elif s.state is SeedState.RUNNING:
                    running_ages.append(0.0)  # mid-claim: OPENED has no content yet
    counts.update(unhatched=n_unhatched, running=n_running, interrupted=n_interrupted, crashed=n_crashed,
                  completed=n_completed)
    for key, value in counts.items():
        setattr(status, key, value)
    status.total = sum(counts.values())
    status.workers_running = status.running

    completed.sort()  # launch order: the first seed of every experiment, then the second...
    durations = []
    for _, _, seed_dir in _evenly_spread(completed, MAX_DURATION_SAMPLES):
        info = flags.read_flag_info(os.path.join(seed_dir, COMPLETED))
        if isinstance(info.get("duration_s"), (int, float)):
            durations.append(float(info["duration_s"]))
        if isinstance(info.get("start_epoch"), (int, float)):
            starts.append(float(info["start_epoch"]))
    status.n_durations_sampled = len(durations)
    if durations:
        status.mean_duration_s = sum(durations) / len(durations)
    if starts:
        status.first_start_epoch = min(starts)
        status.elapsed_s = max(0.0, now - status.first_start_epoch)
    _estimate_time_left(status, running_ages)
    if with_crashes:
        status.crashes = [CrashInfo(DirectoryTree(d).get_run_name(), _crash_headline(os.path.join(d, CRASH)),
                                    os.path.join(d, CRASH)) for d in sorted(crashed)]
    return status


def _estimate_time_left(status: StorageStatus, running_ages: list[float]) -> None:
    if not status.active:
        status.eta_s, status.eta_note = 0.0, "nothing left to run"
        return
    if status.mean_duration_s is None:
        status.eta_note = "no completed run yet"
        return
    if not status.running:
        status.eta_note = "no worker running"
        return
    mean = status.mean_duration_s
    work_left = status.unhatched * mean + sum(max(mean - age, 0.0) for age in running_ages)
    status.eta_s = work_left / status.running
    status.eta_note = (f"mean of {status.n_durations_sampled} completed run(s) {format_duration(mean)}, "
                       f"{status.running} running")


def format_duration(seconds: float | None) -> str:
    """``42s``, ``7m05s``, ``3h02m``, ``2d04h``; ``-`` for None."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def progress_bar(status: StorageStatus, width: int = 30) -> str:
    """``[####x>>.....]  42%``: # completed, x crashed, > running, . the rest."""
    if not status.total:
        return "[" + " " * width + "]   -"
    cells = []
    for count, char in ((status.completed, "#"), (status.crashed, "x"), (status.running, ">")):
        cells.append(char * round(count / status.total * width))
    bar = "".join(cells)[:width]
    return f"[{bar.ljust(width, '.')}] {int(status.fraction_done * 100):3d}%"


def format_status(status: StorageStatus) -> str:
    """The table of one storage dir, as ``alfred status`` prints it."""
    headers = ("total", "UNHATCHED", "running", "interrupted", "CRASH", "COMPLETED")
    values = (status.total, status.unhatched, status.running, status.interrupted, status.crashed, status.completed)
    widths = [max(len(h), len(str(v))) for h, v in zip(headers, values)]
    eta = format_duration(status.eta_s) if status.eta_s is not None else "unknown"
    lines = [
        status.name,
        "  " + "  ".join(h.rjust(w) for h, w in zip(headers, widths)),
        "  " + "  ".join(str(v).rjust(w) for v, w in zip(values, widths)),
        f"  {progress_bar(status)}  elapsed {format_duration(status.elapsed_s)}  ETA {eta}"
        + (f" ({status.eta_note})" if status.eta_note else ""),
    ]
    if status.interrupted:
        lines.append(f"  {status.interrupted} interrupted seed(s): "
                     f"python -m alfred.clean_interrupted --storage_name {status.name} sends them back to UNHATCHED")
    for c in status.crashes or ():
        lines.append(f"  CRASH {c.run_name}: {c.exception}")
        lines.append(f"        trace: {c.crash_file}")
    return "\n".join(lines)


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a number of seconds > 0, got 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    parser.add_argument("--crashes", action="store_true",
                        help="list each crashed seed: its exception (first line of CRASH.txt) and the path "
                             "of the full traceback")
    parser.add_argument("--watch", nargs="?", type=_positive_seconds, const=10.0, default=None, metavar="SECONDS",
                        help="refresh every SECONDS (default 10) until no seed is UNHATCHED or running")
    parser.add_argument("--json", action="store_true",
                        help="print the same facts as JSON (one object: {'storage_dirs': [...]}) for scripts")
    parser.add_argument("--stale_after_s", type=_non_negative_float, default=None,
                        help="heartbeat age in seconds after which a run on another host counts as "
                             f"interrupted (default: 5 heartbeats, at least {flags.MIN_STALE_S:.0f} s)")
    return parser


def _storage_dirs(args: argparse.Namespace) -> list[Path]:
    if args.from_file is not None or args.storage_name is not None:
        return select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    root = Path(args.root_dir or DirectoryTree.default_root)
    if not root.is_dir():
        raise AlfredError(f"root dir {root} does not exist (pass --root_dir, --storage_name or --from_file)")
    return DirectoryTree.get_storage_dirs(root)


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    storage_dirs = _storage_dirs(args)
    if not storage_dirs:
        print(f"no storage dir in {Path(args.root_dir or DirectoryTree.default_root)}")
        return 0
    while True:
        statuses = [storage_status(d, stale_after_s=args.stale_after_s, with_crashes=args.crashes)
                    for d in storage_dirs]
        if args.json:
            print(json.dumps({"time": time.time(), "storage_dirs": [s.to_dict() for s in statuses]}, indent=1),
                  flush=True)
        else:
            if args.watch is not None and sys.stdout.isatty():
                print("\033[H\033[J", end="")  # clear the screen
            print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {len(statuses)} storage dir(s)")
            print("\n".join(format_status(s) for s in statuses), flush=True)
        if args.watch is None or not any(s.active for s in statuses):
            return 0
        time.sleep(args.watch)


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
