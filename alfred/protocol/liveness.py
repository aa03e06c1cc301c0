"""Is the process that holds a claim or a lock still alive? Who am I, and what time is it on the disk?

A claim records its holder's identity (:func:`identity`): host name, boot id, PID namespace,
pid and the pid's start time. Another process may judge that pid only when it runs in the
same kernel and the same PID namespace (:func:`same_pid_space`): the same host name is not
enough (a container with ``--uts=host``, ``apptainer --pid``, ``unshare -p`` share it but
number their processes apart). Everywhere else a claim is judged by its heartbeat.

Heartbeat ages are measured on the shared filesystem's clock (:func:`fs_now`): the mtime of
a probe file touched just now, set by the same clock (on NFS, the server's) that set the
heartbeat's mtime. A node whose clock is off cannot make a live run look dead.
"""
from __future__ import annotations

import os
import socket
import time

__all__ = ["HOSTNAME", "BOOT_ID", "PID_NS", "identity", "same_pid_space", "pid_alive", "pid_start_time",
           "fs_now", "fresh_mtime", "lease_clock"]

HOSTNAME = socket.gethostname()


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip() or None
    except (OSError, ValueError):
        return None


def _pid_ns() -> int | None:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


BOOT_ID = _read_text("/proc/sys/kernel/random/boot_id")  # changes at every boot of the kernel
PID_NS = _pid_ns()  # the inode of this process's PID namespace


def refresh_identity() -> None:
    """Read the host name and PID namespace again (a process that changed them, e.g. a test)."""
    global HOSTNAME, PID_NS
    HOSTNAME, PID_NS = socket.gethostname(), _pid_ns()


def identity(pid: int) -> dict:
    """The facts by which another process can tell whether ``pid`` (of this process's kernel) lives."""
    return {"host": HOSTNAME, "boot_id": BOOT_ID, "pid_ns": PID_NS, "pid": pid, "pid_start": pid_start_time(pid)}


def same_pid_space(info: dict) -> bool:
    """Whether the pid in ``info`` can be checked from here: same host, same boot, same PID namespace.

    Facts of an older alfred (no boot id or namespace recorded) are judged by the host name alone,
    as that alfred did.
    """
    if info.get("host") != HOSTNAME or not isinstance(info.get("pid"), int):
        return False
    for key, mine in (("boot_id", BOOT_ID), ("pid_ns", PID_NS)):
        if key in info and info[key] != mine:
            return False
    return True


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (Linux); None if there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def pid_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell a live pid from a reused one."""
    fields = _proc_stat(pid)
    return fields[19] if fields else None


def pid_alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` (in this PID namespace) is still the process that recorded ``start``.

    A killed process whose parent has not reaped it yet is a zombie: dead, though kill(0) works.
    """
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _proc_stat(pid)
    if fields is None:
        return not os.path.isdir("/proc/self")  # no procfs: trust kill(0)
    if fields[0] in ("Z", "X"):
        return False
    return start is None or fields[19] == start


# Clocks ----------------------------------------------------------------------------------------

def fresh_mtime(path: str | os.PathLike) -> float | None:
    """The mtime of ``path`` as the filesystem has it now, or None if it is gone.

    Opened, then fstat: on NFS an open revalidates the file's attributes (close-to-open), where a
    plain stat may answer from a cache up to a minute old. O_NONBLOCK: a FIFO planted there does
    not block; O_NOFOLLOW: a symlink is not followed (its own mtime is not read either: None).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError:  # a symlink (ELOOP) or another oddity: not a heartbeat
        return None
    try:
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)


PROBE = ".alfred_clock"  # in a storage dir: touched to read the filesystem's clock


def fs_now(folder: str | os.PathLike) -> float:
    """The time now on the clock that sets mtimes in ``folder`` (the NFS server's, on NFS).

    Touches ``<folder>/.alfred_clock`` and reads its mtime back; falls back to this machine's
    clock where the folder cannot be written (a read-only mount).
    """
    path = os.path.join(folder, PROBE)
    try:
        try:
            os.utime(path, follow_symlinks=False)
        except FileNotFoundError:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644))
        now = fresh_mtime(path)
    except OSError:
        now = None
    return time.time() if now is None else now


def lease_clock() -> float:
    """Seconds on a clock that never jumps and keeps counting while the machine is suspended
    (CLOCK_BOOTTIME where there is one): a holder measures its own lease with it."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(clock) if clock is not None else time.monotonic()
