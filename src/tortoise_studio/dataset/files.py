"""Small file helpers for the dataset folder: atomic JSON, and backups before anything is replaced."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def new_backup_dir(dataset_dir: Path) -> Path:
    """training/<dataset>/backup-<YYYYmmdd-HHMMSS>[-n]/, created, never one that already exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        candidate = dataset_dir / (f"backup-{stamp}" if n == 0 else f"backup-{stamp}-{n}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"{dataset_dir}: could not create a backup folder")


def move_to_backup(dataset_dir: Path, names: tuple[str, ...]) -> Path | None:
    """Move the named files/folders that exist into a new backup folder; returns it (None if nothing to move)."""
    present = [dataset_dir / name for name in names if (dataset_dir / name).exists()]
    if not present:
        return None
    backup = new_backup_dir(dataset_dir)
    for item in present:
        shutil.move(str(item), str(backup / item.name))
    return backup


def copy_to_backup(dataset_dir: Path, names: tuple[str, ...]) -> Path | None:
    """Copy the named files that exist into a new backup folder (before editing them in place)."""
    present = [dataset_dir / name for name in names if (dataset_dir / name).is_file()]
    if not present:
        return None
    backup = new_backup_dir(dataset_dir)
    for item in present:
        shutil.copy2(item, backup / item.name)
    return backup
