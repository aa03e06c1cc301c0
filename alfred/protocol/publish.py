"""Publishing a completed run: its own folder's files moved to the seed folder, where readers look.

A run writes into ``runs/<token>/`` (alfred.protocol.flags). Once the rename to
``COMPLETING.<token>`` decided that it completed, its ``recorders/``, ``incrementals/``,
``logger.out`` (and whatever else it wrote there, e.g. ``wandb/``) move to the seed's root, so
a COMPLETED seed has the layout analysis scripts read; then ``COMPLETING.<token>`` becomes
``COMPLETED``. Moving is idempotent: the holder and a cleaner finishing for a dead holder may
both do it, and each entry moves once.
"""
from __future__ import annotations

import errno
import os

from alfred.protocol.layout import INCREMENTALS, LOG, RECORDERS, RUNS

__all__ = ["publish"]


def publish(seed_dir: str, token: str, names: tuple[str, ...] = (RECORDERS, INCREMENTALS, LOG)) -> None:
    """Move the files of ``runs/<token>/`` to the seed folder, then remove the empty folder.

    Idempotent: what is already moved is skipped, so the holder and a cleaner finishing for a
    dead holder may both run it. An entry the seed folder already has (written there by hand)
    is merged: the run's files win.
    """
    run_dir = os.path.join(seed_dir, RUNS, token)
    for name in names:
        _move_into(os.path.join(run_dir, name), os.path.join(seed_dir, name))
    try:
        os.rmdir(run_dir)
    except FileNotFoundError:
        pass
    except OSError:  # other entries (wandb/, files main wrote): publish them too
        try:
            rest = os.listdir(run_dir)
        except OSError:
            return
        for name in rest:
            _move_into(os.path.join(run_dir, name), os.path.join(seed_dir, name))
        try:
            os.rmdir(run_dir)
        except OSError:
            pass


def _move_into(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
    except FileNotFoundError:
        return  # moved already, or never written
    except OSError as e:
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
            raise
        if os.path.isdir(src) and not os.path.islink(src) and os.path.isdir(dst) and not os.path.islink(dst):
            for name in os.listdir(src):
                _move_into(os.path.join(src, name), os.path.join(dst, name))
            try:
                os.rmdir(src)
            except OSError:
                pass
