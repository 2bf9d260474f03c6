"""Turn one file's transcript and audio into clip spans TorToiSe can train on (0.6 to 11.6 s, at most 200 characters).

How the cuts are chosen:
- Candidate cuts lie between words. Whisper's word times are often 0.1-0.3 s off, so each candidate is moved
  to the quietest moment of the real pause, measured from the audio (`pauses.EnergyTrack`), searched from the
  middle of the word before to the middle of the word after.
- Clips are whole sentences where the transcript has sentence-final punctuation, neighbouring sentences merged
  within the clip limit; a sentence too long for one clip is split at its longest pause. One search over the
  whole file (dynamic programming) picks the cuts: sentence ends in real pauses cost least, other real pauses
  more (less the longer they are), pauses shorter than 80 ms most (used only when nothing else fits); every
  clip costs a little, so short neighbours merge, a fragment under 1 s a lot, and every second beyond 7 s a
  little more, so a long clip is kept to whole sentences rather than grown to the limit.
- Each clip keeps up to 0.15 s of the pause at both ends, never past the cut, so never into the next word.
- A clip's text is exactly the words between its cuts.
- A clip whose first or last 30 ms is still speech (no usable pause) carries a flag saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .audio import MAX_CLIP_SECONDS, MAX_TEXT_CHARS, MIN_CLIP_SECONDS
from .transcribe import Segment
from .pauses import EnergyTrack, Pause, edges_in_speech

PAD_SECONDS = 0.15  # silence kept at each end of a clip
MIN_EDGE_SECONDS = 0.05  # ... of which this much stays even when the clip must shrink to fit the limit
MIN_WORD_SECONDS = 0.02  # Whisper gives some words no duration (often the first): their time is unknown
MIN_PAUSE_SECONDS = 0.08  # shorter quiet stretches are word-internal closures, not pauses
MAX_INNER_PAUSE_SECONDS = 2.0  # a clip never holds a longer silence: it is cut there
SHORT_CLIP_SECONDS = 1.0  # shorter clips are fragments, made only when nothing else fits

# Costs of the cut search (relative: only their order and rough ratios matter).
CLIP_COST = 1.0  # per clip: short neighbouring sentences are merged ...
LONG_CLIP_SECONDS = 7.0  # ... but beyond this length a clip costs more every second (whole sentences win)
LONG_CLIP_COST = 0.5  # per second beyond LONG_CLIP_SECONDS
SHORT_CLIP_COST = 8.0
SENTENCE_CUT_COST = 0.5  # at a sentence end, less the longer the pause (down to 0 at 0.5 s)
PHRASE_CUT_COST = 4.0  # inside a sentence, plus up to 4 more for a short pause
NO_PAUSE_CUT_COST = 40.0
DROP_WORD_COST = 100.0
LONG_PAUSE_SECONDS = 0.5

_SENTENCE_END = re.compile(r"[.!?…。！？]['\"”’)\]»」』]*$")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "sr.", "jr.", "vs.", "mt."}


@dataclass(frozen=True)
class ClipSpan:
    start: float
    end: float
    text: str
    flags: tuple[str, ...] = ()  # why the proofreader should listen to it first (an edge inside speech)

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class DroppedSpan:
    start: float
    end: float
    text: str
    reason: str


@dataclass(frozen=True)
class _Word:
    start: float
    end: float
    text: str  # as Whisper wrote it, with its leading space where the language uses spaces
    whole_segment: bool = False  # a segment without word timestamps, kept as one piece

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2

    @property
    def ends_sentence(self) -> bool:
        word = self.text.strip()
        return bool(_SENTENCE_END.search(word)) and word.lower() not in _ABBREVIATIONS


@dataclass(frozen=True)
class _Boundary:
    """A candidate cut before word k (k == 0: the file's start; k == len(words): its end)."""

    pause: Pause
    sentence_end: bool

    def clip_end(self, pad: float) -> float:
        return min(self.pause.cut, self.pause.start + pad)

    def clip_start(self, pad: float) -> float:
        return max(self.pause.cut, self.pause.end - pad)


def clean_text(text: str) -> str:
    """One line of text for train.txt: no '|' (the column separator), single spaces."""
    return re.sub(r"\s+", " ", text.replace("|", " ")).strip()


def ends_sentence(text: str) -> bool:
    """Whether `text` ends with sentence-final punctuation (closing quotes allowed, "Mr." not)."""
    words = text.split()
    return bool(words) and _Word(0.0, 0.0, words[-1]).ends_sentence


def plan_clips(segments: tuple[Segment, ...] | list[Segment], audio: np.ndarray, sample_rate: int, *,
               min_seconds: float = MIN_CLIP_SECONDS, max_seconds: float = MAX_CLIP_SECONDS,
               max_chars: int = MAX_TEXT_CHARS, pad: float = PAD_SECONDS) -> tuple[list[ClipSpan], list[DroppedSpan]]:
    """Clip spans (seconds into `audio`) and the pieces that could not become clips (with why)."""
    duration = len(audio) / sample_rate
    words = _words(segments, duration)
    if not words:
        return [], []
    track = EnergyTrack(audio, sample_rate)
    bounds = _boundaries(words, track, duration)
    limits = _Limits(min_seconds, max_seconds, max_chars, pad)
    clips, dropped = [], []
    for kind, a, b in _best_path(words, bounds, limits):
        if kind == "drop":
            word = words[a]
            dropped.append(DroppedSpan(round(word.start, 3), round(word.end, 3), clean_text(word.text),
                                       _drop_reason(word, bounds[a], bounds[b], limits)))
            continue
        start, end = (round(t, 3) for t in _clip_edges(bounds[a], bounds[b], limits))
        text = _text(words[a:b])
        # Judged on exactly the samples Prepare will write.
        flags = _edge_flags(audio[int(start * sample_rate):int(round(end * sample_rate))], sample_rate,
                            text, at_file_start=a == 0, at_file_end=b == len(words))
        clips.append(ClipSpan(start, end, text, flags))
    return clips, dropped


@dataclass(frozen=True)
class _Limits:
    min_seconds: float
    max_seconds: float
    max_chars: int
    pad: float


def _words(segments, duration: float) -> list[_Word]:
    """Every spoken word in time order, inside the file; a segment without word times is one piece."""
    words = []
    for segment in segments:
        if not clean_text(segment.text):
            continue
        timed = [w for w in segment.words if clean_text(w.word)]
        if timed:
            words.extend(_Word(w.start, w.end, w.word) for w in timed)
        else:
            words.append(_Word(segment.start, segment.end, " " + segment.text.strip(), whole_segment=True))
    words.sort(key=lambda w: (w.start, w.end))
    # A word without a real time is never cut from its neighbour: it joins the word before it, or the word
    # after it where it begins a sentence (or the file).
    timed: list[_Word] = []
    waiting = None
    for word in (_Word(min(max(w.start, 0.0), duration), min(max(w.end, w.start, 0.0), duration), w.text,
                       w.whole_segment) for w in words):
        if waiting is not None:
            word, waiting = _joined(waiting, word), None
        if word.end - word.start >= MIN_WORD_SECONDS:
            timed.append(word)
        elif timed and not timed[-1].ends_sentence:
            timed[-1] = _joined(timed[-1], word)
        else:
            waiting = word
    if waiting is not None:
        timed[-1:] = [_joined(timed[-1], waiting)] if timed else [waiting]
    return timed


def _joined(first: _Word, second: _Word) -> _Word:
    return _Word(min(first.start, second.start), max(first.end, second.end), first.text + second.text,
                 first.whole_segment or second.whole_segment)


def _boundaries(words: list[_Word], track: EnergyTrack, duration: float) -> list[_Boundary]:
    first, last = words[0], words[-1]
    # The file's edges: speech starts after the last real pause before the first word's middle (a cough or
    # click earlier on is left out) and ends at the first real pause after the last word's middle.
    leading = [p for p in track.quiet_runs_in(0.0, first.middle) if p.seconds >= MIN_PAUSE_SECONDS or p.start <= 0.0]
    start = Pause(0.0, leading[-1].end, 0.0) if leading else Pause(0.0, 0.0, 0.0)
    trailing = [p for p in track.quiet_runs_in(last.middle, duration)
                if p.seconds >= MIN_PAUSE_SECONDS or p.end >= track.duration]
    end = Pause(trailing[0].start, duration, duration) if trailing else Pause(duration, duration, duration)
    bounds = [_Boundary(start, False)]
    for before, after in zip(words, words[1:]):
        # Search from the middle of the word before to the middle of the word after, but never again in the
        # pause the previous candidate took (two candidates in one pause would misplace the word between).
        lo = max(before.middle, bounds[-1].pause.end if bounds[-1].pause.seconds > 0 else 0.0)
        bounds.append(_Boundary(track.pause_in(lo, max(lo, after.middle)), before.ends_sentence))
    return [*bounds, _Boundary(end, True)]


def _cut_cost(boundary: _Boundary) -> float:
    pause = boundary.pause.seconds
    if pause < MIN_PAUSE_SECONDS:
        return NO_PAUSE_CUT_COST
    shortness = 1.0 - min(pause, LONG_PAUSE_SECONDS) / LONG_PAUSE_SECONDS
    if boundary.sentence_end:
        return SENTENCE_CUT_COST * shortness
    return PHRASE_CUT_COST * (1.0 + shortness)


def _clip_edges(first: _Boundary, last: _Boundary, limits: _Limits) -> tuple[float, float]:
    """The clip's span: the speech between the two pauses plus up to `pad` of each, padding given back
    evenly when the clip would otherwise exceed the limit."""
    start, end = first.clip_start(limits.pad), last.clip_end(limits.pad)
    excess = (end - start) - limits.max_seconds
    if excess > 0:
        spare_start = max(0.0, first.pause.end - start - MIN_EDGE_SECONDS)
        spare_end = max(0.0, end - last.pause.start - MIN_EDGE_SECONDS)
        give_start = min(spare_start, max(excess / 2, excess - spare_end))
        start += give_start
        end -= min(spare_end, excess - give_start)
    return start, end


def _best_path(words: list[_Word], bounds: list[_Boundary], limits: _Limits) -> list[tuple[str, int, int]]:
    """The cheapest way to cover every word by clips and (rarely) dropped words: [(kind, first, end), ...]."""
    n = len(words)
    cost = [0.0] + [float("inf")] * n
    came_from: list[tuple[str, int] | None] = [None] * (n + 1)
    cut_costs = [0.0] + [_cut_cost(b) for b in bounds[1:-1]] + [0.0]
    for a in range(n):
        if cost[a] == float("inf"):
            continue
        _relax(cost, came_from, a + 1, cost[a] + DROP_WORD_COST + cut_costs[a + 1], ("drop", a))
        chars = -1
        for b in range(a + 1, n + 1):
            chars += len(clean_text(words[b - 1].text)) + 1
            if chars > limits.max_chars or words[b - 1].start - words[a].end > limits.max_seconds:
                break
            if b - 1 > a and bounds[b - 1].pause.seconds > MAX_INNER_PAUSE_SECONDS:
                break
            start, end = _clip_edges(bounds[a], bounds[b], limits)
            seconds = end - start
            if not limits.min_seconds <= seconds <= limits.max_seconds + 1e-9:
                continue
            clip_cost = (CLIP_COST + (SHORT_CLIP_COST if seconds < SHORT_CLIP_SECONDS else 0.0)
                         + LONG_CLIP_COST * max(0.0, seconds - LONG_CLIP_SECONDS))
            _relax(cost, came_from, b, cost[a] + clip_cost + cut_costs[b], ("clip", a))
    path = []
    b = n
    while b > 0:
        kind, a = came_from[b]
        path.append((kind, a, b))
        b = a
    return path[::-1]


def _relax(cost: list[float], came_from: list, index: int, value: float, step: tuple[str, int]) -> None:
    if value < cost[index]:
        cost[index], came_from[index] = value, step


def _text(words: list[_Word]) -> str:
    return clean_text("".join(w.text for w in words))


def _drop_reason(word: _Word, before: _Boundary, after: _Boundary, limits: _Limits) -> str:
    if len(clean_text(word.text)) > limits.max_chars:
        return "text too long"
    start, end = _clip_edges(before, after, limits)
    if after.pause.start - before.pause.end > limits.max_seconds:
        return ("segment too long and has no word timestamps to split it" if word.whole_segment
                else "too long (one word longer than a clip)")
    if end - start < limits.min_seconds:
        return f"too short ({end - start:.2f} s < {limits.min_seconds} s) and too far from other speech"
    return "could not be fitted into a clip"


def _edge_flags(clip: np.ndarray, sample_rate: int, text: str, *, at_file_start: bool,
                at_file_end: bool) -> tuple[str, ...]:
    starts_in_speech, ends_in_speech = edges_in_speech(clip, sample_rate)
    words = text.split()
    flags = []
    if starts_in_speech:
        flags.append("starts inside speech: " + ("the recording itself starts there" if at_file_start
                                                 else f"no pause before \u201c{' '.join(words[:3])}\u201d"))
    if ends_in_speech:
        flags.append("ends inside speech: " + ("the recording itself ends there" if at_file_end
                                               else f"no pause after \u201c{' '.join(words[-3:])}\u201d"))
    return tuple(flags)
