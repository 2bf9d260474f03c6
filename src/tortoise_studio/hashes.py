"""Content hashes of files, remembered per (path, size, mtime) so a 1.7 GB model is read once per process."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_CHUNK = 1 << 20
_known: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def file_stamp(path: str | os.PathLike) -> tuple[str, int, int]:
    """(resolved path, size, mtime in ns): changes whenever the file is replaced or rewritten."""
    path = Path(path).resolve()
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def file_sha256(path: str | os.PathLike) -> str:
    stamp = file_stamp(path)
    with _lock:
        known = _known.get(stamp)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with open(stamp[0], "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    with _lock:
        _known[stamp] = digest.hexdigest()
    return _known[stamp]
