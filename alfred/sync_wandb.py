"""Upload the W&B offline runs of some storage dirs with ``wandb sync``.

Runs started with ``init_wandb_run(..., offline=True)`` (alfred.utils.wandb_run) live in
``<seed_dir>/wandb/offline-run-*``. This script finds every such run folder under the
selected storage dirs, skips those W&B already marked as synced (the empty file
``run-<id>.wandb.synced`` next to ``run-<id>.wandb``, written by ``wandb sync`` when it
finishes a run), lists the rest, asks once, then runs the real ``wandb sync <run_dir>`` for
each, several at once. One line per run: OK or FAILED (with wandb's last output line).

Exit code 0 when every run synced (or there was nothing to sync), 1 when a sync failed or
the answer was no, 2 for bad input.

A run counts as synced only if W&B wrote its marker: ``wandb sync`` (0.31) exits with code 0
even when it could not reach the server. Alfred never deletes or edits a run folder; ``wandb
sync`` itself adds ``run-<id>.wandb.syncstate`` (its resume bookkeeping) and, on success,
the ``.synced`` marker. It runs with the run's seed folder (the folder holding ``wandb/``) as
working directory, so its own logs (``wandb/debug-cli.<user>.log``,
``wandb/logs/debug-sync.*.log``) land next to the run, unless WANDB_DIR says otherwise.

To make a sync fail fast when the server is unreachable, lower W&B's retries, e.g.
``WANDB__GRAPHQL_RETRY_MAX=1 WANDB__GRAPHQL_RETRY_WAIT_MAX_SECONDS=1`` (whole seconds).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from alfred.utils.config import parse_bool, positive_float, positive_int
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError, ask_yes_no, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs

__all__ = [
    "SyncResult",
    "build_parser",
    "find_offline_runs",
    "is_synced",
    "main",
    "run",
    "select_dirs",
    "sync_command",
    "sync_runs",
]

WANDB_DIR_NAME = "wandb"
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
        dirs = DirectoryTree.get_storage_dirs(root)
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

def sync_command(run_dir: Path, *, env_activation: str | None = None) -> list[str]:
    """The argument list that syncs one run folder (paths are never put in a shell string).

    Without ``env_activation``: ``<this python> -m wandb sync <run_dir>``. With it:
    ``bash -c '<env_activation> && exec "$@"' bash wandb sync <run_dir>``, so the ``wandb``
    found after activation runs, with the path as its own argument.
    """
    if env_activation:
        return ["bash", "-c", f'{env_activation} && exec "$@"', "bash", "wandb", "sync", str(run_dir)]
    return [sys.executable, "-m", "wandb", "sync", str(run_dir)]


def sync_runs(runs: list[Path], *, n_jobs: int = 4, env_activation: str | None = None,
              timeout_s: float = 600.0) -> list[SyncResult]:
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
        cmd = sync_command(path, env_activation=env_activation)
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


# Command line ---------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.sync_wandb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    parser.epilog = ("With neither --from_file nor --storage_name: every storage dir of the root dir "
                     f"(--root_dir, default {DirectoryTree.default_root}).")
    parser.add_argument("--tag", default=None,
                        help="only storage dirs whose name contains this substring")
    parser.add_argument("--env_activation", default=None,
                        help="shell command that activates the environment holding wandb, run before each "
                             "sync, e.g. 'source venv/bin/activate' (default: use this Python's wandb)")
    parser.add_argument("--ask_for_validation", type=parse_bool, default=True,
                        help="list the runs and ask y/n before syncing (default: true)")
    parser.add_argument("--yes", "-y", action="store_true", help="same as --ask_for_validation false")
    parser.add_argument("--n_jobs", type=positive_int, default=4,
                        help="number of wandb sync processes at once (default: 4)")
    parser.add_argument("--timeout_s", type=positive_float, default=600.0,
                        help="kill a sync still running after this many seconds (default: 600)")
    parser.add_argument("--dry_run", action="store_true",
                        help="list the runs that would be synced and exit")
    return parser






def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    storage_dirs = select_dirs(args.from_file, args.storage_name, args.root_dir, args.tag)
    if not storage_dirs:
        print("no storage dir selected" + (f" (none contains {args.tag!r})" if args.tag else "") + ": nothing to sync")
        return 0
    try:
        runs = find_offline_runs(storage_dirs)
    except OSError as e:
        raise AlfredError(f"could not list the runs: {e}") from None
    to_sync = [r for r in runs if not is_synced(r)]
    n_synced = len(runs) - len(to_sync)
    print(f"{len(storage_dirs)} storage dir(s): {len(runs)} offline run(s), {n_synced} already synced, "
          f"{len(to_sync)} to sync")
    if not to_sync:
        return 0
    for r in to_sync:
        print(f"  {r}")
    if args.dry_run:
        print("dry run: nothing was synced")
        return 0
    if not args.env_activation:
        import importlib.util

        if importlib.util.find_spec("wandb") is None:
            raise AlfredError(f"wandb is not installed in {sys.executable}; install it (pip install wandb) "
                              "or pass --env_activation")
    if args.ask_for_validation and not args.yes and not ask_yes_no(f"Sync these {len(to_sync)} run(s)?"):
        print("aborted: nothing was synced")
        return 1
    start = time.time()
    results = sync_runs(to_sync, n_jobs=args.n_jobs, env_activation=args.env_activation, timeout_s=args.timeout_s)
    for r in results:
        if r.ok:
            print(f"OK      {r.run_dir} ({r.duration_s:.1f} s)")
        else:
            print(f"FAILED  {r.run_dir}: {r.reason}" + (f": {r.last_line}" if r.last_line else ""))
    n_failed = sum(not r.ok for r in results)
    print(f"done in {time.time() - start:.1f} s: {len(results) - n_failed} synced, {n_failed} failed")
    return 1 if n_failed else 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
