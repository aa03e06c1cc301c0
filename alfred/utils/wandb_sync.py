"""Uploading W&B offline runs with ``wandb sync``: finding them, telling the synced ones, syncing.

What it does and why is told in ``python -m alfred.sync_wandb --help``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from alfred.protocol.listing import list_storage_dirs
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError
from alfred.utils.selection import select_storage_dirs

__all__ = ["SyncResult", "find_offline_runs", "is_synced", "select_dirs", "sync_command", "sync_runs"]

WANDB_DIR_NAME = "wandb"  # W&B's own folder under the dir a run is given (see init_wandb_run)
OFFLINE_RUN_PREFIX = "offline-run-"
ONLINE_RUN_PREFIX = "run-"
SYNCED_SUFFIX = ".synced"  # wandb-core: os.WriteFile(<file>.wandb + ".synced") after a sync
_KILL_GRACE_S = 5.0
_MUTING_ENV_VARS = ("WANDB_SILENT", "WANDB_QUIET")  # they hide wandb sync's error messages


@dataclass(frozen=True)
class SyncResult:
    """What one ``wandb sync <run_dir>`` did."""

    run_dir: Path
    ok: bool
    returncode: int | None  # None: it timed out or could not start
    duration_s: float
    reason: str = ""  # why it failed: "timed out after 600 s", "exit code 1", ...
    output: str = ""  # wandb's stdout and stderr, interleaved

    @property
    def last_line(self) -> str:
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        return lines[-1] if lines else ""


# Selection ------------------------------------------------------------------------------

def select_dirs(from_file: Path | None, storage_name: str | None, root_dir: Path | None,
                tag: str | None = None) -> list[Path]:
    """The storage dirs to look in, keeping only names that contain ``tag`` (when given).

    With neither ``from_file`` nor ``storage_name``: every storage dir of ``root_dir``
    (default ``DirectoryTree.default_root``); AlfredError if that folder does not exist.
    """
    if from_file is None and storage_name is None:
        root = Path(root_dir or DirectoryTree.default_root)
        if not root.is_dir():
            raise AlfredError(f"root dir {root} does not exist (pass --root_dir, --storage_name or --from_file)")
        dirs = list_storage_dirs(root)
    else:
        dirs = select_storage_dirs(from_file, storage_name, root_dir)
    if tag:
        dirs = [d for d in dirs if tag in d.name]
    return dirs


# Discovery ------------------------------------------------------------------------------

def find_offline_runs(storage_dirs: list[Path]) -> list[Path]:
    """Every ``offline-run-*`` folder inside a ``wandb/`` folder under ``storage_dirs``, sorted.

    Walks with ``os.scandir``; never follows symbolic links (``wandb/latest-run`` points at a
    run folder) and never descends into a run folder. A run folder counts only if it holds a
    ``*.wandb`` file (a run killed before writing one has nothing to sync).
    """
    found: set[Path] = set()
    for storage_dir in storage_dirs:
        _walk(str(storage_dir), found)
    return sorted(found)


def _walk(path: str, found: set[Path]) -> None:
    try:
        it = os.scandir(path)
    except FileNotFoundError:  # removed while we walk
        return
    in_wandb_dir = os.path.basename(path) == WANDB_DIR_NAME
    with it:
        subdirs = []
        for entry in it:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if in_wandb_dir and entry.name.startswith(OFFLINE_RUN_PREFIX):
                if _wandb_files(Path(entry.path)):
                    found.add(Path(entry.path))
            elif in_wandb_dir and entry.name.startswith(ONLINE_RUN_PREFIX):
                continue  # an online run folder: already uploaded while it ran
            else:
                subdirs.append(entry.path)
    for sub in subdirs:
        _walk(sub, found)


def _wandb_files(run_dir: Path) -> list[Path]:
    try:
        with os.scandir(run_dir) as it:
            return sorted(Path(e.path) for e in it if e.name.endswith(".wandb") and e.is_file())
    except FileNotFoundError:
        return []


def is_synced(run_dir: Path) -> bool:
    """Whether W&B marked every ``*.wandb`` file of the run folder as synced."""
    files = _wandb_files(Path(run_dir))
    return bool(files) and all(f.with_name(f.name + SYNCED_SUFFIX).exists() for f in files)


# Syncing --------------------------------------------------------------------------------

def sync_command(run_dir: Path, *, env_activation: str | None = None, options: tuple[str, ...] = ()) -> list[str]:
    """The argument list that syncs one run folder (paths are never put in a shell string).

    Without ``env_activation``: ``<this python> -m wandb sync <options> <run_dir>``. With it:
    ``bash -c '<env_activation> && exec "$@"' bash wandb sync <options> <run_dir>``, so the
    ``wandb`` found after activation runs, with the path as its own argument. ``options``: e.g.
    ``("--project", "p", "--entity", "e")``.
    """
    if env_activation:
        return ["bash", "-c", f'{env_activation} && exec "$@"', "bash", "wandb", "sync", *options, str(run_dir)]
    return [sys.executable, "-m", "wandb", "sync", *options, str(run_dir)]


def sync_runs(runs: list[Path], *, n_jobs: int = 4, env_activation: str | None = None,
              timeout_s: float = 600.0, options: tuple[str, ...] = ()) -> list[SyncResult]:
    """Run ``wandb sync`` on each run folder, ``n_jobs`` at a time; results in ``runs`` order.

    A run counts as synced when ``wandb sync`` exits with 0 *and* W&B's ``.synced`` marker
    is there (it exits with 0 even when the server is unreachable). A sync still running
    after ``timeout_s`` is killed with its whole process group. On KeyboardInterrupt every
    running sync is killed before the interrupt goes on. WANDB_SILENT / WANDB_QUIET are
    dropped from the syncs' environment so that their output says why a sync failed.
    """
    runs = [Path(r) for r in runs]
    if not runs:
        return []
    # Its output is captured (a failure shows its last line), so let wandb say why it failed.
    env = {k: v for k, v in os.environ.items() if k not in _MUTING_ENV_VARS}
    running: set[subprocess.Popen] = set()
    lock = threading.Lock()
    stopping = threading.Event()

    def one(run_dir: Path) -> SyncResult:
        start = time.monotonic()
        path = Path(os.path.abspath(run_dir))  # wandb sync runs in another folder
        cmd = sync_command(path, env_activation=env_activation, options=options)
        try:
            with lock:  # checked under the lock: an interrupt kills every process started before it
                if stopping.is_set():
                    return SyncResult(run_dir, False, None, 0.0, "interrupted")
                process = subprocess.Popen(cmd, cwd=_sync_cwd(path), env=env, stdin=subprocess.DEVNULL,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True, errors="replace", start_new_session=True)
                running.add(process)
        except OSError as e:
            return SyncResult(run_dir, False, None, time.monotonic() - start, f"could not start {cmd[0]}: {e}")
        try:
            try:
                output, _ = process.communicate(timeout=timeout_s)
                timed_out = False
            except subprocess.TimeoutExpired:
                output = _kill_group(process)
                timed_out = True
        finally:
            with lock:
                running.discard(process)
        duration = time.monotonic() - start
        if timed_out:
            return SyncResult(run_dir, False, None, duration, f"timed out after {timeout_s:g} s", output)
        if stopping.is_set():
            return SyncResult(run_dir, False, process.returncode, duration, "interrupted", output)
        if process.returncode != 0:
            return SyncResult(run_dir, False, process.returncode, duration, f"exit code {process.returncode}", output)
        if not is_synced(run_dir):
            return SyncResult(run_dir, False, 0, duration, "wandb sync wrote no .synced marker", output)
        return SyncResult(run_dir, True, 0, duration, "", output)

    pool = ThreadPoolExecutor(max_workers=max(1, n_jobs), thread_name_prefix="wandb-sync")
    try:
        futures = [pool.submit(one, r) for r in runs]
        results = [f.result() for f in futures]
    except BaseException:
        stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        with lock:
            for process in list(running):
                _kill_group(process, collect=False)
        raise
    pool.shutdown()
    return results


def _sync_cwd(run_dir: Path) -> Path:
    """The folder holding the run's ``wandb/`` (the seed folder): wandb sync logs land there."""
    return run_dir.parent.parent


def _kill_group(process: subprocess.Popen, *, collect: bool = True) -> str:
    """SIGTERM the process group (wandb and the wandb-core it started), SIGKILL after a grace."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        if not collect:
            return ""
        try:
            output, _ = process.communicate(timeout=_KILL_GRACE_S)
            return output or ""
        except subprocess.TimeoutExpired:
            continue
    # Killed, yet its output pipe is still open: a process that left the group holds it.
    process.kill()
    process.wait()
    return ""
