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

from alfred.utils.layout import IDS_DIR, is_storage_name
from alfred.utils.misc import AlfredError

__all__ = ["StorageName", "check_name", "folder_name_part", "get_id_prefix", "get_git_commits", "git_work_tree",
           "git_hashes_field", "allocate_storage_dir"]

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+=_-]*")
_NAME_RULE = "letters, digits and . + = - _ , starting with a letter or digit"
SEARCH_KINDS = ("grid", "random")


def check_name(kind: str, value: object) -> str:
    """Validate an alg_name, task_name or desc; raise AlfredError saying what is valid."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value) or ".." in value:
        raise AlfredError(f"invalid {kind} {value!r}: use {_NAME_RULE} (no '/', spaces or '..')")
    return value


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
    """
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
        return storage_dir
