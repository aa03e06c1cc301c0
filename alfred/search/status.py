"""Where a search stands, from its FLAG-files alone: seeds per state, elapsed time, ETA, crashes.

What each figure means is written once, in the help of ``python -m alfred.status``.
States are decided by alfred.protocol.seed_state.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from alfred.protocol.fsio import RefusedFile, read_regular
from alfred.protocol.layout import COMPLETED, CRASH, OPENED, PAUSED, PRUNED, UNHATCHED, SeedDir
from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs
from alfred.protocol.liveness import fs_now
from alfred.protocol.seed_state import SeedState, read_flag_info, seed_state
from alfred.utils.misc import AlfredError

__all__ = ["CrashInfo", "StorageStatus", "adaptive_status", "format_adaptive", "format_duration", "format_status",
           "progress_text", "storage_status"]

SKEW_S = 2.0  # heartbeats further ahead than this are flagged
MAX_DURATION_SAMPLES = 200
_STATE_KEYS = {SeedState.UNHATCHED: "unhatched", SeedState.RUNNING: "running",
               SeedState.INTERRUPTED: "interrupted", SeedState.CRASHED: "crashed",
               SeedState.COMPLETED: "completed", SeedState.PRUNED: "pruned", SeedState.PAUSED: "paused"}


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
    pruned: int = 0  # adaptive searches: stopped at a rung (done)
    paused: int = 0  # adaptive searches: paused at a rung, waiting for a promotion
    first_start_epoch: float | None = None
    last_end_epoch: float | None = None  # once nothing waits or runs: when the last run ended
    elapsed_s: float | None = None  # first start to now, or to last_end_epoch once nothing waits or runs
    mean_duration_s: float | None = None
    n_durations_sampled: int = 0
    workers_running: int = 0
    clock_skew_s: float | None = None  # the most a running claim's heartbeat is ahead of the filesystem's clock
    eta_s: float | None = None
    eta_note: str = ""
    crashes: list[CrashInfo] | None = None  # filled only when asked (opens every CRASH.txt)
    refused: list[str] = field(default_factory=list)  # experiment and seed entries that are links, FIFOs, ...
    adaptive: dict | None = None  # adaptive search: settings, budget spent, rungs table (see adaptive_status)

    @property
    def name(self) -> str:
        return Path(self.storage_dir).name

    @property
    def finished(self) -> int:
        return self.completed + self.crashed + self.pruned

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
        if self.adaptive is None:
            del d["adaptive"]
        return d




def _crash_headline(path: str) -> str:
    """The exception line of a CRASH.txt (its first line, ``exception: Type: message``)."""
    try:  # its first line only: no link followed, no FIFO or device opened
        line = read_regular(path, max_bytes=4096, truncate=True).decode(errors="replace").split("\n", 1)[0].strip()
    except RefusedFile as e:
        return f"(not read: {e})"
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

    Each seed's state comes from ``seed_state``: one to three lookups of its flags by name
    for most seeds (a tenth of the cost of listing the folder), OPENED read only for running
    and interrupted ones. Other files are opened only for at most 200 COMPLETED seeds
    (durations and start times) and, with ``with_crashes``, for each CRASH.txt.
    """
    now = time.time() if now is None else now
    storage_dir = Path(storage_dir)
    status = StorageStatus(str(storage_dir))
    completed: list[tuple[int, int, str]] = []  # (rank in its experiment, experiment number, seed dir)
    crashed: list[str] = []
    interrupted: list[str] = []
    starts: list[float] = []
    running_ages: list[float] = []
    counts = dict.fromkeys(_STATE_KEYS.values(), 0)
    try:
        experiment_dirs = list_experiment_dirs(storage_dir, status.refused)
    except (FileNotFoundError, NotADirectoryError):
        raise AlfredError(f"storage dir {storage_dir} does not exist") from None
    n_unhatched = n_completed = n_crashed = n_running = n_interrupted = 0
    fs_clock = fs_now(storage_dir)  # heartbeat ages on the clock that stamped them (the NFS server's)
    for n, experiment_dir in experiment_dirs:
        try:
            seed_dirs = list_seed_dirs(experiment_dir, status.refused)
        except FileNotFoundError:
            continue
        for rank, (_, seed_dir) in enumerate(seed_dirs):
            s = seed_state(seed_dir, stale_after_s=stale_after_s, now=fs_clock)
            state = s.state
            if state is SeedState.COMPLETED:
                n_completed += 1
                completed.append((rank, n, seed_dir))
                continue
            if state is SeedState.UNHATCHED:
                n_unhatched += 1
                continue
            if state in (SeedState.PRUNED, SeedState.PAUSED):
                counts[_STATE_KEYS[state]] += 1
                continue
            if state is SeedState.CRASHED:
                n_crashed += 1
                crashed.append(seed_dir)
                continue
            if state is SeedState.RUNNING:
                n_running += 1
                if s.age_s is not None and s.age_s < -SKEW_S:
                    status.clock_skew_s = max(status.clock_skew_s or 0.0, -s.age_s)
            else:
                n_interrupted += 1
                interrupted.append(seed_dir)
            start = s.info.get("start_epoch")
            if isinstance(start, (int, float)):
                starts.append(float(start))
                if state is SeedState.RUNNING:
                    running_ages.append(max(0.0, now - start))
            elif state is SeedState.RUNNING:
                running_ages.append(0.0)  # mid-claim: OPENED has no content yet
    counts.update(unhatched=n_unhatched, running=n_running, interrupted=n_interrupted, crashed=n_crashed,
                  completed=n_completed)
    for key, value in counts.items():
        if hasattr(status, key):
            setattr(status, key, value)
    status.total = sum(counts.values())
    status.adaptive = adaptive_status(storage_dir, n_experiments=len(experiment_dirs))
    status.workers_running = status.running

    completed.sort()  # launch order: the first seed of every experiment, then the second...
    durations = []
    for _, _, seed_dir in _evenly_spread(completed, MAX_DURATION_SAMPLES):
        info = read_flag_info(os.path.join(seed_dir, COMPLETED))
        if isinstance(info.get("duration_s"), (int, float)):
            durations.append(float(info["duration_s"]))
        if isinstance(info.get("start_epoch"), (int, float)):
            starts.append(float(info["start_epoch"]))
    status.n_durations_sampled = len(durations)
    if durations:
        status.mean_duration_s = sum(durations) / len(durations)
    if starts:
        status.first_start_epoch = min(starts)
        end = now
        if not status.active:  # a finished search's clock stops with its last run
            status.last_end_epoch = _last_end(completed, crashed, interrupted)
            end = status.last_end_epoch if status.last_end_epoch is not None else now
        status.elapsed_s = max(0.0, end - status.first_start_epoch)
    _estimate_time_left(status, running_ages)
    if with_crashes:
        status.crashes = [CrashInfo(SeedDir(d).get_run_name(), _crash_headline(os.path.join(d, CRASH)),
                                    os.path.join(d, CRASH)) for d in sorted(crashed)]
    return status


