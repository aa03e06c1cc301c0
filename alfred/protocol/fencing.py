"""Fencing a run: the signals that stop the user's main, and the loss of its claim.

A worker runs the user's main inside :func:`user_code`. A stop signal (SIGUSR1/2, SIGTERM,
SIGHUP; see :func:`install_handlers`) raises :class:`Preempted` there; the loss of the claim
(found by the heartbeat thread, or at once on SIGCONT) raises :class:`ClaimLost`. The public
names for training code are in alfred.utils.preemption.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager

__all__ = ["Preempted", "ClaimLost", "install_handlers", "restore_handlers", "stop_requested", "user_code",
           "install_fence", "watch_claim", "claim_lost", "sigint_received", "lost"]

log = logging.getLogger("alfred.utils.preemption")


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
    from a KeyboardInterrupt that main raises itself. Returns the previous handlers.

    A SIGINT ignored when the worker starts (its launcher was started with SIGINT ignored, as
    ``cmd &`` does in a script) stays ignored, as the launcher ignores it: else each SIGINT to
    the process group would release the workers' seeds and the launcher would start new workers."""
    handlers = {signal.SIGCONT: signal.signal(signal.SIGCONT, _fence)}
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        handlers[signal.SIGINT] = signal.signal(signal.SIGINT, _sigint)
    return handlers


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
