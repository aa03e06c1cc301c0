"""The on-disk layout: the only module that spells alfred's folder and file names.

    root/
      .alfred_ids/<id>                 storage ids, each claimed by O_EXCL (storage_names.py)
      <storage_name>/                  StorageDir, e.g. Se3_1a2b3c4_ppo_cartpole_grid_lr
        GRID_SEARCH | RANDOM_SEARCH    kind of search; RETRAIN_BEST: made by create_retrainbest
        prepare_info.json              schedule, time, host, git commits, "results" defaults
        variations.json                grid: the VARIATIONS that built it
        variations<k>.png              random: sampled hyperparameters
        retrains.json                  a search's retrain dirs (create_retrainbest)
        CLEAN_ONGOING, RETRAIN_ONGOING locks (alfred.protocol.locks)
        SUMMARY_ONGOING | SUMMARY_COMPLETED | SUMMARY_FAILED, PLOT_ARRAYS_ONGOING | _COMPLETED
        summary/                       summary.json, summary.txt, seed_scores.{csv,json},
                                       bestConfig_exp<N>.json, learning_curves_<y>.png, ...
        plots/<y>_vs_<x>.png           one panel per experiment, one curve per seed
        report.html                    the search's report
        experiment<N>/
          seed<S>/                     SeedDir (alfred.utils.directory_tree.DirectoryTree for training code)
            config.json  config_unique.json  one flag: UNHATCHED | OPENED.<token> | COMPLETING.<token> |
                                       COMPLETED | CRASH.txt | RESETTING.<cleaner token> (alfred.protocol.flags)
                                       | PRUNED | PAUSED.<step> (adaptive searches)
            recorders.<token>/ incrementals.<token>/ logger.out.<token>   a running claim's own files,
                                       renamed to recorders/ incrementals/ logger.out (wandb/) at COMPLETED
            attempts/<n>/              an ended attempt: OPENED, RELEASED | CRASH.txt | RESET, its files

    schedules/<folder>/list_searches_<folder>.txt, list_retrains_<folder>.txt, benchmark_<list name>/
    (a schedule directly in schedules/: list_searches_<schedule name>.txt, ...)

storage_name = <id>_<githashes>_<alg_name>_<task_name>_<desc>, desc = grid_<desc> or random_<desc>
(retrains: retrainBest_<desc>). Everything that reads or writes these names asks this module.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from alfred.errors import AlfredError

__all__ = ["SeedDir", "StorageDir", "SummaryFiles", "list_searches_path", "list_retrains_path", "comparison_dir"]

# Seed folder -------------------------------------------------------------------------------
UNHATCHED = "UNHATCHED"
OPENED = "OPENED"
COMPLETING = "COMPLETING"  # COMPLETING.<token>: decided complete, its files being published
RESETTING = "RESETTING"  # RESETTING.<cleaner token>: a cleaner decided to reset the seed
COMPLETED = "COMPLETED"
CRASH = "CRASH.txt"
PRUNED = "PRUNED"  # adaptive search, stop mode: stopped at a rung; published like COMPLETED, never reset
PAUSED = "PAUSED"  # PAUSED.<step>: promote mode, paused at rung <step>, its checkpoint kept in incrementals/
SEED_FLAGS = frozenset({UNHATCHED, OPENED, COMPLETED, CRASH, PRUNED})  # OPENED: as before claim tokens
RESET = "RESET"  # in attempts/<n>/: the attempt was reset by a cleaner (who, when, why)
CONFIG = "config.json"
CONFIG_UNIQUE = "config_unique.json"
LOG = "logger.out"
RECORDERS = "recorders"
INCREMENTALS = "incrementals"
RUN_FILES = (RECORDERS, INCREMENTALS, LOG)  # a running claim's own files are these names + "." + its token
UNRECORDED = "unrecorded"  # the token of the files of a release that found no room to record its attempt
ATTEMPTS = "attempts"
RELEASED = "RELEASED"  # in attempts/<n>/: the attempt was released (preemption, Ctrl-C), not failed
RECORDER_SUFFIXES = (".jsonl", ".csv", ".pkl")  # looked for in this order: text first, a .jsonl wins
DEFAULT_RECORDER = "train_recorder"
ADAPTIVE_SPEC = "adaptive.json"  # an adaptive search's settings (alfred.adaptive.spec)
DECISION_SUFFIX = ".decision"  # rung folder: <trial>.decision, the stop-mode decision (alfred.protocol.rung_records)
PROMOTED_SUFFIX = ".promoted"  # rung folder: <trial>.promoted, the promotion out of that rung
# Storage dir -------------------------------------------------------------------------------
GRID_SEARCH = "GRID_SEARCH"
RANDOM_SEARCH = "RANDOM_SEARCH"
RETRAIN_BEST = "RETRAIN_BEST"
PREPARE_INFO = "prepare_info.json"
VARIATIONS = "variations.json"
RETRAINS_RECORD = "retrains.json"
CLEAN_LOCK = "CLEAN_ONGOING"
RETRAIN_LOCK = "RETRAIN_ONGOING"
SUMMARY_ONGOING = "SUMMARY_ONGOING"
SUMMARY_COMPLETED = "SUMMARY_COMPLETED"
SUMMARY_FAILED = "SUMMARY_FAILED"
PLOT_ARRAYS_ONGOING = "PLOT_ARRAYS_ONGOING"
PLOT_ARRAYS_COMPLETED = "PLOT_ARRAYS_COMPLETED"
SUMMARY_DIR = "summary"
PLOTS_DIR = "plots"
REPORT = "report.html"
RETRAIN_DESC_PREFIX = "retrainBest_"  # a retrain's desc: retrainBest_<the search's desc>
# Root ------------------------------------------------------------------------------------
IDS_DIR = ".alfred_ids"
SCHEDULES_DIR = "schedules"  # a project's folder of schedule files
SLURM_LOGS = "slurm_logs"

SearchKind = Literal["grid", "random", "retrain"]
_KIND_FLAGS: dict[str, str] = {"grid": GRID_SEARCH, "random": RANDOM_SEARCH, "retrain": RETRAIN_BEST}
EXPERIMENT_RE = re.compile(r"experiment(\d+)")
SEED_RE = re.compile(r"seed(-?\d+)")
_STORAGE_RE = re.compile(r"[A-Za-z]+\d+_[^_]+_[^_]+_[^_]+_.+")


def experiment_dir_name(experiment_num: int) -> str:
    return f"experiment{experiment_num}"


def claim_flag_name(token: str) -> str:
    """``OPENED.<token>``: the flag of one claim of a seed (alfred.protocol.flags)."""
    return f"{OPENED}.{token}"


def is_claim_flag(name: str) -> bool:
    """``OPENED.<token>``, or ``OPENED`` as alfred before claim tokens in names wrote it."""
    return name == OPENED or name.startswith(OPENED + ".")


completing_flag_name = f"{COMPLETING}.{{}}".format  # COMPLETING.<token>: decided complete, files being published
resetting_flag_name = f"{RESETTING}.{{}}".format  # RESETTING.<token>: the cleaner <token> resets the seed


def run_file_name(name: str, token: str) -> str:
    """``recorders.<token>``: one of a claim's own files (RUN_FILES), while it runs."""
    return f"{name}.{token}"


