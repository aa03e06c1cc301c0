"""A project written for alfred 0.2, from its README and the 0.2 API only (see tests/test_legacy_project.py).

Its "agent" climbs a noisy gradient towards the optimum of a 1-D task (quadratic or quartic):
episode, eval_return (minus the distance to the optimum, squared) and avg_eval_return (the
mean of the last three evaluations) are recorded as 0.2's defaults expect them. A larger
learning rate gets closer within the budget, so the best configuration is the one with the
highest average return, which the test checks against the recorders.
"""
import argparse
import logging
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from alfred.utils.config import parse_bool, parse_log_level  # noqa: E402
from alfred.utils.directory_tree import DirectoryTree  # noqa: E402
from alfred.utils.misc import create_management_objects  # noqa: E402
from alfred.utils.plots import bar_chart, create_fig, plot_curves  # noqa: E402
from alfred.utils.recorder import Recorder, TrainingIterator, remove_nones  # noqa: E402

# Every repo whose commit names the searches: this project, and the library it ships with.
HERE = os.path.dirname(os.path.abspath(__file__))
DirectoryTree.git_repos_to_track["legacy_project"] = HERE
if os.path.isdir(os.path.join(HERE, "libs", "toolbox", ".git")):
    DirectoryTree.git_repos_to_track["toolbox"] = os.path.join(HERE, "libs", "toolbox")


def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg_name", type=str, default="hillclimb")
    parser.add_argument("--task_name", type=str, default="quadratic")
    parser.add_argument("--desc", type=str, default="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max_episodes", type=int, default=40)
    parser.add_argument("--eval_every", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--save_plots", type=parse_bool, default=True)
    parser.add_argument("--log_level", type=parse_log_level, default=logging.INFO)
    parser.add_argument("--root_dir", type=str, default=None)
    return parser.parse_args(overwritten_cmd_line.split() if overwritten_cmd_line is not None else None)


def gradient(task_name, x):
    return 2 * (x - 3.0) if task_name == "quadratic" else 4 * (x - 3.0) ** 3 / 9.0


def main(config, dir_tree=None, pbar="default_pbar", logger=None):
    dir_tree, logger, pbar = create_management_objects(dir_tree=dir_tree, logger=logger, pbar=pbar, config=config)
    rng = np.random.default_rng(config.seed)

    recorder = Recorder(metrics_to_record=["episode", "eval_return", "avg_eval_return", "train_loss"])
    returns = []
    x = 0.0
    for it in TrainingIterator(config.max_episodes, heartbeat_ite=config.eval_every):
        x -= config.lr * (gradient(config.task_name, x) + rng.normal(scale=config.noise))
        x = float(np.clip(x, -10.0, 10.0))
        it.record("train_loss", (x - 3.0) ** 2)
        if pbar is not None:
            pbar.update(1)
        if it.heartbeat:
            eval_return = -((x - 3.0) ** 2)
            returns.append(eval_return)
            recorder.write_to_tape({"episode": it.itr, "eval_return": eval_return,
                                    "avg_eval_return": float(np.mean(returns[-3:])),
                                    "train_loss": it.pop_mean("train_loss")})
            logger.info(it.itr_message())
    recorder.save(dir_tree.recorders_dir / "train_recorder.pkl")

    if config.save_plots:
        fig, axes = create_fig((1, 2))
        episodes = np.array(recorder.tape["episode"])
        plot_curves(axes[0], ys=[np.array(remove_nones(recorder.tape["eval_return"]))], xs=[episodes],
                    labels=[config.alg_name], xlabel="episode", ylabel="eval_return", title=config.task_name)
        bar_chart(axes[1], scores={config.alg_name: {config.task_name: returns[-1]}},
                  err_up={config.alg_name: {config.task_name: 0.1}},
                  err_down={config.alg_name: {config.task_name: 0.1}},
                  ylabel="final eval_return")
        fig.savefig(str(dir_tree.seed_dir / "training.png"))
        plt.close(fig)
    if pbar is not None:
        pbar.close()
    logger.info(f"final eval_return {returns[-1]:.3f}")


if __name__ == "__main__":
    config = get_run_args()
    main(config)
