"""Work of a summary spread over forked processes: reading recorders, drawing figures.

A summary reads every seed's recorder (unpickling Python floats is the bulk of its time) and
draws three figures (matplotlib is single-threaded): both use one core where a machine has
several. :func:`fork_map` runs calls in forked children (they inherit what the parent has
imported and computed: nothing is pickled on the way in) and pickles their results back
through a pipe; the parent runs the first call itself meanwhile.

It falls back to running the calls one after the other, in this process, where forking is
not safe or brings nothing: not on Linux, one core, other threads running (a fork copies
their locks, not the threads), or ``ALFRED_NO_FORK=1`` in the environment. An exception in
a child is raised again in the parent (AlfredError keeps its one-line message).
"""
from __future__ import annotations

import os
import pickle
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["can_fork", "fork_map", "n_workers"]


def can_fork() -> bool:
    """Whether :func:`fork_map` may fork here (see the module doc)."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork") and (os.cpu_count() or 1) > 1
            and threading.active_count() == 1 and os.environ.get("ALFRED_NO_FORK", "") in ("", "0"))


def n_workers(n_items: int) -> int:
    """How many processes to share ``n_items`` among: the cores this process may use, at most one per item."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_items)) if can_fork() else 1


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def fork_map(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """``[call() for call in calls]``, the calls after the first in forked children, in parallel.

    Each call's result must pickle. The order of the results is that of ``calls``.
    """
    if len(calls) < 2 or not can_fork():
        return [call() for call in calls]
    children = []
    try:
        for call in calls[1:]:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: run, send the result, leave without running the parent's exit code
                os.close(read_fd)
                code = 0
                try:
                    payload = pickle.dumps(("ok", call()), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException as e:  # noqa: BLE001 (sent to the parent, which raises it)
                    code = 1
                    try:
                        payload = pickle.dumps(("error", e), protocol=pickle.HIGHEST_PROTOCOL)
                    except Exception:
                        payload = pickle.dumps(("error", RuntimeError("".join(traceback.format_exception(e)))))
                try:
                    with os.fdopen(write_fd, "wb") as out:
                        out.write(payload)
                finally:
                    os._exit(code)
            os.close(write_fd)
            children.append((pid, read_fd))
        results = [calls[0]()]
        for pid, read_fd in children:
            data = _read_all(read_fd)
            os.close(read_fd)
            os.waitpid(pid, 0)
            if not data:
                raise RuntimeError(f"a summary worker process (pid {pid}) died without a result")
            status, value = pickle.loads(data)
            if status == "error":
                raise value
            results.append(value)
        children = []
        return results
    finally:
        for pid, read_fd in children:  # the parent failed: do not leave children behind
            try:
                os.close(read_fd)
                os.waitpid(pid, 0)
            except OSError:
                pass