def run_file_of(entry: str) -> tuple[str, str] | None:
    """``(name, token)`` of a claim's own file ``<name>.<token>``; None for another name."""
    for name in RUN_FILES:
        if entry.startswith(name + ".") and len(entry) > len(name) + 1:
            return name, entry[len(name) + 1:]
    return None


def flag_token(name: str) -> str | None:
    """The token of a flag named ``<KIND>.<token>`` (OPENED, COMPLETING, RESETTING); None for the others."""
    kind, dot, token = name.partition(".")
    return token if dot and kind in (OPENED, COMPLETING, RESETTING) else None


def is_seed_flag(name: str) -> bool:
    """Whether ``name`` is one of the flags a seed folder holds exactly one of."""
    return name in SEED_FLAGS or flag_token(name) is not None or paused_step(name) is not None


def paused_flag_name(step: int) -> str:
    """``PAUSED.<step>``: a run of an adaptive search paused at rung ``step`` (promote mode)."""
    return f"{PAUSED}.{int(step)}"


def paused_step(name: str) -> int | None:
    """The step of a ``PAUSED.<step>`` flag; None for another name."""
    kind, dot, step = name.partition(".")
    return int(step) if kind == PAUSED and dot and step.isdigit() and len(step) < 19 else None


def rung_dir(storage_dir: str | os.PathLike, bracket: int, step: int) -> str:
    """``<storage_dir>/rungs/bracket<b>/step<s>``: one rung's records (alfred.protocol.rung_records)."""
    return os.path.join(os.fspath(storage_dir), "rungs", f"bracket{int(bracket)}", f"step{int(step)}")


