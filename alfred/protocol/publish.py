"""Publishing a completed run: its own files renamed to the names readers look for.

A run writes into ``recorders.<token>/``, ``incrementals.<token>/`` and ``logger.out.<token>``
(alfred.protocol.flags). Once the rename to ``COMPLETING.<token>`` decided that it completed,
they are renamed to ``recorders/``, ``incrementals/`` and ``logger.out``, so a COMPLETED seed
has the layout analysis scripts read; then ``COMPLETING.<token>`` becomes ``COMPLETED``.
Renaming is idempotent: the holder and a cleaner finishing for a dead holder may both do it,
and each file moves once.
"""
from __future__ import annotations

import errno
import os

from alfred.protocol.layout import RUN_FILES, run_file_name

__all__ = ["publish"]


def publish(seed_dir: str, token: str, names: tuple[str, ...] = RUN_FILES) -> None:
    """Rename the run files ``<name>.<token>`` of the seed folder to ``<name>``.

    What is already renamed (or was never written) is skipped. A name the seed folder already
    has (written there by hand) is merged: the run's files win.
    """
    for name in names:
        _move_into(os.path.join(seed_dir, run_file_name(name, token)), os.path.join(seed_dir, name))


def _move_into(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
    except FileNotFoundError:
        return  # moved already, or never written
    except OSError as e:
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
            raise
        if not os.path.isdir(src) or os.path.islink(src):
            return
        if os.path.islink(dst) or not os.path.isdir(dst):  # planted there (a link, a file): replaced, never followed
            os.unlink(dst)
            _move_into(src, dst)
            return
        for name in os.listdir(src):  # written there by hand: merged, the run's files win
            _move_into(os.path.join(src, name), os.path.join(dst, name))
        try:
            os.rmdir(src)
        except OSError:
            pass
