"""Turn one file's transcript into clip spans TorToiSe can train on (0.6 to 11.6 s, at most 200 characters).

A file that fits is one clip. Otherwise clips follow Whisper's segments: too-long segments are split at
word boundaries, too-short ones merged into a neighbour, and each clip is padded a little into the
silence around it (never into the neighbouring clip's speech). Each clip's text is the transcript of
exactly its span.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .audio import MAX_CLIP_SECONDS, MAX_TEXT_CHARS, MIN_CLIP_SECONDS
from .transcribe import Segment, Word

PAD_SECONDS = 0.15
MAX_MERGE_GAP_SECONDS = 2.0  # a short segment is not glued to speech further away than this


@dataclass(frozen=True)
class ClipSpan:
    start: float
    end: float
    text: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class DroppedSpan:
    start: float
    end: float
    text: str
    reason: str


@dataclass
class _Unit:
    start: float
    end: float
    text: str


def clean_text(text: str) -> str:
    """One line of text for train.txt: no '|' (the column separator), single spaces."""
    return re.sub(r"\s+", " ", text.replace("|", " ")).strip()


def plan_clips(segments: tuple[Segment, ...] | list[Segment], duration: float, *,
               min_seconds: float = MIN_CLIP_SECONDS, max_seconds: float = MAX_CLIP_SECONDS,
               max_chars: int = MAX_TEXT_CHARS, pad: float = PAD_SECONDS) -> tuple[list[ClipSpan], list[DroppedSpan]]:
    """Clip spans for a file of `duration` seconds, and the pieces that could not become clips (with why)."""
    spoken = [s for s in segments if clean_text(s.text)]
    whole_text = clean_text(" ".join(s.text for s in spoken))
    if not whole_text:
        return [], []
    if min_seconds <= duration <= max_seconds and len(whole_text) <= max_chars:
        return [ClipSpan(0.0, duration, whole_text)], []

    units: list[_Unit] = []
    dropped: list[DroppedSpan] = []
    for segment in spoken:
        pieces, too_long = _fit_segment(segment, max_seconds, max_chars)
        units.extend(pieces)
        dropped.extend(too_long)
    units = _merge_short(units, min_seconds, max_seconds, max_chars)
    clips = []
    for i, unit in enumerate(units):
        before = units[i - 1].end if i > 0 else 0.0
        after = units[i + 1].start if i + 1 < len(units) else duration
        start, end = _padded(unit, before, after, duration, pad, max_seconds)
        if end - start < min_seconds:
            dropped.append(DroppedSpan(start, end, unit.text, f"too short ({end - start:.2f} s < {min_seconds} s)"))
        else:
            clips.append(ClipSpan(start, end, unit.text))
    return clips, dropped


def _fit_segment(segment: Segment, max_seconds: float, max_chars: int) -> tuple[list[_Unit], list[DroppedSpan]]:
    text = clean_text(segment.text)
    words = [w for w in segment.words if w.word.strip()]
    start, end = (words[0].start, words[-1].end) if words else (segment.start, segment.end)
    if end - start <= max_seconds and len(text) <= max_chars:
        return [_Unit(start, end, text)], []
    if not words:
        return [], [DroppedSpan(start, end, text, "segment too long and has no word timestamps to split it")]
    return _split_words(words, max_seconds, max_chars)


def _split_words(words: list[Word], max_seconds: float, max_chars: int) -> tuple[list[_Unit], list[DroppedSpan]]:
    """Cut a word list into pieces of about equal length, each within both limits."""
    total_seconds = words[-1].end - words[0].start
    total_chars = len(clean_text("".join(w.word for w in words)))
    pieces_needed = max(math.ceil(total_seconds / max_seconds), math.ceil(total_chars / max_chars), 1)
    # Aim for equal pieces (no 0.3 s tail), but never past the hard limits.
    seconds_limit = min(max_seconds, total_seconds / pieces_needed * 1.15)
    chars_limit = min(max_chars, math.ceil(total_chars / pieces_needed * 1.15))
    groups: list[list[Word]] = [[]]
    for word in words:
        group = groups[-1]
        if group and (word.end - group[0].start > seconds_limit
                      or len(clean_text("".join(w.word for w in group + [word]))) > chars_limit):
            groups.append([word])
        else:
            group.append(word)
    units, dropped = [], []
    for group in groups:
        unit = _Unit(group[0].start, group[-1].end, clean_text("".join(w.word for w in group)))
        if unit.end - unit.start > max_seconds or len(unit.text) > max_chars:
            reason = "text too long" if len(unit.text) > max_chars else "too long (one word longer than a clip)"
            dropped.append(DroppedSpan(unit.start, unit.end, unit.text, reason))
        else:
            units.append(unit)
    return units, dropped


def _merge_short(units: list[_Unit], min_seconds: float, max_seconds: float, max_chars: int) -> list[_Unit]:
    units = list(units)
    i = 0
    while i < len(units):
        unit = units[i]
        if unit.end - unit.start >= min_seconds:
            i += 1
            continue
        # Merge with the closer neighbour that still fits; otherwise leave it (padding may still save it).
        candidates = []
        if i > 0:
            candidates.append((unit.start - units[i - 1].end, i - 1))
        if i + 1 < len(units):
            candidates.append((units[i + 1].start - unit.end, i + 1))
        for gap, j in sorted(candidates):
            first, second = (units[j], unit) if j < i else (unit, units[j])
            merged = _Unit(first.start, second.end, f"{first.text} {second.text}")
            if gap <= MAX_MERGE_GAP_SECONDS and merged.end - merged.start <= max_seconds and len(merged.text) <= max_chars:
                low = min(i, j)
                units[low:low + 2] = [merged]
                i = max(low - 1, 0)  # the merged unit may itself still be short
                break
        else:
            i += 1
    return units


def _padded(unit: _Unit, before: float, after: float, duration: float, pad: float,
            max_seconds: float) -> tuple[float, float]:
    # Pad into the silence, at most halfway to the neighbouring speech, and never past the file.
    start = max(0.0, unit.start - pad, (before + unit.start) / 2 if before < unit.start else unit.start)
    end = min(duration, unit.end + pad, (unit.end + after) / 2 if after > unit.end else unit.end)
    excess = (end - start) - max_seconds
    if excess > 0:  # give back padding, evenly, to stay within the limit
        start += min(excess / 2, unit.start - start)
        end = start + max_seconds if end - start > max_seconds else end
    return round(start, 3), round(end, 3)
