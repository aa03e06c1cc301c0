"""``DirectoryTree``: the seed folder a run receives as ``dir_tree``, and the settings of the layout.

The names of every folder and file are spelled in alfred.protocol.layout; this module gives
training code its view of one seed folder (``DirectoryTree``, a ``SeedDir``) and holds the two
settings schedules and mains may change: ``DirectoryTree.default_root`` and
``DirectoryTree.git_repos_to_track``, which are views of ``alfred.defaults``
(``DEFAULT_DIRECTORY_TREE_ROOT`` and ``DEFAULT_DIRECTORY_TREE_GIT_REPOS_TO_TRACK``): assigning
either name sets the one value every script reads.

The second half of the module holds the 0.2 names (see docs/migrating.md).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from alfred import defaults
from alfred.protocol.layout import UNHATCHED, SeedDir, experiment_dir_name, seed_dir_name
from alfred.protocol.listing import list_experiment_dirs, list_seed_dirs, list_storage_dirs
from alfred.protocol.storage_names import (
    StorageName,
    allocate_storage_dir,
    check_name,
    folder_name_part,
    get_git_commits,
    get_id_prefix,
    git_hashes_field,
    git_short_hash,
    git_user_name,
    git_work_tree,
)

__all__ = ["DirectoryTree", "repos_to_track", "get_root", "get_some_seeds", "get_all_seeds",
           "get_storage_dirs_across_tasks", "get_git_hash", "get_git_name", "sanity_check_exists",
           "sanity_check_hash"]


class _TreeSettings(type):
    """Makes ``DirectoryTree.default_root`` and ``.git_repos_to_track`` views of alfred.defaults,
    so that a schedule assigning either spelling changes what every script reads."""

    @property
    def default_root(cls) -> str:
        return defaults.DEFAULT_DIRECTORY_TREE_ROOT

    @default_root.setter
    def default_root(cls, value: str | os.PathLike) -> None:
        defaults.DEFAULT_DIRECTORY_TREE_ROOT = value

    @property
    def git_repos_to_track(cls) -> dict[str, str]:
        return defaults.DEFAULT_DIRECTORY_TREE_GIT_REPOS_TO_TRACK

    @git_repos_to_track.setter
    def git_repos_to_track(cls, value: dict[str, str]) -> None:
        defaults.DEFAULT_DIRECTORY_TREE_GIT_REPOS_TO_TRACK = value


class DirectoryTree(SeedDir, metaclass=_TreeSettings):
    """The seed folder a run receives as ``dir_tree``: write results under ``recorders_dir``
    and checkpoints under ``incrementals_dir``.

    In a run launched by alfred both are the run's own (``recorders.<token>/``,
    ``incrementals.<token>/``, with ``dir_tree.run_token``), renamed to ``recorders/`` and
    ``incrementals/`` when the run completes; read a finished seed's files with
    ``DirectoryTree(seed_dir)``, whose paths are the plain names.

    Two ways to make one:

    - ``DirectoryTree(seed_dir)``: the tree of an existing seed folder (what alfred's workers pass);
    - ``DirectoryTree(alg_name, task_name, desc, seed, experiment_num=None, git_hashes=None, id=None,
      root=None)`` (0.2), or with ``root`` 5th (later 0.x versions): a new seed of the storage dir
      ``<id>_<git_hashes>_<alg_name>_<task_name>_<desc>`` under ``root`` (default
      ``DirectoryTree.default_root``). Without ``id``, the next free id of the root is *reserved*
      at once (its empty storage dir is created, race-free, see ``allocate_storage_dir``); without
      ``experiment_num``, the next free experiment; without ``git_hashes``, the tracked repos'
      (``get_git_hashes()``). ``create_directories()`` then makes the seed folder.

    ``DirectoryTree.default_root`` (the folder of storage dirs) and
    ``DirectoryTree.git_repos_to_track`` ({name: repo path}, whose commits name and describe
    every search) may be set by schedules and mains; every script honours them.
    """

    # Instances read the class settings too (class access goes through _TreeSettings).
    default_root = property(lambda self: type(self).default_root)
    git_repos_to_track = property(lambda self: type(self).git_repos_to_track)

    def __init__(self, *args, run_token: str | None = None, **kwargs):
        if len(args) + len(kwargs) == 1 and (args or "seed_dir" in kwargs):
            super().__init__(args[0] if args else kwargs["seed_dir"], run_token)
        else:
            super().__init__(_new_seed_dir(*args, **kwargs), run_token)
        self._adaptive = None  # the run's AdaptiveRun (alfred.protocol.adaptive_run), made at the first report

    def report(self, step: int, value: float) -> bool:
        """Report the run's ``value`` (of the search's metric) at its own ``step``; True: go on.

        In a grid or random search, or a main run by hand, it does nothing and returns True. In an
        adaptive search, at each rung crossed since the last report it records ``value`` once, then
        (stop mode) raises :class:`~alfred.utils.preemption.Pruned` if the run is not in the top
        1/eta there, or (promote mode) raises :class:`~alfred.utils.preemption.Paused` unless the run
        was promoted past it. Both subclass ``Preempted``: save a checkpoint and re-raise. Call it
        with the step the run has reached (a resumed run re-crosses its rungs and re-reads what was
        recorded and decided). At ``step >= max_resource`` the final value is recorded.
        """
        if getattr(self, "_adaptive", None) is None:
            from alfred.protocol.adaptive_run import adaptive_run_of

            self._adaptive = adaptive_run_of(self.seed_dir, self.run_token) or False
        return True if self._adaptive is False else self._adaptive.report(step, value)

    @property
    def adaptive_outcome(self):
        """``Pruned`` or ``Paused`` once ``report`` raised one (a main that swallowed it ends the same way)."""
        return self._adaptive.outcome if getattr(self, "_adaptive", None) else None

    # Fields of the storage name (the 0.2 attributes) ---------------------------------------
    def _field(self, i: int) -> str:
        return self.extract_info_from_storage_name(self.storage_name)[i]

    id = property(lambda self: self._field(0))
    git_hashes = property(lambda self: self._field(1))
    alg_name = property(lambda self: self._field(2))
    task_name = property(lambda self: self._field(3))
    desc = property(lambda self: self._field(4))

    # 0.2 class and static methods --------------------------------------------------------
    @staticmethod
    def get_all_experiments(storage_dir: str | os.PathLike) -> list[Path]:
        """The ``experiment<N>`` folders of a storage dir, by N."""
        return [Path(p) for _, p in list_experiment_dirs(storage_dir)]

    @staticmethod
    def get_all_seeds(experiment_dir: str | os.PathLike) -> list[Path]:
        """The ``seed<S>`` folders of an experiment folder, by S."""
        return [Path(p) for _, p in list_seed_dirs(experiment_dir)]

    @classmethod
    def init_from_seed_path(cls, seed_path: str | os.PathLike, root: str | os.PathLike | None = None):
        """The tree of an existing seed folder (``root``, when given, replaces the folder's own parent)."""
        seed_path = Path(seed_path)
        if root is None:
            return cls(seed_path)
        return cls(Path(root) / seed_path.parent.parent.name / seed_path.parent.name / seed_path.name)

    @classmethod
    def init_from_branching_info(cls, root_dir: str | os.PathLike, storage_name: str, experiment_num: int,
                                 seed_num: int):
        """The tree of ``root_dir/<storage_name>/experiment<N>/seed<S>``."""
        return cls(Path(root_dir) / storage_name / experiment_dir_name(int(experiment_num)) /
                   seed_dir_name(int(seed_num)))

    @classmethod
    def extract_info_from_storage_name(cls, storage_name: str) -> tuple[str, str, str, str, str]:
        """``(id, git_hashes, alg_name, task_name, desc)``; desc keeps its '_'. A name of
        another shape gives ``('', '', '', '', storage_name)``."""
        parts = storage_name.split("_", 4)
        if len(parts) < 5:
            return "", "", "", "", storage_name
        return tuple(parts)  # type: ignore[return-value]

    @classmethod
    def get_git_hashes(cls) -> str:
        """The tracked repos' short hashes joined by '-' (``nogit`` when none is tracked)."""
        return git_hashes_field(get_git_commits(repos_to_track()))


def _new_seed_dir(alg_name: str, task_name: str, desc: str, seed: int, *args, **kwargs) -> Path:
    """The seed folder of the 0.2 constructor; reserves a new storage dir when no id is given.

    The fifth positional argument is ``root`` when it is a path (later 0.x versions), else
    ``experiment_num`` (0.2: ``experiment_num, git_hashes, id, root``; a number, maybe as digits).
    """
    later = bool(args) and (isinstance(args[0], os.PathLike) or (isinstance(args[0], str) and not args[0].isdigit()))
    names = ("root", "experiment_num", "git_hashes", "id") if later else ("experiment_num", "git_hashes", "id", "root")
    if len(args) > len(names):
        raise TypeError(f"DirectoryTree() takes at most 8 arguments ({len(args) + 4} given)")
    for name, value in zip(names, args):
        if name in kwargs:
            raise TypeError(f"DirectoryTree() got multiple values for argument {name!r}")
        kwargs[name] = value
    unknown = set(kwargs) - set(names)
    if unknown:
        raise TypeError(f"DirectoryTree() got unexpected keyword argument(s) {', '.join(sorted(unknown))}")
    return _seed_dir_of(alg_name, task_name, desc, seed, **kwargs)


def _seed_dir_of(alg_name: str, task_name: str, desc: str, seed: int, experiment_num: int | None = None,
                 git_hashes: str | None = None, id: str | None = None,  # noqa: A002 (0.2's name)
                 root: str | os.PathLike | None = None) -> Path:
    root = get_root(root)
    alg = folder_name_part(check_name("alg_name", str(alg_name)))
    task = folder_name_part(check_name("task_name", str(task_name)))
    desc = check_name("desc", str(desc) if desc else "run")  # a storage name has five fields: '' -> 'run'
    rest = f"{git_hashes or DirectoryTree.get_git_hashes()}_{alg}_{task}_{desc}"
    if id is None:
        root.mkdir(parents=True, exist_ok=True)
        storage_dir = allocate_storage_dir(root, get_id_prefix(), rest)
    else:
        storage_dir = root / f"{id}_{rest}"
    if experiment_num is None:
        existing = list_experiment_dirs(storage_dir) if storage_dir.is_dir() else []
        experiment_num = max((n for n, _ in existing), default=0) + 1
    return storage_dir / experiment_dir_name(int(experiment_num)) / seed_dir_name(int(seed))


def repos_to_track() -> dict[str, str]:
    """The repos a schedule asked to track, or else the current folder when it is a git work tree."""
    if DirectoryTree.git_repos_to_track:
        return dict(DirectoryTree.git_repos_to_track)
    return {"project": "."} if git_work_tree(".") else {}


# 0.2 names ----------------------------------------------------------------------------------
# Projects written for alfred 0.2 and the later 0.x versions call these (docs/migrating.md).

def get_root(root: str | os.PathLike | None = None) -> Path:
    """``Path(root)``, or ``DirectoryTree.default_root`` when None."""
    return Path(root) if root is not None else Path(DirectoryTree.default_root)


def get_some_seeds(storage_dir: str | os.PathLike, file_check: str = UNHATCHED) -> list[Path]:
    """The seed folders holding ``file_check``, experiments then seeds in numeric order."""
    return [seed for seed in get_all_seeds(storage_dir) if (seed / file_check).exists()]


def get_all_seeds(storage_dir: str | os.PathLike) -> list[Path]:
    """Every seed folder of a storage dir, experiments then seeds in numeric order."""
    return [seed for experiment in DirectoryTree.get_all_experiments(storage_dir)
            for seed in DirectoryTree.get_all_seeds(experiment)]


def get_storage_dirs_across_tasks(storage_dir: str | os.PathLike, root_dir: str | os.PathLike | None) -> list[Path]:
    """The storage dirs of ``root_dir`` whose names equal ``storage_dir``'s but for the task
    (and the id), ``storage_dir`` first."""
    storage_dir = Path(storage_dir)
    mine = StorageName.parse(storage_dir.name)
    others = []
    if mine is not None:
        for path in list_storage_dirs(get_root(root_dir)):
            other = StorageName.parse(path.name)
            if (path.name != storage_dir.name and other is not None
                    and (other.git_hashes, other.alg_name, other.desc) == (mine.git_hashes, mine.alg_name, mine.desc)):
                others.append(path)
    return [storage_dir, *others]


def get_git_hash(path: str | os.PathLike) -> str:
    """The short HEAD hash of the git repo at ``path``; ``'nogit'`` when it is not one."""
    return git_short_hash(path) or "nogit"


def get_git_name() -> str:
    """``git config user.name``; ``'NoGitUsr'`` when unset."""
    return git_user_name() or "NoGitUsr"


def sanity_check_exists(storage_dir: str | os.PathLike, master_logger: logging.Logger) -> bool:
    """False, with a warning on ``master_logger``, when ``storage_dir`` does not exist."""
    if Path(storage_dir).exists():
        return True
    master_logger.warning(f"storage dir {storage_dir} does not exist: left out")
    return False


def sanity_check_hash(storage_dir: str | os.PathLike, master_logger: logging.Logger) -> bool:
    """False, with a warning on ``master_logger``, when a repo of ``DirectoryTree.git_repos_to_track``
    is not at a commit the storage dir's name records (its git hashes field)."""
    recorded = DirectoryTree.extract_info_from_storage_name(Path(storage_dir).name)[1].split("-")
    for name, repo in DirectoryTree.git_repos_to_track.items():
        current = get_git_hash(repo)
        if current not in recorded:
            master_logger.warning(f"repo {name!r} is at {current}, but {Path(storage_dir).name} was prepared at "
                                  f"{'-'.join(recorded)}: left out")
            return False
    return True
