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

__all__ = ["Preempted", "Pruned", "Paused", "ClaimLost", "install_handlers", "restore_handlers", "stop_requested",
           "user_code", "install_fence", "watch_claim", "claim_lost", "sigint_received", "lost", "lost_reason"]

log = logging.getLogger("alfred.utils.preemption")


class Preempted(BaseException):
    """Raised in the user's main when the worker must stop (SLURM preemption, time limit, scancel).

    Save a checkpoint into ``dir_tree.incrementals_dir`` and re-raise. ``signal_name`` says
    which signal asked for the stop (e.g. "SIGUSR2").
    """

    def __init__(self, signal_name: str):
        super().__init__(f"stopped by {signal_name}: the seed goes back to UNHATCHED with its files")
        self.signal_name = signal_name


class Pruned(Preempted):
    """Raised by ``dir_tree.report`` in an adaptive search (stop mode): the run is not in the top
    ``1/eta`` at rung ``step``. Save a checkpoint if you like and re-raise (``except Preempted``
    does): the seed ends PRUNED with its files published, and is never run again."""

    def __init__(self, step: int):
        BaseException.__init__(self, f"pruned at step {step}: not in the top 1/eta of its rung")
        self.step, self.signal_name = step, "pruned"


class Paused(Preempted):
    """Raised by ``dir_tree.report`` in an adaptive search (promote mode) at rung ``step``: save a
    checkpoint into ``dir_tree.incrementals_dir`` and re-raise. The seed ends PAUSED.<step> with its
    files published; if a free worker promotes it, the run resumes from them (re-reporting the
    rungs it crossed changes nothing)."""

    def __init__(self, step: int):
        BaseException.__init__(self, f"paused at step {step}: resumed if promoted")
        self.step, self.signal_name = step, "paused"


class ClaimLost(BaseException):
    """Raised in the user's main when its worker lost the seed, or may be about to: a cleaner
    reset it while the worker was stopped (SIGSTOP, a suspended job, a paused VM, a hung
    filesystem), or no heartbeat succeeded for so long that a cleaner may call the run dead
    (its lease ran out). Another worker may run the seed now: let it propagate (saving a
    checkpoint is pointless: the run's files are no longer where its paths point). The worker
    changes no flag of the next claim; it sends the seed back itself if it still holds it.
    """


class _State:
    """What the main thread needs to know about the current run; one per process."""

    def __init__(self) -> None:
        self.requested: str | None = None  # name of the first stop signal received
        self.in_user_code = False
        self.preempt_raised = False  # Preempted raised once per run: a checkpoint being saved is not cut
        self.lost_raised = False  # ClaimLost raised once per run (it may follow Preempted)
        self.check: Callable[[], str | None] | None = None  # why the claim is lost, or None (see watch_claim)
        self.expired: Callable[[], str | None] | None = None  # why its lease ran out, or None (no file touched)
        self.lost: str | None = None  # why the current claim is lost (None: it is not)
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
    if _state.in_user_code and not _state.preempt_raised and not _state.lost_raised:
        _state.preempt_raised = True
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
    _state.requested, _state.in_user_code, _state.preempt_raised = None, False, False


def _raise_if_lost() -> None:
    if _state.lost is not None and _state.in_user_code and not _state.lost_raised:
        _state.lost_raised = True
        raise ClaimLost(f"this worker lost its seed: {_state.lost}")


def _fence(signum: int, frame) -> None:
    """SIGCONT (the process runs again after a stop), or the heartbeat thread's interrupt_main:
    check at once that the claim is still ours; if not, stop the user's main."""
    if _state.check is not None and _state.lost is None:
        _state.lost = _state.check()
    _raise_if_lost()


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
def watch_claim(check: Callable[[], str | None], expired: Callable[[], str | None] | None = None):
    """A new run: ``check()`` says why its claim is lost (None while it is not), at SIGCONT;
    ``expired()`` why its lease ran out, checked again as main starts.

    Entered once per claim, before anything can find the claim lost: a loss found later, even
    before main starts, is never forgotten (see user_code).
    """
    _state.check, _state.expired, _state.lost, _state.sigint = check, expired, None, False
    _state.preempt_raised = _state.lost_raised = False
    try:
        yield
    finally:
        _state.check = _state.expired = None


def claim_lost(why: str) -> bool:
    """For the heartbeat thread, which found the claim gone or its lease run out: stop the user's
    main now (ClaimLost is raised in the main thread). True if main was told."""
    if _state.lost is None:
        _state.lost = why
    if not _state.in_user_code or signal.getsignal(signal.SIGCONT) is not _fence:
        return False
    # A real signal to the main thread (not _thread.interrupt_main): it also cuts a blocking call
    # short (a sleep, a read), where a simulated one would wait for it to return.
    signal.pthread_kill(threading.main_thread().ident, signal.SIGCONT)
    return True


def lost() -> bool:
    return _state.lost is not None


def lost_reason() -> str | None:
    return _state.lost


def sigint_received() -> bool:
    return _state.sigint


@contextmanager
def user_code():
    """Marks the user's main: a stop signal received inside raises Preempted there, a lost claim
    ClaimLost; either one found before main started stops it before its first line."""
    _state.in_user_code = True
    try:
        if _state.lost is None and _state.expired is not None:
            _state.lost = _state.expired()
        _raise_if_lost()
        if _state.requested is not None and not _state.preempt_raised:  # a signal arrived between claim and main
            _state.preempt_raised = True
            raise Preempted(_state.requested)
        yield
    finally:
        _state.in_user_code = False
