"""The user's corrections to a prepared dataset: edited texts, dropped clips and split choices.

They are the user's data, so they outlive the clips they were made on. Each is keyed by what stays the
same when a voice is prepared again, the recording and the time span the clip was cut from (dataset.json's
`clip_spans`), not by the clip's file name, which depends on the order files are processed in. They live in
corrections.json in the dataset folder, written atomically, and preparing again applies them to every clip
that still exists (same recording, start and end each within SPAN_TOLERANCE_SECONDS). A correction whose
clip is gone is kept in the file and counted as "could not be placed".

What changed is read from the dataset itself: the lists (train.txt, validation.txt) against what prepare
wrote (clip_spans holds Whisper's text and the split prepare assigned). So an edit made in the UI and an
edit made to train.txt by hand are both kept.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import UserError
from ..fileio import atomic_write_json as write_json
from .lists import SPLITS, TRAIN_FILE, VALIDATION_FILE, ListEntry, read_list, split_entries
from .slicing import clean_text

CORRECTIONS_FILE = "corrections.json"
REPORT_FILE = "dataset.json"
SPAN_TOLERANCE_SECONDS = 0.3  # Whisper's times move by a few hundredths between runs; clips are >= 0.6 s
DROP = "drop"
VERSION = 1


@dataclass(frozen=True)
class ClipKey:
    source: str  # the recording, relative to voices/<voice>/
    start: float  # seconds into the recording
    end: float

    def distance(self, other: "ClipKey") -> float | None:
        """How far apart two spans of the same recording are (None: another recording, or beyond tolerance)."""
        if self.source != other.source:
            return None
        apart = max(abs(self.start - other.start), abs(self.end - other.end))
        return apart if apart <= SPAN_TOLERANCE_SECONDS else None


@dataclass(frozen=True)
class Correction:
    key: ClipKey
    text: str | None = None  # the user's text; None: Whisper's text stands
    split: str | None = None  # "train", "validation" or "drop"; None: as prepare assigned it
    transcribed: str = ""  # Whisper's text the user replaced, so the file reads on its own

    def to_json(self) -> dict:
        return {**asdict(self.key), "text": self.text, "split": self.split, "transcribed": self.transcribed}

    @classmethod
    def from_json(cls, data: dict) -> "Correction":
        key = ClipKey(str(data["source"]), float(data["start"]), float(data["end"]))
        split = data.get("split")
        if split is not None and split not in (*SPLITS, DROP):
            raise ValueError(f"split {split!r} is not train, validation or drop")
        return cls(key, data.get("text"), split, str(data.get("transcribed", "")))


@dataclass
class AppliedCorrections:
    """What preparing again did with the corrections: the lists, and what it kept or could not place."""

    train: list[ListEntry]
    validation: list[ListEntry]
    assigned: dict[str, str]  # clip -> the split prepare gave it (before the user's choice)
    kept: int = 0
    unplaced: list[Correction] = field(default_factory=list)

    def summary(self) -> dict:
        return {"file": CORRECTIONS_FILE, "kept": self.kept, "unplaced": [c.to_json() for c in self.unplaced]}


def load_corrections(dataset_dir: Path) -> list[Correction]:
    """corrections.json, or [] when there is none. An unreadable file stops with a UserError naming it: it
    holds the user's work, so it is never silently replaced."""
    path = dataset_dir / CORRECTIONS_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Correction.from_json(item) for item in data["corrections"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not readable as corrections ({exc}); fix or move the file, then try again") from exc


def save_corrections(dataset_dir: Path, corrections: list[Correction]) -> Path:
    ordered = sorted(corrections, key=lambda c: (c.key.source, c.key.start))
    return write_json(dataset_dir / CORRECTIONS_FILE,
                      {"version": VERSION, "corrections": [c.to_json() for c in ordered]})


def clip_spans(dataset_dir: Path) -> dict[str, dict]:
    """dataset.json's clip -> {source, start, end, text, split}; {} for a dataset prepared before it existed."""
    try:
        report = json.loads((dataset_dir / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    spans = report.get("clip_spans") if isinstance(report, dict) else None
    return spans if isinstance(spans, dict) else {}


def record_corrections(dataset_dir: Path) -> list[Correction]:
    """Read the corrections from the dataset as it is now, merge them into corrections.json, and return them.

    For every clip of the dataset its current state wins (an edit undone is no longer a correction); the
    file's other entries, those whose clips are gone, are kept.
    """
    stored = load_corrections(dataset_dir)
    spans = clip_spans(dataset_dir)
    if not spans:
        return stored
    lists = {entry.audio: (split, entry.text) for split, name in (("train", TRAIN_FILE), ("validation", VALIDATION_FILE))
             for entry in read_list(dataset_dir / name)[0]}
    current = []
    for clip, span in spans.items():
        key = _key(span)
        split, text = lists.get(clip, (DROP, None))
        made_text, made_split = clean_text(span.get("text", "")), span.get("split")
        correction = Correction(key, text if text is not None and clean_text(text) != made_text else None,
                                split if split != made_split else None, made_text)
        if correction.text is not None or correction.split is not None:
            current.append(correction)
    keys = [_key(span) for span in spans.values()]
    elsewhere = [c for c in stored if not any(c.key.distance(k) is not None for k in keys)]
    merged = elsewhere + current
    if merged != stored:
        save_corrections(dataset_dir, merged)
    return merged


def follow_renamed_recording(dataset_dir: Path, old: str, new: str) -> bool:
    """A recording of this dataset's voice was renamed from `old` to `new` (paths inside the voice folder):
    its corrections, clip spans and cached transcript follow it, so preparing again still places them and
    does not transcribe it again. Returns True when anything referred to it."""
    from .cache import CACHE_FILE
    changed = False
    corrections = load_corrections(dataset_dir)
    if any(c.key.source == old for c in corrections):
        save_corrections(dataset_dir, [Correction(ClipKey(new, c.key.start, c.key.end), c.text, c.split, c.transcribed)
                                       if c.key.source == old else c for c in corrections])
        changed = True
    for name, rename in ((REPORT_FILE, _rename_in_spans), (CACHE_FILE, _rename_in_cache)):
        path = dataset_dir / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if rename(data, old, new):
            write_json(path, data)
            changed = True
    return changed


def _rename_in_spans(report: dict, old: str, new: str) -> bool:
    spans = [span for span in (report.get("clip_spans") or {}).values() if span.get("source") == old]
    for span in spans:
        span["source"] = new
    return bool(spans)


def _rename_in_cache(cache: dict, old: str, new: str) -> bool:
    files = cache.get("files") or {}
    if old not in files or new in files:
        return False
    files[new] = files.pop(old)
    return True


def previous_assignments(dataset_dir: Path) -> list[tuple[ClipKey, str]]:
    """The split prepare gave each clip last time, so preparing again keeps it (a stable split)."""
    return [(_key(span), span["split"]) for span in clip_spans(dataset_dir).values() if span.get("split") in SPLITS]


def apply_corrections(entries: list[ListEntry], spans: dict[str, dict], corrections: list[Correction],
                      previous: list[tuple[ClipKey, str]], fraction: float, seed: int) -> AppliedCorrections:
    """The lists for freshly cut clips: known clips keep last time's split, only new clips are split at random
    (seeded), and then each correction is applied to the clip at its span."""
    keys = {entry.audio: _key(spans[entry.audio]) for entry in entries}
    assigned: dict[str, str] = {}
    new = []
    for entry in entries:
        before = _nearest(keys[entry.audio], previous)
        if before is None:
            new.append(entry)
        else:
            assigned[entry.audio] = before[1]
    new_train, new_validation = split_entries(new, fraction, seed)
    assigned.update({e.audio: "train" for e in new_train} | {e.audio: "validation" for e in new_validation})

    chosen: dict[str, Correction] = {}
    unplaced = []
    for correction in corrections:
        free = [(keys[e.audio], e.audio) for e in entries if e.audio not in chosen]
        match = _nearest(correction.key, free)
        if match is None:
            unplaced.append(correction)
        else:
            chosen[match[1]] = correction
    lists: dict[str, list[ListEntry]] = {"train": [], "validation": [], DROP: []}
    for entry in entries:
        correction = chosen.get(entry.audio)
        split = (correction.split if correction else None) or assigned[entry.audio]
        text = (correction.text if correction else None) or entry.text
        lists[split].append(ListEntry(entry.audio, text))
    if not lists["train"] and lists["validation"]:
        lists["train"].append(lists["validation"].pop(0))  # train must never be empty
    return AppliedCorrections(lists["train"], lists["validation"], assigned, len(chosen), unplaced)


def _key(span: dict) -> ClipKey:
    return ClipKey(str(span["source"]), float(span["start"]), float(span["end"]))


def _nearest(key: ClipKey, candidates: list[tuple[ClipKey, str]]) -> tuple[ClipKey, str] | None:
    scored = [(d, candidate) for candidate in candidates if (d := key.distance(candidate[0])) is not None]
    return min(scored, key=lambda item: item[0])[1] if scored else None
