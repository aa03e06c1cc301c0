"""File operations of the protocol: atomic writes, tolerant JSON reads, the test stall hook."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_text", "read_json_or_empty", "stall_point"]


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


def read_json_or_empty(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object from ``path``, or {} when it is missing, half-written or not an object.

    For FLAG-files read while other processes may be replacing them.
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
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