def adaptive_status(storage_dir: Path, *, n_experiments: int) -> dict | None:
    """An adaptive search's settings, budget spent and rungs table (RungRow dicts); None for another search."""
    from alfred.adaptive.spec import load_spec  # here: numpy, and only where a status is made
    from alfred.search.rung_view import read_rungs, rung_table, trial_values

    spec = load_spec(storage_dir)
    if spec is None:
        return None
    rungs = read_rungs(storage_dir)
    steps = sum(max(v) for v in trial_values(rungs).values() if v)
    rows = rung_table(rungs, mode=spec.mode, max_resource=spec.max_resource, direction=spec.direction)
    return {"metric": spec.metric, "direction": spec.direction, "mode": spec.mode, "sampler": spec.sampler,
            "eta": spec.eta, "max_resource": spec.max_resource, "hyperband": spec.hyperband,
            "max_experiments": spec.max_experiments, "max_steps": spec.max_steps, "experiments": n_experiments,
            "steps": steps, "rungs": [r.to_dict() for r in rows]}


def format_adaptive(adaptive: dict) -> list[str]:
    """The lines of an adaptive search's part of the status: budget spent, then the rungs table."""
    from alfred.search.rung_view import RungRow, format_rung_table

    spent = [f"{adaptive['experiments']}/{adaptive['max_experiments']} experiments"
             if adaptive["max_experiments"] is not None else f"{adaptive['experiments']} experiments"]
    if adaptive["max_steps"] is not None:
        spent.append(f"{adaptive['steps']}/{adaptive['max_steps']} steps")
    lines = [f"adaptive search ({adaptive['mode']} mode, eta {adaptive['eta']}, sampler {adaptive['sampler']}, "
             f"{adaptive['direction']} {adaptive['metric']}): {', '.join(spent)}; rungs:"]
    rows = [RungRow(**r) for r in adaptive["rungs"]]
    return lines + ["  " + line for line in format_rung_table(rows, mode=adaptive["mode"], metric=adaptive["metric"])]


