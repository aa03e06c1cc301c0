"""The on-disk layout: the only code that spells alfred's folder and file names.

    root/
      <storage_name>/                 e.g. Se3_1a2b3c4_ppo_cartpole_grid_lr
        GRID_SEARCH | RANDOM_SEARCH   kind of search (FLAG-file)
        variations.json               grid: the VARIATIONS that built it
        variations<k>.png             random: sampled hyperparameters
        prepare_info.json             schedule, time, host, git commits, "results" defaults
        RETRAIN_BEST                  a storage dir made by create_retrainbest (instead of *_SEARCH)
        retrains.json                 a search's retrain dirs (create_retrainbest)
        SUMMARY_ONGOING | SUMMARY_COMPLETED | SUMMARY_FAILED, PLOT_ARRAYS_ONGOING | _COMPLETED
        summary/                      summarize_search: curves, bar chart, scores, bestConfig_exp<N>.json
        plots/                        make_plot_arrays: one panel per experiment, one curve per seed
        experiment<N>/
          seed<S>/
            config.json  config_unique.json
            UNHATCHED | OPENED | COMPLETED | CRASH.txt   (see alfred.utils.flags)
            logger.out  recorders/  incrementals/  attempts/<n>/

storage_name = <id>_<githashes>_<alg_name>_<task_name>_<desc>, desc = grid_<desc> or random_<desc>.
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections import namedtuple
from pathlib import Path
from typing import ClassVar, Iterator

from alfred.utils.misc import AlfredError

__all__ = ["DirectoryTree", "StorageName", "check_name", "check_storage_names_fit", "folder_name_part"]

# Seed-level FLAG-files.
UNHATCHED = "UNHATCHED"
OPENED = "OPENED"
COMPLETED = "COMPLETED"
CRASH = "CRASH.txt"
# Storage-level files.
GRID_SEARCH = "GRID_SEARCH"
RANDOM_SEARCH = "RANDOM_SEARCH"
CLEAN_LOCK = "CLEAN_ONGOING"
RETRAIN_BEST = "RETRAIN_BEST"             # a storage dir made by create_retrainbest
RETRAINS_RECORD = "retrains.json"         # in a search: the retrain dirs made from it
# Results (see alfred.utils.results, alfred.benchmark, alfred.make_plot_arrays).
SUMMARY_DIR = "summary"
PLOTS_DIR = "plots"
PLOT_ARRAYS_ONGOING = "PLOT_ARRAYS_ONGOING"
PLOT_ARRAYS_COMPLETED = "PLOT_ARRAYS_COMPLETED"
SUMMARY_ONGOING = "SUMMARY_ONGOING"
SUMMARY_COMPLETED = "SUMMARY_COMPLETED"
SUMMARY_FAILED = "SUMMARY_FAILED"
RECORDER_SUFFIXES = (".pkl", ".jsonl", ".csv")

_EXPERIMENT_RE = re.compile(r"^experiment(\d+)$")
_SEED_RE = re.compile(r"^seed(-?\d+)$")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+=_-]*")  # used with fullmatch: '$' would let a final '\n' in
_NAME_RULE = "letters, digits and . + = - _ , starting with a letter or digit"
SEARCH_KINDS = ("grid", "random")
RETRAIN_DESC_PREFIX = "retrainBest_"  # create_retrainbest's desc: retrainBest_<the search's desc>
# Bytes a storage name may need beyond ``<rest>`` (what follows the id): the id itself (two
# letters and a counter; 12 bytes kept for it) and its '_', plus the 14 bytes that
# prepare_schedule.build_storage_dir adds for its temporary folder ``.tmp-<name>-<8 hex>``.
_ID_BYTES = 12
_TMP_BYTES = len(".tmp-") + len("-") + 8


def check_name(kind: str, value: object) -> str:
    """Validate an alg_name, task_name or desc; raise AlfredError saying what is valid.

    The whole string must match, so no newline or other control character gets into a folder
    name (a list file would split it in two).
    """
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value) or ".." in value:
        raise AlfredError(f"invalid {kind} {_shorten(value)}: use {_NAME_RULE} "
                          "(no '/', spaces, newlines or '..')")
    return value


def _shorten(value: object, keep: int = 40) -> str:
    """``repr(value)``, cut to ``keep`` characters with its length when longer."""
    if isinstance(value, str) and len(value) > keep:
        return f"{value[:keep]!r}... ({len(value)} chars)"
    return repr(value)


def name_max_bytes(root: str | os.PathLike) -> int:
    """The longest file name, in bytes, that the filesystem of ``root`` (or of its nearest
    existing parent) allows: ``PC_NAME_MAX``, 255 on ext4, xfs, btrfs and NFS; 255 when unknown."""
    path = Path(root).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        limit = os.pathconf(path, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows) or no such setting
        return 255
    return limit if limit > 0 else 255


def _rest_max_bytes(root: str | os.PathLike) -> tuple[int, int]:
    """``(name_max, longest <rest> of a storage name <id>_<rest> that can be created in root)``."""
    name_max = name_max_bytes(root)
    return name_max, name_max - _ID_BYTES - 1 - _TMP_BYTES


def check_storage_names_fit(root: str | os.PathLike, *, git_hashes: str, alg_names: list[str],
                            task_names: list[str], kind: str, desc: str) -> None:
    """Raise AlfredError, before anything is created, when a search's storage name
    ``<id>_<git_hashes>_<alg>_<task>_<kind>_<desc>`` would be too long for the filesystem of
    ``root``, counting room for the id, the temporary build folder and a later retrain's
    ``retrainBest_`` prefix. Names are checked by their longest alg_name and task_name.
    """
    name_max, rest_max = _rest_max_bytes(root)
    fixed = len(git_hashes.encode()) + len(kind.encode()) + 4 + len(RETRAIN_DESC_PREFIX)  # 4 separators '_'
    budget = rest_max - fixed
    alg = max(alg_names, key=lambda n: len(n.encode()))
    task = max(task_names, key=lambda n: len(n.encode()))
    used = sum(len(n.encode()) for n in (alg, task, desc))
    if used > budget:
        raise AlfredError(f"alg_name {_shorten(alg)}, task_name {_shorten(task)} and desc {_shorten(desc)} "
                          f"make storage names too long for this filesystem (file names of at most {name_max} "
                          f"bytes under {root}): these three names may hold {max(budget, 0)} bytes together, "
                          f"they hold {used}; shorten them")


def folder_name_part(value: str) -> str:
    """The form of a name inside a storage name: '_' separates fields there, so it becomes '-'."""
    return value.replace("_", "-")


class StorageName(namedtuple("StorageName", "storage_id git_hashes alg_name task_name desc")):
    """The fields of ``<id>_<githashes>_<alg_name>_<task_name>_<desc>``."""

    __slots__ = ()

    def __str__(self) -> str:
        return "_".join((self.storage_id, self.git_hashes, self.alg_name, self.task_name, self.desc))

    @property
    def search_kind(self) -> str | None:
        kind = self.desc.split("_", 1)[0]
        return kind if kind in SEARCH_KINDS else None

    @classmethod
    def parse(cls, name: str) -> StorageName | None:
        """Split a storage folder name into its fields; None for a folder of another kind."""
        parts = name.split("_", 4)
        if len(parts) != 5 or not re.match(r"^[A-Za-z]+\d+$", parts[0]) or not all(parts):
            return None
        return cls(*parts)


class DirectoryTree:
    """Paths of one seed folder: ``root/<storage_name>/experiment<N>/seed<S>``.

    Training code receives one as ``dir_tree`` and writes results under ``recorders_dir``
    and checkpoints under ``incrementals_dir``.
    """

    default_root: ClassVar[str] = "./storage"
    git_repos_to_track: ClassVar[dict[str, str]] = {}

    def __init__(self, seed_dir: str | os.PathLike):
        self.seed_dir = Path(seed_dir)
        self.experiment_dir = self.seed_dir.parent
        self.storage_dir = self.experiment_dir.parent
        self.root = self.storage_dir.parent

    @classmethod
    def from_parts(cls, root: str | os.PathLike, storage_name: str, experiment_num: int, seed: int) -> DirectoryTree:
        return cls(Path(root) / storage_name / f"experiment{experiment_num}" / f"seed{seed}")

    def __repr__(self) -> str:
        return f"DirectoryTree({str(self.seed_dir)!r})"

    # Names inside a seed folder -------------------------------------------------------
    @property
    def storage_name(self) -> str:
        return self.storage_dir.name

    @property
    def experiment_num(self) -> int:
        return self.experiment_num_of(self.experiment_dir)

    @staticmethod
    def experiment_num_of(experiment_dir: str | os.PathLike) -> int:
        return int(_EXPERIMENT_RE.match(Path(experiment_dir).name).group(1))

    @property
    def seed(self) -> int:
        return int(_SEED_RE.match(self.seed_dir.name).group(1))

    @property
    def recorders_dir(self) -> Path:
        return self.seed_dir / "recorders"

    @property
    def incrementals_dir(self) -> Path:
        return self.seed_dir / "incrementals"

    @property
    def attempts_dir(self) -> Path:
        return self.seed_dir / "attempts"

    @property
    def config_path(self) -> Path:
        return self.seed_dir / "config.json"

    @property
    def config_unique_path(self) -> Path:
        return self.seed_dir / "config_unique.json"

    @property
    def log_path(self) -> Path:
        return self.seed_dir / "logger.out"

    def flag_path(self, flag: str) -> Path:
        """Path of a seed FLAG-file: one of UNHATCHED, OPENED, COMPLETED, CRASH.txt."""
        return self.seed_dir / flag

    def get_run_name(self) -> str:
        """A name unique in the root, e.g. for a W&B run: ``<storage_name>/experiment<N>/seed<S>``."""
        return f"{self.storage_name}/{self.experiment_dir.name}/{self.seed_dir.name}"

    def create_directories(self) -> None:
        """Make ``recorders/`` and ``incrementals/`` (and parents) if missing."""
        seed_dir = os.fspath(self.seed_dir)
        for name in ("recorders", "incrementals"):
            try:
                os.mkdir(os.path.join(seed_dir, name))  # one syscall in the usual case
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(os.path.join(seed_dir, name), exist_ok=True)

    # Listing ------------------------------------------------------------------------
    @staticmethod
    def experiment_dir_name(experiment_num: int) -> str:
        return f"experiment{experiment_num}"

    @staticmethod
    def seed_dir_name(seed: int) -> str:
        return f"seed{seed}"

    @staticmethod
    def get_experiment_dirs(storage_dir: str | os.PathLike) -> list[Path]:
        """Experiment folders of a storage dir, by experiment number (stray names ignored)."""
        found = []
        with os.scandir(storage_dir) as it:
            for entry in it:
                m = _EXPERIMENT_RE.match(entry.name)
                if m:
                    found.append((int(m.group(1)), Path(entry.path)))
        return [p for _, p in sorted(found)]

    @staticmethod
    def get_seed_dirs(experiment_dir: str | os.PathLike) -> list[Path]:
        """Seed folders of an experiment folder, by seed value (stray names ignored)."""
        return [Path(p) for _, p in DirectoryTree.list_seed_dirs(experiment_dir)]

    @staticmethod
    def list_seed_dirs(experiment_dir: str | os.PathLike) -> list[tuple[int, str]]:
        """``(seed, path)`` of each seed folder, by seed: get_seed_dirs with plain strings, for
        scans of 100,000 seeds where building a Path per seed costs more than listing it."""
        base = os.path.join(os.fspath(experiment_dir), "")
        match = _SEED_RE.match
        found = [(int(m.group(1)), base + name) for name in os.listdir(base) if (m := match(name))]
        found.sort()
        return found

    @staticmethod
    def list_experiment_dirs(storage_dir: str | os.PathLike) -> list[tuple[int, str]]:
        """``(experiment number, path)`` of each experiment folder, by number (plain strings)."""
        base = os.path.join(os.fspath(storage_dir), "")
        match = _EXPERIMENT_RE.match
        found = [(int(m.group(1)), base + name) for name in os.listdir(base) if (m := match(name))]
        found.sort()
        return found

    @classmethod
    def iter_seed_trees(cls, storage_dir: str | os.PathLike) -> Iterator[DirectoryTree]:
        for experiment_dir in cls.get_experiment_dirs(storage_dir):
            for seed_dir in cls.get_seed_dirs(experiment_dir):
                yield cls(seed_dir)

    @staticmethod
    def get_storage_dirs(root: str | os.PathLike) -> list[Path]:
        """Folders of ``root`` whose names parse as storage names, sorted by name."""
        root = Path(root)
        if not root.is_dir():
            return []
        return sorted(p for p in root.iterdir() if p.is_dir() and StorageName.parse(p.name))

    @staticmethod
    def search_kind_of(storage_dir: str | os.PathLike) -> str | None:
        """'grid' or 'random' from the storage dir's FLAG-file; None if it has neither."""
        storage_dir = Path(storage_dir)
        if (storage_dir / GRID_SEARCH).exists():
            return "grid"
        if (storage_dir / RANDOM_SEARCH).exists():
            return "random"
        return None


