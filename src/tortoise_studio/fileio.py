"""Writing files safely: atomic replacement, and the one backup scheme.

Atomic: every file is written under a temporary name in its own folder and renamed over the target,
so a crash or a kill never leaves half a file under the real name, and readers see the old file or
the new one, never a mix.

Backups: before anything the user made is replaced, it is copied (or moved) into
`<its folder>/backups/<YYYYmmdd-HHMMSS>[-n]/`, keeping its own name. A backup is never overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
import secrets
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

BACKUPS_DIR = "backups"

__all__ = ["BACKUPS_DIR", "atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_torch_save",
           "new_backup_dir", "backup_copy", "backup_move"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path` to write to (with any writer: torch.save, soundfile...); renamed
    over `path` when the block ends without an error, removed when it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a hidden name ending in .tmp: no listing of *.pth, *.wav or *.json ever offers it. Created with the
    # usual permissions (umask), not mkstemp's owner-only ones, since it becomes the file itself.
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any, *, indent: int = 2) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save, atomically. Through a file object: torch names the archive inside after the file it
    is given, and a temporary name would make the same tensors give different bytes each time."""
    import torch
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(obj, handle)
    return Path(path)


def new_backup_dir(folder: str | os.PathLike) -> Path:
    """<folder>/backups/<YYYYmmdd-HHMMSS>[-n]/, created; never one that already exists."""
    root = Path(folder) / BACKUPS_DIR
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        candidate = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"{root}: could not create a backup folder")


def _present(folder: Path, names: Iterable[str]) -> list[Path]:
    return [folder / name for name in names if (folder / name).exists()]


def backup_copy(folder: str | os.PathLike, names: Iterable[str]) -> Path | None:
    """Copy the named files (or folders) of `folder` that exist into a new backup folder, before they are
    edited or replaced; returns the backup folder, None when there was nothing to copy."""
    return _back_up(folder, names, _copy_item)


def backup_move(folder: str | os.PathLike, names: Iterable[str]) -> Path | None:
    """Move the named files (or folders) of `folder` that exist into a new backup folder, to make room for
    new ones; returns the backup folder, None when there was nothing to move."""
    return _back_up(folder, names, lambda item, target: shutil.move(str(item), str(target)))


def _back_up(folder: str | os.PathLike, names: Iterable[str], keep: Callable[[Path, Path], object]) -> Path | None:
    present = _present(Path(folder), names)
    if not present:
        return None
    backup = new_backup_dir(folder)
    for item in present:
        keep(item, backup / item.name)
    return backup


def _copy_item(item: Path, target: Path) -> None:
    if item.is_dir():
        shutil.copytree(item, target)
    else:
        shutil.copy2(item, target)