def _last_end(completed: list[tuple[int, int, str]], crashed: list[str], interrupted: list[str]) -> float | None:
    """When the last run ended: the latest mtime of the COMPLETED and CRASH.txt flags (each is
    last written when its run ends) and of interrupted runs' OPENED (their last heartbeat).
    One stat per seed, done only for searches with nothing left to wait for."""
    last = None
    flags = [(d, COMPLETED) for _, _, d in completed] + [(d, CRASH) for d in crashed] + \
        [(d, OPENED) for d in interrupted]
    for seed_dir, flag in flags:
        try:
            mtime = os.stat(os.path.join(seed_dir, flag)).st_mtime
        except OSError:  # changed state meanwhile (reset, cleaned): not an end
            continue
        last = mtime if last is None or mtime > last else last
    return last


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


def progress_text(status: StorageStatus, width: int = 30) -> str:
    """``[####x>>.....]  42%``: # completed, - pruned (adaptive searches), x crashed, > running, . the rest."""
    if not status.total:
        return "[" + " " * width + "]   -"
    cells = []
    for count, char in ((status.completed, "#"), (status.pruned, "-"), (status.crashed, "x"), (status.running, ">")):
        cells.append(char * round(count / status.total * width))
    bar = "".join(cells)[:width]
    return f"[{bar.ljust(width, '.')}] {int(status.fraction_done * 100):3d}%"


def format_status(status: StorageStatus) -> str:
    """The table of one storage dir, as ``alfred status`` prints it."""
    headers = ("total", UNHATCHED, "running", "interrupted", "CRASH", COMPLETED)  # flags named as on disk
    values = (status.total, status.unhatched, status.running, status.interrupted, status.crashed, status.completed)
    if status.adaptive is not None or status.pruned or status.paused:  # an adaptive search's own flags
        headers, values = (*headers, PRUNED, PAUSED), (*values, status.pruned, status.paused)
    widths = [max(len(h), len(str(v))) for h, v in zip(headers, values)]
    eta = format_duration(status.eta_s) if status.eta_s is not None else "unknown"
    lines = [
        status.name,
        "  " + "  ".join(h.rjust(w) for h, w in zip(headers, widths)),
        "  " + "  ".join(str(v).rjust(w) for v, w in zip(values, widths)),
        f"  {progress_text(status)}  elapsed {format_duration(status.elapsed_s)}  ETA {eta}"
        + (f" ({status.eta_note})" if status.eta_note else ""),
    ]
    if status.adaptive is not None:
        lines.extend("  " + line for line in format_adaptive(status.adaptive))
    if status.clock_skew_s:
        lines.append(f"  heartbeats up to {status.clock_skew_s:.0f} s in the future: the clocks of some hosts disagree "
                     "with the storage's (check NTP on them); ages are judged on the storage's clock")
    if status.interrupted:
        lines.append(f"  {status.interrupted} interrupted seed(s): "
                     f"python -m alfred.clean_interrupted --storage_name {status.name} sends them back to UNHATCHED")
    for line in status.refused:
        lines.append(f"  {line}")
    for c in status.crashes or ():
        lines.append(f"  CRASH {c.run_name}: {c.exception}")
        lines.append(f"        trace: {c.crash_file}")
    return "\n".join(lines)
