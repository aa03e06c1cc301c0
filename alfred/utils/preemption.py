"""Preemption and time limits: how a run is told to stop, and how it resumes.

A worker that must stop early (SLURM preempts its job, the job nears its time limit, or the
job is cancelled) gets a signal. The worker then raises :class:`Preempted` **inside the
user's main, in the main thread**, at whatever line it is executing. Your main may catch
it (or use ``try/finally``) to save a checkpoint into ``dir_tree.incrementals_dir`` and
must then let it propagate (``raise``). The worker sends the seed back to UNHATCHED with
all its files kept (the attempt is recorded in ``attempts/<n>/RELEASED``), so whichever
worker claims it next starts main again in the same folder and can resume::

    from alfred.utils.preemption import Preempted, latest_checkpoint

    def main(config, dir_tree, logger, pbar):
        step, state = 0, init_state()
        ckpt = latest_checkpoint(dir_tree)          # None on the first attempt
        if ckpt is not None:
            step, state = load(ckpt)
            logger.info("resumed from step %d", step)
        try:
            while step < config.n_steps:
                state = train_one_step(state)
                step += 1
        except Preempted:
            save((step, state), dir_tree.incrementals_dir / f"ckpt_{step:09d}.pt")
            raise                                    # the worker releases the seed

``Preempted`` derives from ``BaseException`` (like ``KeyboardInterrupt``), so an
``except Exception`` in your code does not swallow it. So does ``ClaimLost``, raised when
the worker lost the seed (reset while the worker was stopped): let it propagate, the folder
is another run's now. A seed released ``--max_releases`` times in a row without a new
checkpoint in ``incrementals/`` is marked CRASH instead of being run again. It is raised at most once per
run: later signals are only logged, so a checkpoint being written is not interrupted.
Outside the user's main (while the worker claims or finishes a seed) a signal only asks
the worker to stop before its next claim. SIGKILL cannot be caught: checkpoint
periodically too if a run is long.

Signals (installed by alfred.search.slurm in SLURM jobs, see docs/slurm.md): SIGUSR1/SIGUSR2
mean "preempted / time limit close": release the seed and requeue the job; SIGTERM means
"the job is being ended" (scancel, or SLURM's own preemption/time limit): release the seed
and exit without requeueing (SLURM requeues preempted jobs itself when so configured).
"""
from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Preempted", "ClaimLost", "latest_checkpoint", "install_handlers", "restore_handlers", "stop_requested",
           "user_code", "install_fence", "watch_claim", "claim_lost", "sigint_received"]

log = logging.getLogger(__name__)


class Preempted(BaseException):
    """Raised in the user's main when the worker must stop (SLURM preemption, time limit, scancel).

    Save a checkpoint into ``dir_tree.incrementals_dir`` and re-raise. ``signal_name`` says
    which signal asked for the stop (e.g. "SIGUSR2").
    """

    def __init__(self, signal_name: str):
        super().__init__(f"stopped by {signal_name}: the seed goes back to UNHATCHED with its files")
        self.signal_name = signal_name


class ClaimLost(BaseException):
    """Raised in the user's main when its worker lost the seed: a cleaner reset it while the
    worker was stopped (SIGSTOP, a suspended job, a paused VM, a hung filesystem) and another
    worker may be running it now. Nothing more may be written into the seed folder: let it
    propagate (do not save a checkpoint). The worker changes no flag and says where this
    run's partial output went (the attempt folder the cleaner moved it to).
    """


class _State:
    def __init__(self) -> None:
        self.requested: str | None = None  # name of the first stop signal received
        self.in_user_code = False
        self.raised = False
        self.owns: Callable[[], bool] | None = None  # is the current claim still ours? (see watch_claim)
        self.lost = False
        self.sigint = False  # a real SIGINT arrived (Ctrl-C), as opposed to main raising KeyboardInterrupt


_state = _State()


def stop_requested() -> str | None:
    """The name of the signal that asked this process to stop, or None."""
    return _state.requested


def _handler(signum: int, frame) -> None:
    name = signal.Signals(signum).name
    if _state.requested is None:
        _state.requested = name
        log.warning("received %s: stopping after releasing the current run", name)
    else:
        log.warning("received %s (already stopping after %s): ignored", name, _state.requested)
    if _state.in_user_code and not _state.raised:
        _state.raised = True
        raise Preempted(name)


def install_handlers(signals=("SIGUSR1", "SIGUSR2", "SIGTERM")) -> dict:
    """Make these signals raise :class:`Preempted` in the user's main (main thread only).

    Returns the previous handlers ({signal number: handler}), for ``restore_handlers``.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("signal handlers can only be installed from the main thread")
    return {getattr(signal, name): signal.signal(getattr(signal, name), _handler) for name in signals}


def restore_handlers(previous: dict) -> None:
    """Put back the handlers ``install_handlers`` replaced and forget any stop request."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    _state.requested, _state.in_user_code, _state.raised = None, False, False


def _fence(signum: int, frame) -> None:
    """SIGCONT (the process runs again after a stop), or the heartbeat thread's interrupt_main:
    check at once that the claim is still ours; if not, stop the user's main."""
    if _state.owns is not None and not _state.lost and not _state.owns():
        _state.lost = True
    if _state.lost and _state.in_user_code and not _state.raised:
        _state.raised = True
        raise ClaimLost("this worker lost its seed: it was reset while the worker was stopped")


def _sigint(signum: int, frame) -> None:
    _state.sigint = True
    raise KeyboardInterrupt


def install_fence() -> dict:
    """In a worker process: SIGCONT checks the claim (see watch_claim), SIGINT is told apart
    from a KeyboardInterrupt that main raises itself. Returns the previous handlers."""
    return {signal.SIGCONT: signal.signal(signal.SIGCONT, _fence), signal.SIGINT: signal.signal(signal.SIGINT, _sigint)}


@contextmanager
def watch_claim(owns: Callable[[], bool]):
    """While the block runs, ``owns()`` says whether the current claim is still ours."""
    _state.owns, _state.lost, _state.sigint = owns, False, False
    try:
        yield
    finally:
        _state.owns = None


def claim_lost() -> bool:
    """For the heartbeat thread, which found the claim gone: stop the user's main now (its
    ClaimLost is raised in the main thread). True if main was told."""
    import _thread

    _state.lost = True
    if not _state.in_user_code or signal.getsignal(signal.SIGCONT) is not _fence:
        return False
    _thread.interrupt_main(signal.SIGCONT)
    return True


def lost() -> bool:
    return _state.lost


def sigint_received() -> bool:
    return _state.sigint


@contextmanager
def user_code():
    """Marks the user's main: a stop signal received inside raises Preempted there."""
    _state.in_user_code, _state.raised = True, False
    try:
        if _state.requested is not None:  # a signal arrived between claim and main: stop now
            _state.raised = True
            raise Preempted(_state.requested)
        yield
    finally:
        _state.in_user_code = False


def latest_checkpoint(dir_tree, pattern: str = "*") -> Path | None:
    """The most recently modified file matching ``pattern`` in ``dir_tree.incrementals_dir``.

    None when there is none (first attempt). Temporary files (names starting with '.') are
    skipped: write checkpoints to a temporary name and ``os.replace`` them in, so a job killed
    mid-write never leaves a truncated checkpoint as the latest one.
    """
    folder = Path(dir_tree.incrementals_dir)
    try:
        candidates = [p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith(".")]
    except FileNotFoundError:
        return None
    if not candidates:
        return None
    return max(candidates, key=lambda p: (os.stat(p).st_mtime_ns, p.name))
