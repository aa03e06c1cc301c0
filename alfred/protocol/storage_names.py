"""Names of storage dirs: their fields, the names users give, race-free ids, git hashes.

    storage_name = <id>_<githashes>_<alg_name>_<task_name>_<desc>

``<id>`` is two letters of the git user name and a counter unique in the root; ``_``
separates the fields, so inside a field it is written ``-`` (``config.json`` keeps names as
given).
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections import namedtuple
from pathlib import Path

from alfred.errors import AlfredError
from alfred.protocol.layout import IDS_DIR, RETRAIN_DESC_PREFIX, is_storage_name

__all__ = ["StorageName", "check_name", "check_storage_names_fit", "name_max_bytes", "folder_name_part",
           "get_id_prefix", "get_git_commits",
           "git_user_name", "git_short_hash", "git_work_tree", "git_hashes_field", "allocate_storage_dir",
           "release_storage_id"]

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+=_-]*")  # used with fullmatch: '$' would let a final '\n' in
_NAME_RULE = "letters, digits and . + = - _ , starting with a letter or digit"
SEARCH_KINDS = ("grid", "random")
# Bytes a storage name may need beyond ``<rest>`` (what follows the id): the id itself (two
# letters and a counter; 12 bytes kept for it) and its '_', plus the 14 bytes of the temporary
# folder it is built in (utils.misc.temp_sibling: ``.<name>.tmp-<8 hex>``).
_ID_BYTES = 12
_TMP_BYTES = len(".") + len(".tmp-") + 8


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
        if not is_storage_name(name):
            return None
        return cls(*name.split("_", 4))


def git_user_name() -> str:
    """``git config user.name``; '' when unset."""
    return _git(["config", "user.name"], cwd=None)


def git_short_hash(path: str | os.PathLike) -> str:
    """The short HEAD commit of the repo at ``path``; '' when it is not a git repo."""
    return _git(["rev-parse", "--short", "HEAD"], cwd=os.fspath(path)) if Path(path).is_dir() else ""


def get_id_prefix() -> str:
    """The first two letters of the git user name (ASCII), 'al' when there is none."""
    name = git_user_name() or os.environ.get("USER", "")
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


def git_work_tree(path: str) -> bool:
    """Whether ``path`` is inside a git work tree."""
    return _git(["rev-parse", "--is-inside-work-tree"], cwd=path) == "true"


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
    ids_dir = root / IDS_DIR
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
        except BaseException:  # a full disk: the id goes back, nothing is left behind
            release_storage_id(storage_dir)
            raise
        return storage_dir


def release_storage_id(storage_dir: Path) -> None:
    """Give back the id of a storage dir that was never made (its build failed, e.g. on a full disk)."""
    try:
        os.unlink(storage_dir.parent / IDS_DIR / storage_dir.name.split("_", 1)[0])
    except FileNotFoundError:
        pass
