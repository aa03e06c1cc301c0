"""The project's own figure of a search, written against alfred v0.2/v0.3's helpers: variations.json
in its 0.2 layout, Recorder.init_from_pickle_file(filename=...), plot_curves with xlim, hlines,
legend_outside, error bars, and plot_vertical_densities with hlines."""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from alfred.utils.config import load_dict_from_json  # noqa: E402
from alfred.utils.directory_tree import DirectoryTree  # noqa: E402
from alfred.utils.plots import create_fig, plot_curves, plot_vertical_densities  # noqa: E402
from alfred.utils.recorder import Recorder, remove_nones  # noqa: E402
from alfred.utils.stats import get_95_confidence_interval_of_sequence  # noqa: E402

storage_dir = Path(sys.argv[1])
variations = load_dict_from_json(str(storage_dir / "variations.json"))
(group, spec), = variations.items()
first, last = (int(n) for n in group.split("-"))
assert spec["alg_name"] and spec["task_name"] and spec["seed"], spec

fig, axes = create_fig((1, 2))
means, finals, labels = [], [], []
for experiment_dir in DirectoryTree.get_all_experiments(storage_dir):
    returns = []
    for seed_dir in DirectoryTree.get_all_seeds(experiment_dir):
        recorder = Recorder.init_from_pickle_file(filename=str(seed_dir / "recorders" / "train_recorder.pkl"))
        returns.append([float(v) for v in remove_nones(recorder.tape["eval_return"])])
        episodes = [e for e, r in zip(recorder.tape["episode"], recorder.tape["eval_return"]) if r is not None]
    mean, err_up, err_down = get_95_confidence_interval_of_sequence(list(np.array(returns).T), method="stderr")
    means.append((np.array(episodes), mean, err_up, err_down))
    finals.append(np.array(returns)[:, -1])
    unique = load_dict_from_json(str(DirectoryTree.get_all_seeds(experiment_dir)[0] / "config_unique.json"))
    labels.append(f"lr={unique['lr']} noise={unique['noise']}")
plot_curves(axes[0], ys=[m[1] for m in means], xs=[m[0] for m in means], labels=labels,
            error_up=[m[2] for m in means], error_down=[m[3] for m in means], xlim=(0, None), ylim=(None, 1),
            n_x_ticks=5, xlabel="episode", ylabel="eval_return", legend_outside=True, legend_loc="upper center",
            legend_pos=(0.5, -0.2), legend_n_columns=2, hlines=[{"y": 0.0, "colors": "k", "linestyles": "--"}])
plot_vertical_densities(axes[1], ys=finals, labels=labels, make_boxplot=True,
                        hlines=[{"y": 0.0, "colors": "k", "linestyles": "--"}])
fig.savefig(storage_dir / "project_figure.png", bbox_inches="tight")
print(json.dumps({"experiments": last - first + 1, "lines": len(axes[0].lines), "boxes": len(axes[1].patches)}))
