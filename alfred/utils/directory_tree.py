"""``DirectoryTree``: the seed folder a run receives as ``dir_tree``, and the settings of the layout.

The names of every folder and file are spelled in alfred.utils.layout; this module gives
training code its view of one seed folder (``DirectoryTree``, a ``SeedDir``) and holds the two
settings schedules and mains may change: ``DirectoryTree.default_root`` and
``DirectoryTree.git_repos_to_track``.
"""
from __future__ import annotations

from typing import ClassVar

from alfred.utils.layout import SeedDir
from alfred.utils.storage_names import git_work_tree

__all__ = ["DirectoryTree", "repos_to_track"]


class DirectoryTree(SeedDir):
    """The seed folder a run receives as ``dir_tree``: write results under ``recorders_dir``
    and checkpoints under ``incrementals_dir``.

    ``DirectoryTree.default_root`` (the folder of storage dirs) and
    ``DirectoryTree.git_repos_to_track`` ({name: repo path}, whose commits name and describe
    every search) may be set by schedules and mains; every script honours them.
    """

    default_root: ClassVar[str] = "./storage"
    git_repos_to_track: ClassVar[dict[str, str]] = {}


def repos_to_track() -> dict[str, str]:
    """The repos a schedule asked to track, or else the current folder when it is a git work tree."""
    if DirectoryTree.git_repos_to_track:
        return dict(DirectoryTree.git_repos_to_track)
    return {"project": "."} if git_work_tree(".") else {}
