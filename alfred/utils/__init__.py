"""Utilities for training code: ``from alfred.utils import *``.

Cheap to import: numpy, pandas, matplotlib, seaborn and wandb are not imported here
(plots live in ``alfred.utils.plots``, statistics in ``alfred.utils.stats``). The names
below are loaded on first use, so that a script importing one utils module (e.g.
``--help`` of launch_schedule) does not pay for the others.
"""
from __future__ import annotations

from alfred.utils.misc import lazy_exports

_EXPORTS = {
    "AlfredError": "alfred.utils.misc",
    "ClaimLost": "alfred.utils.preemption",
    "DirectoryTree": "alfred.utils.directory_tree",
    "Paused": "alfred.utils.preemption",
    "Preempted": "alfred.utils.preemption",
    "Pruned": "alfred.utils.preemption",
    "Recorder": "alfred.utils.recorder",
    "TrainingIterator": "alfred.utils.recorder",
    "close_logger": "alfred.utils.misc",
    "config_to_str": "alfred.utils.config",
    "create_logger": "alfred.utils.misc",
    "create_management_objects": "alfred.utils.misc",
    "latest_checkpoint": "alfred.utils.preemption",
    "load_config_from_json": "alfred.utils.config",
    "load_dict_from_json": "alfred.utils.config",
    "parse_bool": "alfred.utils.config",
    "parse_log_level": "alfred.utils.config",
    "remove_nones": "alfred.utils.recorder",
    "save_config_to_json": "alfred.utils.config",
    "save_dict_to_json": "alfred.utils.config",
    "update_config": "alfred.utils.config",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