def seed_dir_name(seed: int) -> str:
    return f"seed{seed}"


def _number_of(path: str | os.PathLike, pattern: re.Pattern, what: str) -> int:
    m = pattern.fullmatch(os.path.basename(os.fspath(path)))
    if m is None:
        raise ValueError(f"not {what} folder: {path}")
    return int(m.group(1))


def experiment_num_of(experiment_dir: str | os.PathLike) -> int:
    """The N of ``.../experiment<N>``; ValueError for another name."""
    return _number_of(experiment_dir, EXPERIMENT_RE, "an experiment")


def seed_of(seed_dir: str | os.PathLike) -> int:
    """The S of ``.../seed<S>``; ValueError for another name."""
    return _number_of(seed_dir, SEED_RE, "a seed")


def is_storage_name(name: str) -> bool:
    """Whether a folder name has the shape ``<id>_<githashes>_<alg>_<task>_<desc>``."""
    return bool(_STORAGE_RE.fullmatch(name))


# List files and comparisons ---------------------------------------------------------------

def list_searches_path(schedule_file: str | os.PathLike, name: str) -> Path:
    """The list file prepare_schedule appends to, beside the schedule: named after the schedule's
    folder (``schedules/<folder>/list_searches_<folder>.txt``, as in 0.2), or after the schedule's
    ``name`` when it sits directly in ``schedules/`` (``schedules/list_searches_<name>.txt``)."""
    folder = Path(schedule_file).absolute().parent
    return folder / f"list_searches_{name if folder.name == SCHEDULES_DIR else folder.name}.txt"


def list_retrains_path(list_file: str | os.PathLike | None, storage_dir: str | os.PathLike) -> Path:
    """``list_retrains_<name>.txt`` beside ``list_searches_<name>.txt``; with no list file,
    ``list_retrains_<storage name>.txt`` beside the storage dir."""
    if list_file is not None:
        stem = Path(list_file).stem
        name = stem[len("list_searches_"):] if stem.startswith("list_searches_") else stem
        return Path(list_file).parent / f"list_retrains_{name}.txt"
    return Path(storage_dir).parent / f"list_retrains_{Path(storage_dir).name}.txt"


def list_report_path(list_file: str | os.PathLike) -> Path:
    """``report_<name>.html`` beside ``list_<name>.txt`` (named like ``benchmark_<name>/``)."""
    stem = Path(list_file).stem
    return Path(list_file).parent / f"report_{stem[len('list_'):] if stem.startswith('list_') else stem}.html"


