"""Alias of :mod:`alfred.sync_wandb` (the original spelling): ``python -m alfred.synch_wandb``."""
from __future__ import annotations

import sys

from alfred.sync_wandb import build_parser, main, sync_wandb

__all__ = ["build_parser", "main", "sync_wandb"]

if __name__ == "__main__":
    sys.exit(main())
