"""File operations of the protocol: atomic writes, tolerant JSON reads, the test stall hook."""
from __future__ import annotations

import errno
import json
import os
import signal
import stat
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_text", "read_json_or_empty", "stall_point", "write_into", "write_new", "read_small",
           "read_small_stat", "DISK_FULL"]


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old content or the new, never half.

    The data goes to a temporary file in the same folder, then ``os.replace`` swaps it in:
    rename within one directory is atomic on POSIX filesystems and on NFS (the server
    performs it as one operation). A process killed mid-write leaves at most a stray
    ``.tmp-*`` file, never a truncated ``path``.
    """
    import tempfile  # here: `from alfred.utils import *` stays quick

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would, so that
        # colleagues on a shared filesystem can read configs, summaries and reports.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    """This process's umask, read without changing it (Linux); 0o022 where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


# errno values that mean "no room left" (blocks or inodes, or the user's quota): not a bug of the run
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})

# Flags for every file the protocol writes or reads in a seed folder: a symlink planted there is
# not followed (ELOOP), a FIFO does not block (O_NONBLOCK; writing to one gives ENXIO).
_SAFE = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def write_into(path: str | os.PathLike, data: bytes, flags: int) -> None:
    """One write(2) of ``data`` into the existing regular file ``path`` (``flags``: O_TRUNC or
    O_APPEND). FileNotFoundError if it is gone; OSError(ELOOP) for a symlink; OSError for a
    FIFO or any other special file."""
    fd = os.open(path, os.O_WRONLY | flags | _SAFE)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        os.write(fd, data)
    finally:
        os.close(fd)


def write_new(path: str | os.PathLike, data: bytes) -> None:
    """Create ``path`` (O_EXCL: never through a symlink or over a file) and write ``data`` in one write(2)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _SAFE, 0o644)
    try:
        if data:
            os.write(fd, data)
    finally:
        os.close(fd)


def read_small(path: str | os.PathLike, max_bytes: int = 1 << 20) -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them (a flag, a lock).

    Never follows a symlink at ``path`` (ELOOP) and never blocks on a FIFO (OSError: not a
    regular file). Larger files are cut at ``max_bytes``.
    """
    return read_small_stat(path, max_bytes)[0]


def read_small_stat(path: str | os.PathLike, max_bytes: int = 1 << 20) -> tuple[bytes, os.stat_result]:
    """``read_small``, and the file's attributes as the filesystem has them now (an open
    revalidates them on NFS, where a stat may answer from a minute-old cache)."""
    fd = os.open(path, os.O_RDONLY | _SAFE)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        chunks, left = [], max_bytes
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


def read_json_or_empty(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object from ``path``, or {} when it is missing, half-written, not an object, a
    symlink or a special file.

    For FLAG-files read while other processes may be replacing them.
    """
    try:
        data = json.loads(read_small(path))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# Test hook: ALFRED_STALL_AT="<point>:<marker file>" stops this process (SIGSTOP) the first time
# it reaches <point> (the marker file, created with O_EXCL, makes it once), so that race and
# crash tests can place a stall between two file operations. Unset, it costs one comparison.
_STALL_AT = os.environ.get("ALFRED_STALL_AT", "")


def stall_point(point: str) -> None:
    if _STALL_AT and _STALL_AT.split(":", 1)[0] == point:
        try:
            fd = os.open(_STALL_AT.split(":", 1)[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except (FileExistsError, IndexError):
            return
        os.write(fd, str(os.getpid()).encode())  # who stopped, for the test to SIGCONT it
        os.close(fd)
        os.kill(os.getpid(), signal.SIGSTOP)


