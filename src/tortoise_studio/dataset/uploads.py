"""Adding recordings to voices/<voice>/: copied in, never overwriting a file that is already there."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import UserError
from ..workspace import Workspace, safe_name


def add_recordings(workspace: Workspace, voice: str, files: list[str | os.PathLike]) -> list[Path]:
    """Copy `files` into voices/<voice>/ (created if new); a clashing name gets " (2)", " (3)", ... ."""
    if not files:
        raise UserError("files: choose at least one recording to add")
    folder = workspace.voice_dir(voice)
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in map(Path, files):
        if not source.is_file():
            raise UserError(f"{source}: no such file to add")
        name = safe_name(source.name, what="file name")
        target = _free_name(folder, name)
        # Exclusive create: even a file that appears between the check and the copy is never overwritten.
        with open(source, "rb") as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst)
        copied.append(target)
    return copied


def _free_name(folder: Path, name: str) -> Path:
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem} ({n}){suffix}"
    return candidate
