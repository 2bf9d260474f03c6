"""train.txt / validation.txt: `audio/<file>.wav|<text>` lines, and the seeded random split between them.

`read_list` is the one reader of these files, for preparing, proofreading, configuring and training alike.
Its one policy: a line that cannot be used is skipped and reported with its reason (a `Skipped`),
never silently dropped and never fatal, so one bad line does not stop a run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..fileio import atomic_write_text

TRAIN_FILE = "train.txt"
VALIDATION_FILE = "validation.txt"
SPLITS = ("train", "validation")


@dataclass(frozen=True)
class ListEntry:
    audio: str  # relative to the dataset folder, e.g. "audio/speaker_0003.wav"
    text: str
    where: str = ""  # the line it was read from, e.g. "train.txt:12" (empty for a new entry)

    def line(self) -> str:
        return f"{self.audio}|{self.text}"


@dataclass(frozen=True)
class Skipped:
    """A line or clip left out, and why (the trainer reports each once as a "skipped" event)."""

    where: str
    reason: str


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


def read_list(path: Path) -> tuple[list[ListEntry], list[Skipped]]:
    """(usable entries, skipped lines with their reasons) of a train.txt-style file in its dataset folder.

    Blank lines are passed over; a missing file is empty. Audio paths are relative to the list's folder
    and must stay inside it."""
    if not path.is_file():
        return [], []
    entries, skipped = [], []
    root = path.parent.resolve()
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        where = f"{path.name}:{number}"
        if not line.strip():
            continue
        audio, sep, text = line.partition("|")
        audio, text = audio.strip(), text.strip()
        if not sep:
            skipped.append(Skipped(where, "no '|' between the audio path and the text"))
        elif not audio:
            skipped.append(Skipped(where, "empty audio path"))
        elif not text:
            skipped.append(Skipped(where, f"{audio}: empty text"))
        elif not (root / audio).resolve().is_relative_to(root):
            skipped.append(Skipped(where, f"{audio}: path leads outside the dataset folder"))
        else:
            entries.append(ListEntry(audio, text, where))
    return entries, skipped


def write_list(path: Path, entries: list[ListEntry]) -> Path:
    """Write atomically, so an interrupted write never truncates the list."""
    return atomic_write_text(path, "".join(entry.line() + "\n" for entry in entries))
