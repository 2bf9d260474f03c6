"""Adding recordings to voices/<voice>/: copied in, never overwriting a file, never storing one twice.

A recording whose content equals one already in the voice is refused as a duplicate, naming its twin: two
copies would be cut into the same clips, and one could land in validation while its twin trains (leakage).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..hashes import file_sha256
from ..workspace import Workspace, safe_name


@dataclass
class AddedRecordings:
    added: list[Path] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (upload's name, the recording it equals)

    def describe(self, voice: str) -> str:
        lines = []
        if self.added:
            lines.append(f"Added {len(self.added)} file(s) to voice **{voice}**: "
                         + ", ".join(p.name for p in self.added))
        for upload, twin in self.duplicates:
            lines.append(f"Not added: {upload} is a duplicate of {twin} (the same recording is already in "
                         f"voice **{voice}**).")
        return "\n\n".join(lines)


def add_recordings(workspace: Workspace, voice: str, files: list[str | os.PathLike]) -> AddedRecordings:
    """Copy `files` into voices/<voice>/ (created if new). A clashing name gets " (2)", " (3)", ...; a file
    whose content is already in the voice (or earlier in `files`) is refused as a duplicate."""
    if not files:
        raise UserError("files: choose at least one recording to add")
    folder = workspace.voice_dir(voice)
    sources = list(map(Path, files))
    for source in sources:
        if not source.is_file():
            raise UserError(f"{source}: no such file to add")
        safe_name(source.name, what="file name")
    folder.mkdir(parents=True, exist_ok=True)
    known = _contents(folder)
    result = AddedRecordings()
    for source in sources:
        digest = file_sha256(source)
        if digest in known:
            result.duplicates.append((source.name, known[digest]))
            continue
        target = _free_name(folder, source.name)
        # Exclusive create: even a file that appears between the check and the copy is never overwritten.
        with open(source, "rb") as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst)
        known[digest] = target.relative_to(folder).as_posix()
        result.added.append(target)
    return result


def _contents(folder: Path) -> dict[str, str]:
    """sha256 -> name of every recording already in the voice folder."""
    return {file_sha256(p): p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def _free_name(folder: Path, name: str) -> Path:
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem} ({n}){suffix}"
    return candidate
