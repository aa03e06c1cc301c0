"""Start a Weights & Biases run for one seed, offline by default.

Offline runs are written to ``<seed_dir>/wandb/offline-run-<time>-<id>/`` and uploaded later
with ``python -m alfred.sync_wandb`` (compute nodes often have no internet access). The
module is named ``wandb_run`` rather than ``wandb`` so that it never shadows the library.
"""
from __future__ import annotations

from typing import Any

from alfred.protocol.layout import SeedDir

__all__ = ["init_wandb_run"]


def init_wandb_run(config: Any, dir_tree: SeedDir, *, project: str, offline: bool = True, **kwargs: Any):
    """Start and return a W&B run for the seed of ``dir_tree``; ``run.finish()`` ends it.

    - name: ``dir_tree.get_run_name()``, i.e. ``<storage_name>_experiment<N>_seed<S>``,
      unique in the root, so runs on the W&B side map back to their seed folders;
    - config: ``vars(config)`` (the argparse Namespace that ``main`` receives; a dict is
      used as it is);
    - dir: ``dir_tree.seed_dir``, so the run lands in ``<seed_dir>/wandb/``;
    - mode: ``"offline"`` unless ``offline=False`` (then ``"online"``).

    ``kwargs`` go to ``wandb.init`` as they are (``entity``, ``group``, ``tags``,
    ``settings``, ...) and may override the above, e.g. ``name=``. wandb is imported here,
    not when this module is imported, so alfred works without it.
    """
    import wandb

    init_kwargs: dict[str, Any] = {
        "project": project,
        "name": dir_tree.get_run_name(),
        "config": dict(config) if isinstance(config, dict) else vars(config),
        "dir": str(dir_tree.seed_dir),
        "mode": "offline" if offline else "online",
    }
    init_kwargs.update(kwargs)
    dir_tree.seed_dir.mkdir(parents=True, exist_ok=True)
    return wandb.init(**init_kwargs)