# Storage ids and git hashes -------------------------------------------------------------

def get_id_prefix() -> str:
    """The first two letters of the git user name (ASCII), 'al' when there is none."""
    name = _git(["config", "user.name"], cwd=None) or os.environ.get("USER", "")
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    letters = "".join(c for c in ascii_name if c.isalpha())
    return (letters[:2] or "al").ljust(2, "x")


def get_git_commits(repos: dict[str, str]) -> dict[str, dict[str, str]]:
    """``{name: {"path", "commit"}}`` for each tracked repo; AlfredError if one is not a git repo."""
    commits = {}
    for name, path in repos.items():
        commit = _git(["rev-parse", "HEAD"], cwd=path)
        if not commit:
            raise AlfredError(f"DirectoryTree.git_repos_to_track[{name!r}] = {path!r} is not a git repository")
        commits[name] = {"path": str(Path(path).resolve()), "commit": commit}
    return commits


def repos_to_track() -> dict[str, str]:
    """The repos a schedule asked to track, or else the current folder when it is a git work tree."""
    if DirectoryTree.git_repos_to_track:
        return dict(DirectoryTree.git_repos_to_track)
    if _git(["rev-parse", "--is-inside-work-tree"], cwd=".") == "true":
        return {"project": "."}
    return {}


def git_hashes_field(commits: dict[str, dict[str, str]]) -> str:
    """Short hashes joined by '-' (the storage name's second field), 'nogit' when none."""
    return "-".join(c["commit"][:7] for c in commits.values()) or "nogit"


