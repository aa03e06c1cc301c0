"""A small real learning problem: a one-hidden-layer MLP in numpy on generated 2-D data.

This is the shape alfred expects of a project's main.py:
  get_run_args(overwritten_cmd_line) -> argparse.Namespace with every hyperparameter
  main(config, dir_tree, logger, pbar)  trains one run, writing into dir_tree's folders.
"""
import argparse

import numpy as np

from alfred.utils import Recorder


def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alg_name", default="mlp", help="name of the method")
    parser.add_argument("--task_name", default="moons", choices=["moons", "blobs"], help="which data set")
    parser.add_argument("--desc", default="", help="description of the run")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--learning_rate", type=float, default=0.1, help="gradient step size")
    parser.add_argument("--hidden_size", type=int, default=16, help="hidden units")
    parser.add_argument("--n_steps", type=int, default=300, help="full-batch gradient steps (the budget)")
    parser.add_argument("--weight_decay", type=float, default=0.0, help="L2 penalty")
    parser.add_argument("--eval_every", type=int, default=10, help="steps between evaluations")
    argv = None if overwritten_cmd_line is None else overwritten_cmd_line.split()
    return parser.parse_args(argv)


def make_data(task_name, rng, n=400):
    """Two interleaved half-moons, or two overlapping Gaussian blobs; 50/50 train/test split."""
    y = rng.integers(0, 2, size=n)
    if task_name == "moons":
        angle = rng.uniform(0, np.pi, size=n)
        x = np.stack([np.cos(angle) + y * 1.0, np.sin(angle) * (1 - 2 * y) + y * 0.4], axis=1)
        x += rng.normal(scale=0.15, size=x.shape)
    else:
        x = rng.normal(size=(n, 2)) + np.where(y[:, None] == 1, 1.2, -1.2)
    half = n // 2
    return (x[:half], y[:half]), (x[half:], y[half:])


def main(config, dir_tree, logger, pbar):
    rng = np.random.default_rng(config.seed)
    (x_train, y_train), (x_test, y_test) = make_data(config.task_name, np.random.default_rng(0))
    w1 = rng.normal(scale=1.0, size=(2, config.hidden_size))
    b1 = np.zeros(config.hidden_size)
    w2 = rng.normal(scale=1.0 / np.sqrt(config.hidden_size), size=config.hidden_size)
    b2 = 0.0

    def forward(x):
        h = np.tanh(x @ w1 + b1)
        return h, 1.0 / (1.0 + np.exp(-(h @ w2 + b2)))

    recorder = Recorder(["step", "train_loss", "test_accuracy"],
                        stream_to=dir_tree.recorders_dir / "train_recorder.jsonl")
    if pbar is not None:
        pbar.total = config.n_steps
    for step in range(config.n_steps + 1):
        h, p = forward(x_train)
        if step % config.eval_every == 0:
            loss = -np.mean(y_train * np.log(p + 1e-9) + (1 - y_train) * np.log(1 - p + 1e-9))
            accuracy = np.mean((forward(x_test)[1] > 0.5) == y_test)
            recorder.write_to_tape({"step": step, "train_loss": float(loss), "test_accuracy": float(accuracy)})
            # An adaptive search may stop the run here (Pruned); elsewhere report does nothing.
            dir_tree.report(step, float(accuracy))
            logger.debug(f"step {step}: loss {loss:.3f}, test accuracy {accuracy:.3f}")
        if step == config.n_steps:
            break
        grad_out = (p - y_train) / len(y_train)
        grad_h = np.outer(grad_out, w2) * (1 - h ** 2)
        w2 -= config.learning_rate * (h.T @ grad_out + config.weight_decay * w2)
        b2 -= config.learning_rate * grad_out.sum()
        w1 -= config.learning_rate * (x_train.T @ grad_h + config.weight_decay * w1)
        b1 -= config.learning_rate * grad_h.sum(axis=0)
        if pbar is not None:
            pbar.update(1)
    recorder.close()
    logger.info(f"final test accuracy {recorder.tape['test_accuracy'][-1]:.3f}")
