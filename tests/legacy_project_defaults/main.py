"""A project written for a later 0.x alfred: it sets alfred.defaults instead of naming its metrics
on each command (see tests/test_legacy_project.py).

It records step, return, avg_return and loss: alfred's own defaults (episode, eval_return,
avg_eval_return) are not recorded, so every summary relies on the defaults set below.
"""
import argparse

import numpy as np

import alfred.defaults
from alfred.utils.config import config_to_str, parse_log_level
from alfred.utils.misc import create_management_objects
from alfred.utils.recorder import Recorder

alfred.defaults.DEFAULT_DIRECTORY_TREE_ROOT = "./results"
alfred.defaults.DEFAULT_BENCHMARK_X_METRIC = "step"
alfred.defaults.DEFAULT_BENCHMARK_Y_METRIC = "return"
alfred.defaults.DEFAULT_BENCHMARK_PERFORMANCE_METRIC = "avg_return"
alfred.defaults.DEFAULT_PLOTS_ARRAYS_TO_MAKE = [("step", "return", None, (-12.0, 1.0)), ("step", "loss", None, None)]


def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg_name", default="descent")
    parser.add_argument("--task_name", default="bowl")
    parser.add_argument("--desc", default="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n_steps", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--log_level", type=parse_log_level, default="info")
    return parser.parse_args(overwritten_cmd_line.split() if overwritten_cmd_line is not None else None)


def main(config, dir_tree=None, logger=None, pbar=None):
    dir_tree, logger = create_management_objects(dir_tree, logger, config)
    logger.info(config_to_str(config))
    rng = np.random.default_rng(config.seed)
    recorder = Recorder(["step", "return", "avg_return", "loss"])
    x, velocity, returns = -3.0, 0.0, []
    for step in range(config.n_steps):
        velocity = config.momentum * velocity - config.lr * (2 * x + rng.normal(scale=0.3))
        x += velocity
        returns.append(-x ** 2)
        recorder.write_to_tape({"step": step, "return": returns[-1], "avg_return": float(np.mean(returns[-5:])),
                                "loss": x ** 2})
    recorder.save(dir_tree.recorders_dir / "train_recorder.pkl")


if __name__ == "__main__":
    main(get_run_args())
