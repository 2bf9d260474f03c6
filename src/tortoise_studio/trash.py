"""The workspace's trash: what the user deletes is moved here, never unlinked, until they empty it.

Each deletion gets a folder of its own in which the items keep their place relative to the workspace, so
the trash shows where they came from and they can be moved back by hand:
trash/<YYYYmmdd-HHMMSS>[-n]/results/alice/alice_0003.wav, with deleted.json naming what was moved.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .workspace import Workspace

TRASH_DIR = "trash"
MANIFEST = "deleted.json"


@dataclass(frozen=True)
class TrashItem:
    path: Path  # where it is now, in the trash
    original: str  # where it was, relative to the workspace
    deleted: str  # the deletion's folder name: when (YYYYmmdd-HHMMSS)
    what: str  # what the user deleted, e.g. "result alice/alice_0003.wav"


def trash_dir(workspace: Workspace) -> Path:
    return workspace.root / TRASH_DIR


def move_to_trash(workspace: Workspace, paths: list[Path], *, what: str) -> list[Path]:
    """Move `paths` (inside the workspace; one deletion, e.g. a result and its sidecar) into one new trash
    folder; returns where each went. `what` says what the user deleted, for the trash listing."""
    for path in paths:
        if not path.exists():
            raise UserError(f"{path}: nothing there to delete")
        resolved = path.resolve()
        if not workspace.contains(resolved) or resolved == workspace.root or \
                resolved.is_relative_to(trash_dir(workspace).resolve()):
            raise UserError(f"{path}: not an item of this workspace")
    folder = _new_folder(trash_dir(workspace))
    originals = [path.resolve().relative_to(workspace.root).as_posix() for path in paths]
    (folder / MANIFEST).write_text(json.dumps({"what": what, "items": originals}, indent=2) + "\n")
    moved = []
    for path, original in zip(paths, originals):
        target = folder / original
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(target))
        moved.append(target)
    return moved


def list_trash(workspace: Workspace) -> list[TrashItem]:
    """Everything in the trash, newest deletion first."""
    root = trash_dir(workspace)
    if not root.is_dir():
        return []
    items = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True):
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
            originals, what = list(manifest["items"]), str(manifest.get("what", ""))
        except (OSError, ValueError, KeyError, TypeError):  # put there by hand: list what is there
            originals, what = [p.name for p in folder.iterdir()], ""
        items += [TrashItem(folder / o, o, folder.name, what) for o in originals if (folder / o).exists()]
    return items


def empty_trash(workspace: Workspace) -> int:
    """Delete everything in the trash for good (only on the user's explicit request); returns how many items."""
    count = len(list_trash(workspace))
    root = trash_dir(workspace)
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    return count


def _new_folder(root: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        candidate = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"{root}: could not create a trash folder")
