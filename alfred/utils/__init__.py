"""Utilities for training code: ``from alfred.utils import *``.

Cheap to import: numpy, pandas, matplotlib, seaborn and wandb are not imported here
(plots live in ``alfred.utils.plots``, statistics in ``alfred.utils.stats``).
"""
from alfred.utils.config import (config_to_str, load_config_from_json, load_dict_from_json, parse_bool,
                                 parse_log_level, save_config_to_json, save_dict_to_json, update_config)
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError, close_logger, create_logger
from alfred.utils.preemption import Preempted, latest_checkpoint
from alfred.utils.recorder import Recorder

__all__ = [
    "AlfredError",
    "DirectoryTree",
    "Preempted",
    "Recorder",
    "close_logger",
    "config_to_str",
    "create_logger",
    "latest_checkpoint",
    "load_config_from_json",
    "load_dict_from_json",
    "parse_bool",
    "parse_log_level",
    "save_config_to_json",
    "save_dict_to_json",
    "update_config",
]