def comparison_dir(list_file: str | os.PathLike | None, storage_dirs: list[Path]) -> Path:
    """Where comparisons go: ``benchmark_<list name>/`` beside the list file
    (list_searches_x.txt -> benchmark_searches_x/), else ``root/benchmark_<ids>/``."""
    if list_file is not None:
        name = Path(list_file).stem
        name = name[len("list_"):] if name.startswith("list_") else name
        return Path(list_file).parent / f"benchmark_{name}"
    ids = [d.name.split("_", 1)[0] if is_storage_name(d.name) else d.name for d in storage_dirs]
    return storage_dirs[0].parent / f"benchmark_{'-'.join(ids)[:100]}"


def comparison_record(out_dir: Path, kind: str) -> Path:
    """``<kind>.json`` in a comparison folder: written last, so it marks the comparison complete."""
    return Path(out_dir) / f"{kind}.json"


def comparison_figure(out_dir: Path, kind: str, metric: str) -> Path:
    """``<kind>_<metric>`` in a comparison folder (save_fig adds the suffix)."""
    return Path(out_dir) / f"{kind}_{metric}"


# A storage dir ---------------------------------------------------------------------------

class StorageDir:
    """Paths of one storage dir (a search or a retrain), like submitit's ``JobPaths``.
    Properties only build paths; ``kind`` reads the disk."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"StorageDir({str(self.path)!r})"

    __fspath__ = lambda self: os.fspath(self.path)  # noqa: E731

    name = property(lambda self: self.path.name)
    root = property(lambda self: self.path.parent)
    # Files of the storage dir
    prepare_info = property(lambda self: self.path / PREPARE_INFO)
    variations = property(lambda self: self.path / VARIATIONS)
    retrains_record = property(lambda self: self.path / RETRAINS_RECORD)
    report = property(lambda self: self.path / REPORT)

    def variations_figure(self, k: int) -> Path:
        """``variations<k>`` (save_fig adds ``.png``): sampled hyperparameters of a random search."""
        return self.path / f"variations{k}"

    def variations_figures(self) -> list[Path]:
        return sorted(self.path.glob("variations*.png"))

    def flag(self, name: str) -> Path:
        """A storage-level FLAG-file or lock, e.g. ``flag(SUMMARY_ONGOING)``."""
        return self.path / name

    def kind_flag(self, kind: SearchKind) -> Path:
        return self.path / _KIND_FLAGS[kind]

    # The kind, decided here only
    def kind(self) -> SearchKind | None:
        """'grid', 'random' or 'retrain' from the storage dir's FLAG-file; None if it has none."""
        for kind, flag in _KIND_FLAGS.items():
            if os.path.exists(self.path / flag):
                return kind  # type: ignore[return-value]
        return None

    def require_kind(self) -> SearchKind:
        """Like ``kind``; AlfredError for a missing folder or a folder alfred did not make."""
        if not self.path.is_dir():
            raise AlfredError(f"storage dir {self.path} does not exist")
        kind = self.kind()
        if kind is None:
            raise AlfredError(f"{self.path} is not a search's storage dir (it has no {GRID_SEARCH}, {RANDOM_SEARCH} "
                              f"or {RETRAIN_BEST} flag): pass a folder made by prepare_schedule or create_retrainbest")
        return kind

    # Results
    @property
    def summary_dir(self) -> Path:
        return self.path / SUMMARY_DIR

    @property
    def summary_files(self) -> SummaryFiles:
        return SummaryFiles(self.summary_dir)

    @property
    def plots_dir(self) -> Path:
        return self.path / PLOTS_DIR

    def plot_array(self, x_metric: str | None, y_metric: str) -> Path:
        """``plots/<y>_vs_<x>`` (save_fig adds the suffix)."""
        return self.plots_dir / f"{y_metric}_vs_{x_metric or 'index'}"

    def best_configs(self) -> list[tuple[int, Path]]:
        """``(N, path)`` of each ``summary/bestConfig_exp<N>.json`` (one after a summary)."""
        found = []
        for path in self.summary_dir.glob("bestConfig_exp*.json"):
            n = path.stem[len("bestConfig_exp"):]
            if n.isdigit():
                found.append((int(n), path))
        return sorted(found)

    # Experiments and seeds
    def experiment_dir(self, n: int) -> Path:
        return self.path / experiment_dir_name(n)