def _git(args: list[str], cwd: str | None) -> str:
    import subprocess  # here: training code imports this module, and never calls git

    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def allocate_storage_dir(root: Path, prefix: str, rest: str) -> Path:
    """Reserve ``root/<prefix><k>_<rest>`` with a counter k unique among prefix ids in root.

    Race-free: each id is claimed by creating ``root/.alfred_ids/<prefix><k>`` with
    O_CREAT|O_EXCL, which exactly one process wins (atomic on local filesystems and on
    NFSv3+). The scan only gives a starting point, so a stray folder cannot break it.
    A name too long for the filesystem raises AlfredError before any id is taken.
    """
    name_max, rest_max = _rest_max_bytes(root)
    if len(rest.encode()) > rest_max:
        shown = rest if len(rest) <= 60 else rest[:60] + "..."
        raise AlfredError(f"storage name '<id>_{shown}' is too long for this filesystem (file names of at most "
                          f"{name_max} bytes under {root}): what follows the id may hold {rest_max} bytes, "
                          f"it holds {len(rest.encode())}; shorten the alg, task or desc names")
    ids_dir = root / ".alfred_ids"
    ids_dir.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)(?:_|$)")
    used = [int(m.group(1)) for name in (*os.listdir(root), *os.listdir(ids_dir)) if (m := pattern.match(name))]
    k = max(used, default=0) + 1
    while True:
        try:
            os.close(os.open(ids_dir / f"{prefix}{k}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            k += 1
            continue
        storage_dir = root / f"{prefix}{k}_{rest}"
        try:
            storage_dir.mkdir()
        except FileExistsError:  # made by hand or by an old version: skip this id too
            k += 1
            continue
        return storage_dir
