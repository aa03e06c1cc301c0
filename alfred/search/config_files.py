"""Editing the configs of existing seed folders: 0.2's update_config_unique and anonymize_config.

Both rewrite ``config.json`` / ``config_unique.json`` files in place, each atomically (a temp
file, then a rename), and return what they changed; the scripts print it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alfred.protocol.layout import CONFIG, CONFIG_UNIQUE
from alfred.protocol.listing import iter_seed_dirs
from alfred.utils.config import load_dict_from_json, save_dict_to_json

__all__ = ["ConfigEdits", "anonymize_configs", "update_config_unique"]

ANONYMIZED_KEYS = ("experiment_name",)  # what 0.2's anonymize_config removed from config.json


@dataclass
class ConfigEdits:
    """Per storage dir: the files changed, those already right, and notes (one line each)."""

    storage_dir: Path
    changed: list[Path] = field(default_factory=list)
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)


def update_config_unique(storage_dir: Path) -> ConfigEdits:
    """Set each value of every seed's config_unique.json to the one its config.json holds (e.g.
    after config.json was edited by hand). A key config.json lacks is kept and noted."""
    edits = ConfigEdits(Path(storage_dir))
    for _, _, seed_dir in iter_seed_dirs(storage_dir):
        config = load_dict_from_json(Path(seed_dir, CONFIG))
        unique_path = Path(seed_dir, CONFIG_UNIQUE)
        unique = load_dict_from_json(unique_path)
        updated = {k: config.get(k, v) for k, v in unique.items()}
        missing = [k for k in unique if k not in config]
        if missing:
            edits.notes.append(f"{unique_path}: {', '.join(missing)} not in config.json, kept")
        if updated == unique:
            edits.unchanged += 1
            continue
        save_dict_to_json(updated, unique_path)
        edits.changed.append(unique_path)
    return edits


def anonymize_configs(storage_dir: Path, keys: tuple[str, ...] = ANONYMIZED_KEYS) -> ConfigEdits:
    """Remove ``keys`` (0.2: ``experiment_name``) from every seed's config.json."""
    edits = ConfigEdits(Path(storage_dir))
    for _, _, seed_dir in iter_seed_dirs(storage_dir):
        path = Path(seed_dir, CONFIG)
        config = load_dict_from_json(path)
        if not any(k in config for k in keys):
            edits.unchanged += 1
            continue
        save_dict_to_json({k: v for k, v in config.items() if k not in keys}, path)
        edits.changed.append(path)
    return edits
