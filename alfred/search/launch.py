"""A local launch: N worker processes over some storage dirs, and what they did.

Several launches (on one machine or many nodes sharing the filesystem) may run at once on
the same storage dirs: each seed is claimed by exactly one worker (alfred.utils.flags). A
launch stopped by SIGTERM or SIGHUP (``kill``, a closed terminal) forwards SIGTERM to its
workers, which send their running seeds back to UNHATCHED, files kept, and report.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

from alfred.utils.config import load_dict_from_json
from alfred.utils.layout import StorageDir
from alfred.utils.misc import AlfredError

__all__ = ["LaunchReport", "launch", "resolve_processes", "check_hashes", "stop_signals"]


class LaunchReport:
    """What the workers of one launch did."""

    def __init__(self) -> None:
        self.completed = 0
        self.crashed: list[str] = []
        self.lost: list[str] = []
        self.died: list[str] = []  # workers killed or failed to start, with why
        self.stopped_by: str | None = None  # the signal that stopped the launch (running seeds were released)

    @property
    def ok(self) -> bool:
        return not (self.crashed or self.died or self.lost or self.stopped_by)


# Signals that stop a local launch. SIGHUP only when not ignored: under nohup it must stay so.
STOP_SIGNALS = ("SIGTERM", "SIGHUP")


def stop_signals() -> list[int]:
    return [getattr(signal, name) for name in STOP_SIGNALS
            if signal.getsignal(getattr(signal, name)) is not signal.SIG_IGN]


def resolve_processes(n_processes: int | None, gpus: list[str] | None, runs_per_gpu: int | None) -> int:
    """The number of worker processes; AlfredError if --n_processes contradicts --gpus x --runs_per_gpu."""
    if gpus is None:
        if runs_per_gpu is not None:
            raise AlfredError("--runs_per_gpu needs --gpus (the GPU ids to share)")
        return n_processes or 1
    wanted = len(gpus) * (runs_per_gpu or 1)
    if n_processes is not None and n_processes != wanted:
        raise AlfredError(f"--n_processes {n_processes} contradicts --gpus {','.join(gpus)} x --runs_per_gpu "
                          f"{runs_per_gpu or 1} = {wanted} worker processes; give only --gpus and --runs_per_gpu")
    return wanted






def check_hashes(storage_dirs: list[Path]) -> None:
    """AlfredError if a tracked repo moved since prepare_schedule recorded its commit."""
    from alfred.utils.storage_names import get_git_commits

    for storage_dir in storage_dirs:
        recorded = load_dict_from_json(StorageDir(storage_dir).prepare_info).get("git", {})
        current = get_git_commits({name: r["path"] for name, r in recorded.items()})
        for name, r in recorded.items():
            if current[name]["commit"] != r["commit"]:
                raise AlfredError(f"--check_hash: repo {name!r} ({r['path']}) is at {current[name]['commit'][:7]}, "
                                  f"but {storage_dir.name} was prepared at {r['commit'][:7]}; check out that "
                                  "commit or launch without --check_hash")


_RUN_DONE = "run done"


def _worker_entry(conn, storage_dirs, kwargs, env=None) -> None:
    os.environ.update(env or {})  # e.g. CUDA_VISIBLE_DEVICES, before main.py (and torch) is imported
    from dataclasses import asdict

    from alfred.search.worker import run_worker
    from alfred.utils.preemption import install_handlers

    # A stop signal (the launcher forwards its own) raises Preempted in the user's main: the
    # seed goes back to UNHATCHED with its files, and the worker returns its report.
    install_handlers([signal.Signals(s).name for s in stop_signals()])

    logging.basicConfig(level=kwargs["log_level"], format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout, force=True)
    if kwargs.pop("report_progress", False):  # one small message per run, for the overall bar
        kwargs["on_run_done"] = lambda: conn.send(_RUN_DONE)
    try:
        report = run_worker(storage_dirs, **kwargs)
    except KeyboardInterrupt:
        sys.exit(130)
    conn.send(asdict(report))
    conn.close()


def launch(storage_dirs: list[Path], *, n_processes: int = 1, n_experiments_per_proc: int | None = None,
           use_pbar: bool = False, heartbeat_s: float = 30.0, log_level: int = logging.INFO,
           over_tasks: bool = False, project_dir: str | os.PathLike = ".", max_attempts: int | None = None,
           gpus: list[str] | None = None, runs_per_gpu: int = 1) -> LaunchReport:
    """Run the storage dirs' UNHATCHED seeds with ``n_processes`` workers; wait for them.

    With ``gpus``, worker process ``slot`` sees only GPU ``gpus[slot // runs_per_gpu]``
    (CUDA_VISIBLE_DEVICES set in the child before main.py is imported); ``n_processes`` is
    then ``len(gpus) * runs_per_gpu``.
    """
    from dataclasses import asdict

    from alfred.search.worker import run_worker

    tag = f"{os.getpid()}"
    common = dict(heartbeat_s=heartbeat_s, use_pbar=use_pbar, log_level=log_level, over_tasks=over_tasks,
                  project_dir=str(Path(project_dir).resolve()), max_runs=n_experiments_per_proc,
                  max_attempts=max_attempts)
    report = LaunchReport()
    if gpus:
        n_processes = len(gpus) * runs_per_gpu
    overall = None
    if use_pbar:  # below the workers' bars: every run of this launch, whichever worker did it
        from tqdm import tqdm
        overall = tqdm(desc="runs done", unit="run", position=n_processes, leave=True)
    try:
        if n_processes == 1 and n_experiments_per_proc is None and not gpus:
            from alfred.utils.preemption import install_handlers, restore_handlers

            previous = install_handlers([signal.Signals(s).name for s in stop_signals()])
            try:
                _merge(report, asdict(run_worker(storage_dirs, worker_id=f"{tag}-w0", **common,
                                                 on_run_done=overall.update if overall is not None else None)))
            finally:
                restore_handlers(previous)
            return report
        return _launch_processes(storage_dirs, report, common, n_processes=n_processes, tag=tag, gpus=gpus,
                                 runs_per_gpu=runs_per_gpu, overall=overall)
    finally:
        if overall is not None:
            overall.close()


def _launch_processes(storage_dirs: list[Path], report: LaunchReport, common: dict, *, n_processes: int, tag: str,
                      gpus: list[str] | None, runs_per_gpu: int, overall) -> LaunchReport:
    import multiprocessing  # here, not at the top: --help stays quick
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("spawn")
    running: dict = {}  # sentinel -> (process, reader, worker_id, slot)
    generation = [0] * n_processes

    def start(slot: int) -> None:
        worker_id = f"{tag}-w{slot}" + (f".{generation[slot]}" if generation[slot] else "")
        generation[slot] += 1
        reader, writer = ctx.Pipe(duplex=False)
        kwargs = dict(common, worker_id=worker_id, pbar_position=slot, report_progress=overall is not None)
        env = {}
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[slot // runs_per_gpu]
            kwargs["claim_info"] = {"gpu": env["CUDA_VISIBLE_DEVICES"]}
        process = ctx.Process(target=_worker_entry, args=(writer, storage_dirs, kwargs, env), name=worker_id)
        process.start()
        writer.close()
        running[process.sentinel] = (process, reader, worker_id, slot)

    def forward(signum: int, frame) -> None:  # stop: every worker releases its seed and reports
        if report.stopped_by is None:
            report.stopped_by = signal.Signals(signum).name
            print(f"received {report.stopped_by}: the workers send their running seeds back to UNHATCHED "
                  "(files kept) and stop", flush=True)
        for process, _, _, _ in running.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in stop_signals()}
    for slot in range(n_processes):
        start(slot)
    try:
        while running:
            ready = wait([*running, *(r for _, r, _, _ in running.values())])
            for sentinel, (process, reader, worker_id, slot) in list(running.items()):
                if sentinel not in ready and reader not in ready:
                    continue
                result = None
                try:
                    while result is None and reader.poll():
                        message = reader.recv()
                        if message == _RUN_DONE:
                            overall.update(1)
                        else:
                            result = message
                except EOFError:
                    pass
                if result is None and process.is_alive():
                    continue
                process.join()
                del running[sentinel]
                if result is None:
                    report.died.append(f"worker {worker_id} (pid {process.pid}) died with exit code {process.exitcode}")
                    continue
                _merge(report, result)
                if result["stopped_early"] and report.stopped_by is None:
                    start(slot)
    except KeyboardInterrupt:
        deadline = time.time() + 10
        for process, _, _, _ in running.values():
            process.join(max(0.0, deadline - time.time()))
            if process.is_alive():
                process.terminate()
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return report


def _merge(report: LaunchReport, worker: dict) -> None:
    report.completed += worker["completed"]
    report.crashed += worker["crashed"]
    report.lost += worker["lost"]
    if worker.get("preempted") and report.stopped_by is None:
        report.stopped_by = worker["preempted"]
    if worker["error"]:
        report.died.append(f"worker {worker['worker_id']} could not start: {worker['error']}")


