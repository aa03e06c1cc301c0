"""Run every UNHATCHED seed of some storage dirs with N worker processes.

Several launches (on one machine or many nodes sharing the filesystem) may run at once on
the same storage dirs: each seed is claimed by exactly one worker. Exit code 0 when every
run completed, 1 when a seed crashed or a worker died, 2 for bad input, 128 + the signal
number when the launch was stopped by SIGTERM or SIGHUP (``kill``, a closed terminal): its
workers then send their running seeds back to UNHATCHED, files kept, and exit.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from alfred.utils.config import load_dict_from_json, parse_log_level, positive_float, positive_int
from alfred.utils.misc import AlfredError, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs


class LaunchReport:
    """What the workers of one launch did (a plain class: no dataclasses import for --help)."""

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


def _stop_signals() -> list[int]:
    return [getattr(signal, name) for name in STOP_SIGNALS
            if signal.getsignal(getattr(signal, name)) is not signal.SIG_IGN]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.launch_schedule", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    parser.add_argument("--over_tasks", action="store_true",
                        help="the storage dirs are one search over several tasks: run experiment k of every "
                             "storage dir before experiment k+1 of any")
    parser.add_argument("--n_processes", type=positive_int, default=None,
                        help="number of worker processes on this machine (default: 1, in this process; "
                             "with --gpus: len(gpus) x runs_per_gpu)")
    parser.add_argument("--n_experiments_per_proc", type=positive_int, default=None,
                        help="a worker process exits after this many runs and a fresh one replaces it "
                             "(frees memory the training code leaks; default: no limit)")
    parser.add_argument("--use_pbar", action="store_true",
                        help="give main() a tqdm progress bar (one line per worker process)")
    parser.add_argument("--check_hash", action="store_true",
                        help="refuse to launch if a tracked git repo is not at the commit the search was "
                             "prepared with")
    parser.add_argument("--run_clean_interrupted", action="store_true",
                        help="first send interrupted seeds back to UNHATCHED (as clean_interrupted would)")
    parser.add_argument("--heartbeat_s", type=positive_float, default=30.0,
                        help="seconds between heartbeats a run writes to its OPENED flag (default: 30)")
    parser.add_argument("--log_level", type=parse_log_level, default=logging.INFO,
                        help="DEBUG, INFO, WARNING, ERROR (default: INFO)")
    parser.add_argument("--no_summary", action="store_true",
                        help="do not summarise the storage dirs whose seeds are all done (by default the "
                             "first launcher to finish writes each one's plots/ and summary/, once)")
    parser.add_argument("--max_attempts", type=positive_int, default=5,
                        help="a seed that failed (crashed or was interrupted, then reset) this many times is "
                             "marked CRASH instead of run again; its attempts stay in attempts/<n>/ "
                             "(default: 5; released attempts, e.g. preemptions, do not count)")
    parser.add_argument("--gpus", type=_gpu_list, default=None, metavar="0,1,...",
                        help="GPU ids of this machine: each worker process sees one of them as its only GPU "
                             "(CUDA_VISIBLE_DEVICES), --runs_per_gpu workers per GPU")
    parser.add_argument("--runs_per_gpu", type=positive_int, default=None,
                        help="with --gpus: worker processes sharing each GPU (default: 1)")
    from alfred.slurm import add_slurm_args

    add_slurm_args(parser)
    return parser


def _gpu_list(text: str) -> list[str]:
    gpus = [g.strip() for g in text.split(",") if g.strip()]
    if not gpus or len(set(gpus)) != len(gpus):
        raise argparse.ArgumentTypeError(f"expected distinct GPU ids separated by commas, e.g. 0,1,3; got {text!r}")
    return gpus


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
    from alfred.utils.directory_tree import get_git_commits

    for storage_dir in storage_dirs:
        recorded = load_dict_from_json(storage_dir / "prepare_info.json").get("git", {})
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

    from alfred.utils.preemption import install_handlers
    from alfred.worker import run_worker

    # A stop signal (the launcher forwards its own) raises Preempted in the user's main: the
    # seed goes back to UNHATCHED with its files, and the worker returns its report.
    install_handlers([signal.Signals(s).name for s in _stop_signals()])

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

    from alfred.worker import run_worker

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

            previous = install_handlers([signal.Signals(s).name for s in _stop_signals()])
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

    previous = {s: signal.signal(s, forward) for s in _stop_signals()}
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


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    from alfred.utils.schedule import check_user_main_file

    check_user_main_file(".")
    if args.check_hash:
        check_hashes(storage_dirs)
    if args.run_clean_interrupted:
        from alfred.clean_interrupted import clean, format_counts

        for r in clean(storage_dirs):
            print(f"clean_interrupted: {format_counts(r)} -> reset {r.reset}"
                  + (" (skipped: another clean holds the lock)" if r.skipped_busy else ""))
    args.n_processes = resolve_processes(args.n_processes, args.gpus, args.runs_per_gpu)
    if args.slurm:  # submit a job array of workers and return (alfred/slurm.py)
        from alfred.slurm import run_slurm_launch

        return run_slurm_launch(args, storage_dirs, dict(heartbeat_s=args.heartbeat_s, log_level=args.log_level,
                                                          over_tasks=args.over_tasks, max_attempts=args.max_attempts,
                                                          summary=not args.no_summary))
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout)
    print(f"launching {len(storage_dirs)} storage dir(s) with {args.n_processes} worker process(es)", flush=True)
    start = time.time()
    report = launch(storage_dirs, n_processes=args.n_processes, n_experiments_per_proc=args.n_experiments_per_proc,
                    use_pbar=args.use_pbar, heartbeat_s=args.heartbeat_s, log_level=args.log_level,
                    over_tasks=args.over_tasks, max_attempts=args.max_attempts, gpus=args.gpus,
                    runs_per_gpu=args.runs_per_gpu or 1)
    print(f"done in {time.time() - start:.1f} s: {report.completed} run(s) completed, "
          f"{len(report.crashed)} crashed, {len(report.died)} worker(s) died")
    for path in report.crashed:
        print(f"  crashed: {path}/CRASH.txt")
    for line in report.died:
        print(f"  {line}")
    for path in report.lost:
        print(f"  reset by clean_interrupted while running (not recorded): {path}")
    if report.stopped_by:
        print(f"stopped by {report.stopped_by}: running seeds were sent back to UNHATCHED with their files; "
              "launch again to go on")
        return 128 + signal.Signals[report.stopped_by].value
    if not args.no_summary:
        try:
            from alfred.benchmark import summarize_finished

            summarize_finished(storage_dirs, log=lambda line: print(line, flush=True))
        except Exception as e:  # the runs are done and recorded: a summary problem is only reported
            print(f"summary skipped: {type(e).__name__}: {e}", flush=True)
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
