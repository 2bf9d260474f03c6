"""train.txt / validation.txt: `audio/<file>.wav|<text>` lines, and the seeded random split between them."""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

TRAIN_FILE = "train.txt"
VALIDATION_FILE = "validation.txt"
SPLITS = ("train", "validation")


@dataclass(frozen=True)
class ListEntry:
    audio: str  # relative to the dataset folder, e.g. "audio/speaker_0003.wav"
    text: str

    def line(self) -> str:
        return f"{self.audio}|{self.text}"


def split_entries(entries: list[ListEntry], fraction: float, seed: int) -> tuple[list[ListEntry], list[ListEntry]]:
    """A seeded random split: about `fraction` of the clips go to validation.

    At least one validation clip when there are two or more clips (unless `fraction` is 0), and
    train always keeps at least one clip: the predecessor split by text length and could leave it empty.
    """
    validate_fraction(fraction)
    order = sorted(entries, key=lambda e: e.audio)  # independent of the order files were processed in
    random.Random(seed).shuffle(order)
    count = len(order)
    wanted = 0 if fraction == 0 or count < 2 else max(1, round(count * fraction))
    wanted = min(wanted, count - 1) if count else 0
    validation = sorted(order[:wanted], key=lambda e: e.audio)
    train = sorted(order[wanted:], key=lambda e: e.audio)
    return train, validation


def validate_fraction(fraction: float) -> float:
    if not (0.0 <= float(fraction) < 1.0):
        raise UserError(f"validation_fraction: {fraction} is not in [0, 1)")
    return float(fraction)


def read_list(path: Path) -> list[ListEntry]:
    """Entries of a train.txt-style file; a missing file is an empty list."""
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if "|" not in line:
            raise UserError(f"{path}:{number}: expected 'audio/<file>.wav|<text>', got {line[:60]!r}")
        audio, text = line.split("|", 1)
        entries.append(ListEntry(audio.strip(), text.strip()))
    return entries


def write_list(path: Path, entries: list[ListEntry]) -> Path:
    """Write atomically (temp file, then rename) so an interrupted write never truncates the list."""
    text = "".join(entry.line() + "\n" for entry in entries)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path
