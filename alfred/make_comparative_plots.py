"""Alias of :mod:`alfred.make_plot_arrays` (the name older alfred versions used)."""
from __future__ import annotations

import sys

from alfred.make_plot_arrays import build_parser, create_plot_arrays, main

__all__ = ["build_parser", "main", "create_plot_arrays"]

if __name__ == "__main__":
    sys.exit(main())