class SummaryFiles:
    """Names of the files a summary writes into a folder (the temporary one, then summary/)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    json = property(lambda self: self.folder / "summary.json")
    text = property(lambda self: self.folder / "summary.txt")
    seed_scores_csv = property(lambda self: self.folder / "seed_scores.csv")
    seed_scores_json = property(lambda self: self.folder / "seed_scores.json")

    def best_config(self, experiment: int) -> Path:
        return self.folder / f"bestConfig_exp{experiment}.json"

    def learning_curves(self, y_metric: str) -> Path:
        return self.folder / f"learning_curves_{y_metric}"

    def performance(self, metric: str) -> Path:
        return self.folder / f"performance_{metric}"

    def sensitivity(self, metric: str) -> Path:
        return self.folder / f"sensitivity_{metric}"


# A seed folder ---------------------------------------------------------------------------

class SeedDir:
    """Paths of one seed folder: ``root/<storage_name>/experiment<N>/seed<S>``.

    ``run_token`` names the claim a worker runs the seed under: ``recorders_dir``,
    ``incrementals_dir`` and ``log_path`` are then that claim's own (``recorders.<token>``,
    ...), renamed to the plain names when the run completes. Without it (a finished seed read
    by analysis code, a main.py run by hand) they are the plain names of the seed folder.
    """

    def __init__(self, seed_dir: str | os.PathLike, run_token: str | None = None):
        self.seed_dir = Path(seed_dir)
        self.experiment_dir = self.seed_dir.parent
        self.storage_dir = self.experiment_dir.parent
        self.root = self.storage_dir.parent
        self.run_token = run_token

    def _run_file(self, name: str) -> Path:
        return self.seed_dir / (run_file_name(name, self.run_token) if self.run_token else name)

    @classmethod
    def from_parts(cls, root: str | os.PathLike, storage_name: str, experiment_num: int, seed: int):
        return cls(Path(root) / storage_name / experiment_dir_name(experiment_num) / seed_dir_name(seed))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.seed_dir)!r})"

    def __fspath__(self) -> str:  # a SeedDir stands for its seed folder, e.g. in seed_state(tree)
        return os.fspath(self.seed_dir)

    storage_name = property(lambda self: self.storage_dir.name)
    experiment_num = property(lambda self: experiment_num_of(self.experiment_dir))
    seed = property(lambda self: seed_of(self.seed_dir))
    # A run's own files (see run_token), and the seed folder's other files
    recorders_dir = property(lambda self: self._run_file(RECORDERS))
    incrementals_dir = property(lambda self: self._run_file(INCREMENTALS))
    log_path = property(lambda self: self._run_file(LOG))
    attempts_dir = property(lambda self: self.seed_dir / ATTEMPTS)
    summary_dir = property(lambda self: self.storage_dir / SUMMARY_DIR)
    config_path = property(lambda self: self.seed_dir / CONFIG)
    config_unique_path = property(lambda self: self.seed_dir / CONFIG_UNIQUE)

    def flag_path(self, flag: str) -> Path:
        """Path of a seed FLAG-file: one of UNHATCHED, OPENED, COMPLETED, CRASH.txt."""
        return self.seed_dir / flag

    def get_run_name(self) -> str:
        """One token unique in the root, with no '/' (a W&B run id may not hold one):
        ``<storage_name>_experiment<N>_seed<S>``, as in 0.2."""
        return f"{self.storage_name}_{self.experiment_dir.name}_{self.seed_dir.name}"

    def create_directories(self) -> None:
        """Make ``recorders/`` and ``incrementals/`` (and parents) if missing."""
        for path in (self.recorders_dir, self.incrementals_dir):
            try:
                os.mkdir(path)  # one syscall in the usual case
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(path, exist_ok=True)
