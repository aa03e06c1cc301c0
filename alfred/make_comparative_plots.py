"""Alias of ``alfred.make_plot_arrays`` (the name older alfred versions used)."""
import sys

from alfred.make_plot_arrays import build_parser, main, make_plot_arrays, run  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
