"""A project written for alfred v0.3, the released tag (see tests/test_compat_v03.py).

Its agent minimises a noisy bowl with torch: the recorder receives torch scalars (the loss
still in the autograd graph, the evaluation return detached), get_run_args has an infinite
default (save_every: never), and alfred.defaults is set the v0.3 way.
"""
import argparse
import logging

import torch

import alfred.defaults
from alfred.utils.config import parse_bool, parse_log_level
from alfred.utils.misc import create_management_objects
from alfred.utils.recorder import Recorder, TrainingIterator

alfred.defaults.DEFAULT_BENCHMARK_PERFORMANCE_METRIC = "eval_return"
alfred.defaults.DEFAULT_PLOTS_ARRAYS_TO_MAKE = [("episode", "eval_return", (None, None), (None, None)),
                                                ("episode", "loss", (None, None), (0, None))]


def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg_name", type=str, default="sgd")
    parser.add_argument("--task_name", type=str, default="bowl")
    parser.add_argument("--desc", type=str, default="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max_episodes", type=int, default=30)
    parser.add_argument("--max_steps", type=int, default=None)
    parser.add_argument("--eval_every", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--save_every", type=float, default=float("inf"))
    parser.add_argument("--use_gpu", type=parse_bool, default=False)
    parser.add_argument("--log_level", type=parse_log_level, default=logging.INFO)
    parser.add_argument("--root_dir", type=str, default=None)
    return parser.parse_args(overwritten_cmd_line.split() if overwritten_cmd_line is not None else None)


def main(config, dir_tree=None, logger=None, pbar="default_pbar"):
    dir_tree, logger, pbar = create_management_objects(dir_tree=dir_tree, logger=logger, pbar=pbar, config=config)
    assert config.save_every == float("inf"), config.save_every  # read back from config.json exactly
    torch.manual_seed(config.seed)
    x = torch.zeros(2, requires_grad=True)
    momentum = 0.9 if config.alg_name == "momentum" else 0.0
    optimizer = torch.optim.SGD([x], lr=config.lr, momentum=momentum)
    recorder = Recorder(metrics_to_record=["episode", "eval_return", "loss"])
    for it in TrainingIterator(config.max_episodes, heartbeat_ite=config.eval_every):
        loss = ((x - 3.0 - config.noise * torch.randn(2)) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if it.itr % config.save_every == config.save_every - 1:  # never, with the infinite default
            torch.save(x, dir_tree.incrementals_dir / "x.pt")
        # torch scalars go into the tape, as this project always did; the loss (still in the autograd
        # graph) every episode, eval_return every eval_every-th only: None in between
        recorder.write_to_tape({"episode": it.itr, "loss": loss,
                                "eval_return": -((x - 3.0) ** 2).sum().detach() if it.heartbeat else None})
        if pbar is not None:
            pbar.update(1)
    recorder.save(dir_tree.recorders_dir / "train_recorder.pkl")
    logger.info(f"final x {x.detach().tolist()}")


if __name__ == "__main__":
    main(get_run_args())
