"""Preemption and time limits: how a run is told to stop, and how it resumes.

A worker that must stop early (SLURM preempts its job, the job nears its time limit, or the
job is cancelled) gets a signal. The worker then raises :class:`Preempted` **inside the
user's main, in the main thread**, at whatever line it is executing. Your main may catch
it to save a checkpoint into ``dir_tree.incrementals_dir`` and must then let it propagate
(``raise``). The worker sends the seed back to UNHATCHED with all its files kept (the attempt
is recorded in ``attempts/<n>/RELEASED``), and whichever worker claims it next hands main a
``dir_tree`` whose ``incrementals_dir`` holds them, so it can resume (so does a run that was
killed, or lost with its node: its files are carried forward the same way)::

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
the worker lost the seed (reset while the worker was stopped), or its heartbeats kept failing:
let it propagate, the run's files are another run's now. ``ClaimLost`` can interrupt an
``except Preempted`` block too. A seed released ``--max_releases`` times in a row without a
new checkpoint in ``incrementals/`` is marked CRASH instead of being run again. Preempted is
raised at most once per run: later signals are only logged, so a checkpoint being written is
not interrupted.
Outside the user's main (while the worker claims or finishes a seed) a signal only asks
the worker to stop before its next claim. SIGKILL cannot be caught: checkpoint
periodically too if a run is long.

In an adaptive search ``dir_tree.report(step, value)`` raises :class:`Pruned` (stop mode: not in
the top 1/eta at a rung; the seed ends PRUNED) or :class:`Paused` (promote mode: the seed ends
PAUSED.<step> and resumes from its checkpoint if promoted). Both subclass ``Preempted``, so the
``except Preempted: save; raise`` above covers them.

Signals (installed by alfred.search.slurm in SLURM jobs, see docs/slurm.md): SIGUSR1/SIGUSR2
mean "preempted / time limit close": release the seed and requeue the job; SIGTERM means
"the job is being ended" (scancel, or SLURM's own preemption/time limit): release the seed
and exit without requeueing (SLURM requeues preempted jobs itself when so configured).
"""
from __future__ import annotations

import os
from pathlib import Path

from alfred.protocol.fencing import ClaimLost, Paused, Preempted, Pruned, install_handlers, restore_handlers

__all__ = ["Preempted", "Pruned", "Paused", "ClaimLost", "latest_checkpoint", "install_handlers", "restore_handlers"]


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
