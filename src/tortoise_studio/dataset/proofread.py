"""Proofreading a prepared dataset: the clip table, corrected texts, moving clips between splits, dropping.

Every save first copies the current train.txt and validation.txt into a backup folder. Dropping a clip
removes its line only; the wav stays in audio/ so nothing is lost. Clips Prepare flagged (an edge inside
speech) come first in the table, with the reason, so they are listened to before anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import UserError
from .corrections import record_corrections
from ..fileio import backup_copy as copy_to_backup
from .lists import SPLITS, TRAIN_FILE, VALIDATION_FILE, ListEntry, read_list, write_list
from .slicing import clean_text

LIST_FILES = {"train": TRAIN_FILE, "validation": VALIDATION_FILE}


@dataclass(frozen=True)
class ClipRow:
    clip: str  # "audio/<file>.wav"
    seconds: float
    text: str
    split: str  # "train" | "validation"
    as_trained: str = ""  # the text after the tokenizer's normaliser (load_clip_table with a tokenizer)
    flag: str = ""  # why to check this clip first (from dataset.json "flagged"); "" when nothing is wrong


def load_clip_table(dataset_dir: Path, tokenizer=None) -> list[ClipRow]:
    """Every clip of train.txt then validation.txt, with its duration (from dataset.json, else the wav header),
    and with a tokenizer (text.TextTokenizer) the text as it will be trained; flagged clips first."""
    report = _report(dataset_dir)
    durations, flags = dict(report.get("clip_seconds", {})), dict(report.get("flagged", {}))
    rows = []
    for split in SPLITS:
        for entry in read_list(dataset_dir / LIST_FILES[split])[0]:
            seconds = durations.get(entry.audio)
            if seconds is None:
                seconds = _wav_seconds(dataset_dir / entry.audio)
            rows.append(ClipRow(entry.audio, seconds, entry.text, split,
                                as_trained(entry.text, tokenizer) if tokenizer else "",
                                str(flags.get(entry.audio, ""))))
    return sorted(rows, key=lambda row: not row.flag)  # stable: otherwise the lists' order


def as_trained(text: str, tokenizer) -> str:
    """`text` after the tokenizer's normaliser; a line the trainer will skip says so and names the symbols."""
    normalised = tokenizer.normalise(text)
    missing = tokenizer.unknown_symbols(normalised)
    return f"{normalised}  [skipped: no symbol for {' '.join(missing)}]" if missing else normalised


def save_clip_table(dataset_dir: Path, rows: list[ClipRow]) -> Path | None:
    """Write the rows back to train.txt / validation.txt (a backup of both first); returns the backup folder.

    Rows whose split is "drop" are left out. Train must keep at least one clip.
    """
    known = {row.clip for row in load_clip_table(dataset_dir)}
    lists: dict[str, list[ListEntry]] = {split: [] for split in SPLITS}
    for row in rows:
        if row.clip not in known:
            raise UserError(f"clip {row.clip!r}: not in this dataset's train.txt or validation.txt")
        if row.split == "drop":
            continue
        if row.split not in SPLITS:
            raise UserError(f"clip {row.clip}: split {row.split!r} is not train, validation or drop")
        text = clean_text(row.text)
        if not text:
            raise UserError(f"clip {row.clip}: text must not be empty (drop the clip instead)")
        lists[row.split].append(ListEntry(row.clip, text))
    if not lists["train"]:
        raise UserError("train.txt: would be empty; keep at least one clip in train")
    backup = copy_to_backup(dataset_dir, (TRAIN_FILE, VALIDATION_FILE))
    for split, entries in lists.items():
        write_list(dataset_dir / LIST_FILES[split], entries)
    record_corrections(dataset_dir)  # kept by span, so preparing again keeps them
    return backup


def move_clip(dataset_dir: Path, clip: str, split: str) -> Path | None:
    """Move one clip to `split` ("train", "validation" or "drop")."""
    rows = [replace(r, split=split) if r.clip == clip else r for r in load_clip_table(dataset_dir)]
    if not any(r.clip == clip for r in rows):
        raise UserError(f"clip {clip!r}: not in this dataset")
    return save_clip_table(dataset_dir, rows)


def drop_clip(dataset_dir: Path, clip: str) -> Path | None:
    return move_clip(dataset_dir, clip, "drop")


def _report(dataset_dir: Path) -> dict:
    """dataset.json, or {} when it is missing or unreadable (the lists alone still make a table)."""
    try:
        report = json.loads((dataset_dir / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def _wav_seconds(path: Path) -> float:
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError):
        return 0.0
    return round(info.frames / info.samplerate, 3)


def unsaved_changes(dataset_dir: Path, rows: list) -> int:
    """How many of `rows` (the clip table as shown) differ from the saved lists."""
    saved = {row.clip: (row.text, row.split) for row in load_clip_table(dataset_dir)}
    return sum(1 for row in rows if row.clip in saved and saved[row.clip] != (clean_text(row.text), row.split))
