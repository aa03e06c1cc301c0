"""Results of searches: loading recorders, scoring experiments, summaries, comparisons, figures.

    from alfred.results import load_results, load_curves

The names below are loaded on first use: importing the package imports neither numpy nor pandas.
"""
from __future__ import annotations

from alfred.utils.misc import lazy_exports

_EXPORTS = {
    "LoadReport": "alfred.results.loading",
    "iter_curves": "alfred.results.loading",
    "load_curves": "alfred.results.loading",
    "load_results": "alfred.results.frame",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
