"""A local launch: N worker processes over some storage dirs, and what they did.

Several launches (on one machine or many nodes sharing the filesystem) may run at once on
the same storage dirs: each seed is claimed by exactly one worker (alfred.protocol.flags). A
launch stopped by SIGTERM or SIGHUP (``kill``, a closed terminal) forwards SIGTERM to its
workers, which send their running seeds back to UNHATCHED, files kept, and report.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import struct
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from alfred.protocol.layout import StorageDir
from alfred.utils.config import load_dict_from_json
from alfred.utils.misc import AlfredError

__all__ = ["LaunchReport", "launch", "resolve_processes", "check_hashes", "stop_signals"]


class LaunchReport:
    """What the workers of one launch did."""

    def __init__(self) -> None:
        self.completed = 0
        self.stopped_at_rung = 0  # adaptive searches: runs that ended PRUNED or PAUSED at a rung
        self.crashed: list[str] = []
        self.lost: list[str] = []
        self.died: list[str] = []  # workers killed or failed to start, with why
        self.failed: list[str] = []  # why workers had to stop (e.g. no space left on the storage's disk)
        self.stopped_by: str | None = None  # the signal that stopped the launch (running seeds were released)

    @property
    def ok(self) -> bool:
        return not (self.crashed or self.died or self.lost or self.stopped_by or self.failed)


# Signals that stop a local launch. SIGHUP only when not ignored: under nohup it must stay so.
STOP_SIGNALS = ("SIGTERM", "SIGHUP")


_FORWARDED = {signal.SIGTERM, signal.SIGHUP}  # blocked around a worker's fork (see _worker_entry)


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
    from alfred.protocol.storage_names import get_git_commits

    for storage_dir in storage_dirs:
        recorded = load_dict_from_json(StorageDir(storage_dir).prepare_info).get("git", {})
        current = get_git_commits({name: r["path"] for name, r in recorded.items()})
        for name, r in recorded.items():
            if current[name]["commit"] != r["commit"]:
                raise AlfredError(f"--check_hash: repo {name!r} ({r['path']}) is at {current[name]['commit'][:7]}, "
                                  f"but {storage_dir.name} was prepared at {r['commit'][:7]}; check out that "
                                  "commit or launch without --check_hash")


# Messages a worker process sends its launcher through a pipe: its final report (a dict) and,
# under --use_pbar, one _RUN_DONE per run. The claim it holds goes through a _ClaimBoard instead:
# the launcher reads it only if the process dies, so a run costs the launcher no wake-up.
_RUN_DONE = "run done"  # one run finished (the overall progress bar)


class _ClaimBoard:
    """The claim a worker process holds, in memory shared with its launcher.

    The worker writes the claim (seed folder, token, facts) as one JSON text before its run and
    clears it after; the launcher reads it only once the process has ended, to record the crash
    of that seed on the dead worker's behalf. Layout: 8 bytes of length (0: no claim), then the
    text; the length is written last, so a board is whole whenever it is read.
    """

    SIZE = 1 << 16  # a seed folder path (<= PATH_MAX, 4 KiB) and the claim's few facts

    def __init__(self, ctx):
        self.memory = ctx.RawArray("c", self.SIZE)

    def publish(self, claim) -> None:
        if claim is None:
            struct.pack_into("q", self.memory, 0, 0)
            return
        text = json.dumps([claim.seed_dir, claim.token, claim.info]).encode()
        if len(text) > self.SIZE - 8:  # cannot happen with alfred's facts; say nothing rather than half
            text = b""
        self.memory[8:8 + len(text)] = text
        struct.pack_into("q", self.memory, 0, len(text))

    def announce(self, seed_dir: str, token: str) -> None:
        """The token of a claim about to be made (before its rename): a worker killed between the
        rename and its ``publish`` is still known. Its facts are then read from its flag."""
        self.publish(SimpleNamespace(seed_dir=seed_dir, token=token, info={}))

    def read(self) -> tuple[str, str, dict] | None:
        length = struct.unpack_from("q", self.memory, 0)[0]
        if not 0 < length <= self.SIZE - 8:
            return None
        seed_dir, token, info = json.loads(self.memory[8:8 + length])
        return seed_dir, token, info


_HOW = {signal.SIGKILL: "killed by SIGKILL (the kernel's out-of-memory killer, or kill -9)",
        signal.SIGSEGV: "killed by SIGSEGV (a segmentation fault, e.g. in a C extension)",
        signal.SIGABRT: "killed by SIGABRT (an abort, e.g. a failed assertion in C code)",
        signal.SIGBUS: "killed by SIGBUS (a bus error)"}


def _parent_death_signal(sig: int) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the worker's heartbeat thread watches its parent instead


def _worker_entry(conn, board, storage_dirs, kwargs, env=None) -> None:
    from alfred.protocol.fencing import install_handlers

    # A stop signal (the launcher forwards its own; the kernel sends SIGTERM if the launcher
    # dies) raises Preempted in the user's main: the seed goes back to UNHATCHED with its
    # files, and the worker returns its report. The launcher blocked these signals around the
    # fork (its own handlers are inherited): one sent meanwhile is delivered here, once ours.
    install_handlers([signal.Signals(s).name for s in stop_signals()] + ["SIGTERM"])
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
    parent = kwargs["parent_pid"]
    _parent_death_signal(signal.SIGTERM)  # the launcher dies by any signal, SIGKILL too: release and stop
    if os.getppid() != parent:  # it died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)
    os.environ.update(env or {})  # e.g. CUDA_VISIBLE_DEVICES, before main.py (and torch) is imported
    from dataclasses import asdict

    from alfred.search.worker import run_worker

    logging.basicConfig(level=kwargs["log_level"], format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout, force=True)

    def send(message) -> None:
        try:
            conn.send(message)
        except OSError:  # the launcher is gone: the worker stops at the next check
            pass

    if kwargs.pop("report_progress", False):  # one small message per run, for the overall bar
        kwargs["on_run_done"] = lambda: send(_RUN_DONE)
    kwargs["on_claim"] = board.publish
    kwargs["announce"] = board.announce
    try:
        report = run_worker(storage_dirs, **kwargs)
    except KeyboardInterrupt:
        sys.exit(130)
    send(asdict(report))
    conn.close()


def _context():
    """How worker processes start: fork where safe (quick), else spawn.

    fork is used on Linux when this process has not imported the user's main.py (the CLI
    never does): a fork then copies nothing but alfred. A process that did (a test, the demo,
    a notebook) spawns fresh interpreters instead, so that no thread pool or GPU context of
    the user's libraries is copied.
    """
    import multiprocessing

    if sys.platform.startswith("linux") and "main" not in sys.modules:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def launch(storage_dirs: list[Path], *, n_processes: int = 1, n_experiments_per_proc: int | None = None,
           use_pbar: bool = False, heartbeat_s: float = 30.0, stale_after_s: float | None = None,
           log_level: int = logging.INFO,
           over_tasks: bool = False, project_dir: str | os.PathLike = ".", max_attempts: int | None = None,
           max_releases: int | None = None, gpus: list[str] | None = None, runs_per_gpu: int = 1) -> LaunchReport:
    """Run the storage dirs' UNHATCHED seeds with ``n_processes`` worker processes; wait for them.

    Runs happen in worker processes, even with one, so that a main that ends its own process
    (os._exit, a segfault, the OOM killer) cannot take the launch down: the launcher records
    that seed as CRASH (how the process died, the end of its logger.out), starts a fresh
    worker and goes on. With ``gpus``, worker process ``slot`` sees only GPU
    ``gpus[slot // runs_per_gpu]`` (CUDA_VISIBLE_DEVICES set in the child before main.py is
    imported); ``n_processes`` is then ``len(gpus) * runs_per_gpu``.
    """
    common = dict(heartbeat_s=heartbeat_s, stale_after_s=stale_after_s, use_pbar=use_pbar, log_level=log_level,
                  over_tasks=over_tasks,
                  project_dir=str(Path(project_dir).resolve()), max_runs=n_experiments_per_proc,
                  max_attempts=max_attempts, max_releases=max_releases, parent_pid=os.getpid())
    storage_dirs = [Path(d).absolute() for d in storage_dirs]
    report = LaunchReport()
    if gpus:
        n_processes = len(gpus) * runs_per_gpu
    overall = None
    if use_pbar:  # below the workers' bars: every run of this launch, whichever worker did it
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread in a process that forks workers
        overall = tqdm(desc="runs done", unit="run", position=n_processes, leave=True)
    try:
        return _supervise(storage_dirs, report, common, n_processes=n_processes, gpus=gpus,
                          runs_per_gpu=runs_per_gpu, overall=overall)
    finally:
        if overall is not None:
            overall.close()


def _supervise(storage_dirs: list[Path], report: LaunchReport, common: dict, *, n_processes: int,
               gpus: list[str] | None, runs_per_gpu: int, overall) -> LaunchReport:
    from multiprocessing.connection import wait

    ctx = _context()
    tag = str(os.getpid())
    running: dict = {}  # sentinel -> _Slot
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
        board = _ClaimBoard(ctx)
        process = ctx.Process(target=_worker_entry, args=(writer, board, storage_dirs, kwargs, env), name=worker_id)
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        writer.close()
        running[process.sentinel] = _Slot(process, reader, board, worker_id, slot)

    launcher = os.getpid()

    def forward(signum: int, frame) -> None:  # stop: every worker releases its seed and reports
        if os.getpid() != launcher:  # a worker forked a moment ago, before it set its own handlers
            return
        if report.stopped_by is None:
            report.stopped_by = signal.Signals(signum).name
            print(f"received {report.stopped_by}: the workers send their running seeds back to UNHATCHED "
                  "(files kept) and stop", flush=True)
        _signal_all(running, signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in stop_signals()}
    for slot in range(n_processes):
        start(slot)
    try:
        while running:
            ready = wait([*running, *(w.reader for w in running.values())])
            for sentinel, w in list(running.items()):
                if sentinel not in ready and w.reader not in ready:
                    continue
                w.read_messages(overall)
                if w.result is None and w.process.is_alive():
                    continue
                w.process.join()
                w.read_messages(overall)
                del running[sentinel]
                if w.result is not None:
                    _merge(report, w.result)
                    if w.result.get("failed") and report.stopped_by is None:  # a full disk: the others stop too
                        _signal_all(running, signal.SIGTERM)
                    elif w.result["stopped_early"] and report.stopped_by is None and not report.failed:
                        start(w.slot)
                elif w.claim is not None:  # died holding a claim: the run took its process down
                    _crash_for(w, report)
                    if report.stopped_by is None:
                        start(w.slot)
                else:
                    report.died.append(f"worker {w.worker_id} (pid {w.process.pid}) died with exit code "
                                       f"{w.process.exitcode}")
    except KeyboardInterrupt:  # Ctrl-C: the workers got it too (same process group); kill -INT: forward it
        _signal_all(running, signal.SIGINT)
        deadline = time.time() + 10
        for w in running.values():
            w.process.join(max(0.0, deadline - time.time()))
            if w.process.is_alive():
                w.process.terminate()
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return report


class _Slot:
    """One worker process as its launcher sees it: the claim it holds, its final report."""

    def __init__(self, process, reader, board: _ClaimBoard, worker_id: str, slot: int):
        self.process, self.reader, self.board, self.worker_id, self.slot = process, reader, board, worker_id, slot
        self.result: dict | None = None

    @property
    def claim(self) -> tuple[str, str, dict] | None:
        """The claim the worker held when it ended (read once its process is gone)."""
        return self.board.read()

    def read_messages(self, overall) -> None:
        try:
            while self.result is None and self.reader.poll():
                message = self.reader.recv()
                if message == _RUN_DONE:
                    if overall is not None:
                        overall.update(1)
                else:
                    self.result = message
        except (EOFError, OSError):
            pass


def _signal_all(running: dict, sig: int) -> None:
    for w in running.values():
        if w.process.is_alive():
            try:
                os.kill(w.process.pid, sig)
            except ProcessLookupError:
                pass


def _crash_for(w: _Slot, report: LaunchReport) -> None:
    """Record, as its dead holder would have, the crash of the seed a worker process died running
    (or finish its completion, if it died publishing the files of a completed run)."""
    from alfred.protocol import flags
    from alfred.protocol.layout import CRASH, SeedDir, completing_flag_name
    from alfred.protocol.reset import roll_forward
    from alfred.protocol.layout import claim_flag_name
    from alfred.protocol.seed_state import SeedState, SeedStatus, read_flag_info

    seed_dir, token, info = w.claim
    if not info:  # killed between its claim's rename and telling the launcher: the facts are in the flag
        info = read_flag_info(os.path.join(seed_dir, claim_flag_name(token)))
    code = w.process.exitcode
    if code is not None and code < 0:
        how = _HOW.get(-code, f"killed by {signal.Signals(-code).name}")
    else:
        how = f"exited with code {code} before its run ended (os._exit, or sys.exit in a thread)"
    tree = SeedDir(seed_dir, run_token=token)
    message = (f"the worker process running this seed died: {how}. The launcher recorded this crash and started "
               f"a new worker.\n\nlast lines of {tree.log_path}:\n{_tail(tree.log_path)}")
    if flags.crash(flags.Claim(tree=tree, token=token, info=info, seed_dir=seed_dir), message=message):
        report.crashed.append(seed_dir)
        print(f"CRASH {tree.get_run_name()}: its worker process {how}; see {tree.flag_path(CRASH)}",
              flush=True)
    elif os.path.exists(os.path.join(seed_dir, completing_flag_name(token))):
        roll_forward(seed_dir, SeedStatus(SeedState.INTERRUPTED, how, info, completing_flag_name(token)))
        report.completed += 1


def _tail(path: Path, n_lines: int = 20) -> str:
    from alfred.protocol.fsio import read_tail

    try:
        lines = read_tail(path, 16384).decode(errors="replace").splitlines()[-n_lines:]
    except OSError as e:  # missing (the run logged nothing), or not a regular file (never waited on)
        return "(none: the run logged nothing)" if isinstance(e, FileNotFoundError) else f"(not read: {e})"
    return "\n".join(lines) or "(empty)"


def _merge(report: LaunchReport, worker: dict) -> None:
    report.completed += worker["completed"]
    report.stopped_at_rung += worker.get("stopped_at_rung", 0)
    report.crashed += worker["crashed"]
    report.lost += worker["lost"]
    if worker.get("preempted") and report.stopped_by is None and not report.failed:  # not when it stopped them
        report.stopped_by = worker["preempted"]
    if worker["error"]:
        report.died.append(f"worker {worker['worker_id']} could not start: {worker['error']}")
    if worker.get("failed") and worker["failed"] not in report.failed:
        report.failed.append(worker["failed"])
