"""Alias of :mod:`alfred.sync_wandb` (the original spelling): ``python -m alfred.synch_wandb``."""
from __future__ import annotations

import sys

from alfred.sync_wandb import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
