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
           "read_small_stat", "DISK_FULL", "RefusedFile", "describe_mode", "format_bytes", "open_regular",
           "open_regular_file", "read_regular", "read_tail", "real_dir_refusal", "size_limit_error"]


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


def write_into(path: str | os.PathLike, data: bytes, flags: int) -> None:
    """One write(2) of ``data`` into the existing regular file ``path`` (``flags``: O_TRUNC or
    O_APPEND). FileNotFoundError if it is gone; RefusedFile for a symlink, a FIFO or any other
    special file (see open_regular)."""
    fd = open_regular(path, os.O_WRONLY | flags)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def write_new(path: str | os.PathLike, data: bytes) -> None:
    """Create ``path`` (O_EXCL: never through a symlink or over a file) and write ``data`` in one
    write(2); a file that cannot be written whole (no space left) is removed."""
    fd = open_regular(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        if data:
            os.write(fd, data)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    os.close(fd)


def read_small(path: str | os.PathLike, max_bytes: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (a flag, a lock): at most ``max_bytes`` of them
    (default MAX_FLAG_BYTES), never through a symlink, never blocking on a FIFO."""
    return read_small_stat(path, max_bytes)[0]


def read_small_stat(path: str | os.PathLike, max_bytes: int | None = None) -> tuple[bytes, os.stat_result]:
    """``read_small``, and the file's attributes as the filesystem has them now (an open
    revalidates them on NFS, where a stat may answer from a minute-old cache)."""
    fd, st = _open_regular(path, os.O_RDONLY)
    try:
        left, chunks = MAX_FLAG_BYTES if max_bytes is None else max_bytes, []
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
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
        data = json.loads(read_regular(path, max_bytes=MAX_JSON_BYTES))  # no link, FIFO or device
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




# Reading what others can write: no link followed, no special file opened ---------------------
# Anyone who can write into a shared storage dir can put a symbolic link, a FIFO or a device
# where alfred expects a file. Opening a FIFO blocks until the other end opens (and no signal
# alfred handles can end that wait); a link can lead outside the storage dir. So every reader of
# a storage dir's files opens with O_NOFOLLOW (a link as the last component fails, ELOOP) and
# O_NONBLOCK (a FIFO opens at once; the flag does nothing to a regular file), checks with
# fstat that it holds a regular file, and reads at most a size limit.

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


MAX_FLAG_BYTES = 1 << 20  # a FLAG-file or a lock holds a few lines of JSON: read no more of one
MAX_JSON_BYTES = 64 << 20  # a JSON file alfred wrote (prepare_info, summary.json, ...)


class RefusedFile(OSError):
    """A path alfred does not read or write: a symbolic link, a FIFO, a device, a socket, a
    folder where a file belongs, or a file over a size limit. ``str()`` is one line naming
    the path and what it is."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


def describe_mode(mode: int) -> str:
    """What an ``st_mode`` is, for messages: ``'a FIFO (named pipe)'``, ``'a symbolic link'``, ..."""
    for test, what in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "a special file"


def format_bytes(n: int) -> str:
    """``'3.0 GiB'``, ``'512 KiB'``, ``'17 bytes'``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 and value != int(value) else f"{value:.0f} {unit}"
    return f"{n} bytes"


def _what(path: str | os.PathLike, mode: int) -> str:
    """What ``path`` (of ``st_mode`` ``mode``) is, for a message; a link says where it points."""
    what = describe_mode(mode)
    if stat.S_ISLNK(mode):
        try:
            what += f" to {os.readlink(path)}"
        except OSError:
            pass
    return what


def _refused(path: str | os.PathLike, mode: int) -> RefusedFile:
    verb = "followed" if stat.S_ISLNK(mode) else "opened"
    return RefusedFile(errno.EINVAL, f"{path} is {_what(path, mode)}, not a regular file: not {verb}",
                       os.fspath(path))


def open_regular(path: str | os.PathLike, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
    """A descriptor of ``path`` opened with ``flags``, only if it is a regular file.

    O_NOFOLLOW, O_NONBLOCK, O_CLOEXEC and O_NOCTTY are added: a symbolic link (as the last
    component), a FIFO, a device, a socket or a folder raises :class:`RefusedFile` at once,
    without blocking and without touching what a link points to (with O_CREAT, a dangling
    link is refused, not followed to create its target). Other errors (FileNotFoundError,
    PermissionError, ENOSPC, ...) go on as they are.
    """
    return _open_regular(path, flags, mode)[0]


def _open_regular(path: str | os.PathLike, flags: int, mode: int = 0o644) -> tuple[int, os.stat_result]:
    try:
        fd = os.open(path, flags | _OPEN_FLAGS, mode)
    except OSError as e:
        # ELOOP: a link (EMLINK on FreeBSD); ENXIO: a FIFO without a reader, or a socket, opened
        # to write; EISDIR: a folder opened to write. Anything else is not about the file's kind.
        if e.errno not in (errno.ELOOP, errno.EMLINK, errno.ENXIO, errno.EISDIR, errno.EOPNOTSUPP):
            raise
        try:
            st_mode = os.lstat(path).st_mode
        except OSError:
            raise e from None
        if stat.S_ISREG(st_mode):
            raise
        raise _refused(path, st_mode) from None
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _refused(path, st.st_mode)
    return fd, st


def size_limit_error(path: str | os.PathLike, size: int, limit: int, what: str, setting: str) -> RefusedFile:
    """The one line refusing ``path`` for its size: the size, the limit and the setting that raises it."""
    return RefusedFile(errno.EFBIG, f"{path} is {format_bytes(size)}, over the {format_bytes(limit)} limit for "
                                    f"{what}: not read (raise alfred.defaults.{setting} to read it)", os.fspath(path))


def read_regular(path: str | os.PathLike, *, max_bytes: int | None = None, what: str = "this file",
                 setting: str = "", truncate: bool = False) -> bytes:
    """The bytes of the regular file ``path`` (see :func:`open_regular` for what is refused).

    Args:
        max_bytes: a file larger than this (its size by fstat, before anything is read)
            raises :class:`RefusedFile` naming ``what`` and ``setting``, the alfred.defaults
            name that raises the limit; with ``truncate``, its first ``max_bytes`` are
            returned instead. Never more than ``max_bytes`` is read.
    """
    fd, st = _open_regular(path, os.O_RDONLY)
    try:
        size = st.st_size
        if max_bytes is not None and size > max_bytes:
            if not truncate:
                raise size_limit_error(path, size, max_bytes, what, setting)
            size = max_bytes
        # The size fstat gave is read, in one read(2) for a small file: what a writer appends
        # meanwhile is not waited for. A file whose size says 0 (being written) is read to its end.
        chunks, total = [], 0
        while total < size or size == 0:
            want = size - total if size else (1 << 16 if max_bytes is None else min(1 << 16, max_bytes - total))
            chunk = os.read(fd, want) if want > 0 else b""
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def open_regular_file(path: str | os.PathLike, *, max_bytes: int | None = None, what: str = "this file",
                      setting: str = ""):
    """A binary file object of the regular file ``path``, for readers that stream it (e.g.
    unpickling), refused as :func:`read_regular` refuses; the caller closes it."""
    fd, st = _open_regular(path, os.O_RDONLY)
    try:
        if max_bytes is not None and st.st_size > max_bytes:
            raise size_limit_error(path, st.st_size, max_bytes, what, setting)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_tail(path: str | os.PathLike, n_bytes: int) -> bytes:
    """The last ``n_bytes`` (at most) of the regular file ``path``; refused as :func:`read_regular` refuses."""
    fd, st = _open_regular(path, os.O_RDONLY)
    try:
        os.lseek(fd, max(0, st.st_size - n_bytes), os.SEEK_SET)
        chunks, total = [], 0
        while total < n_bytes and (chunk := os.read(fd, n_bytes - total)):
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def real_dir_refusal(path: str | os.PathLike) -> str | None:
    """None when ``path`` is a folder itself (or is missing); else ``'<path> is <what it is>, not a
    folder'`` (a symbolic link to ..., a FIFO, a file), for the caller to say what it skips."""
    try:
        st_mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(st_mode):
        return None
    return f"{path} is {_what(path, st_mode)}, not a folder"
