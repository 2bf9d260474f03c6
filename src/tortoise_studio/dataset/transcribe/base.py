"""The one shape every Whisper backend returns: segments with times and text, words with times."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str  # as Whisper writes it, usually with its leading space


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()

    def shifted(self, offset: float) -> "Segment":
        """The same segment with every time moved by `offset` seconds."""
        words = tuple(Word(w.start + offset, w.end + offset, w.word) for w in self.words)
        return Segment(self.start + offset, self.end + offset, self.text, words)


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str | None = None
    model: str = ""  # "<backend>:<model>", what made it; the cache compares it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Transcript":
        segments = tuple(
            Segment(float(s["start"]), float(s["end"]), str(s["text"]),
                    tuple(Word(float(w["start"]), float(w["end"]), str(w["word"])) for w in s.get("words", ())))
            for s in data.get("segments", ()))
        return cls(segments, data.get("language"), str(data.get("model", "")), dict(data.get("extra", {})))


class Transcriber(Protocol):
    """A loaded Whisper model. `model_id` names backend and model, e.g. "faster-whisper:base"."""

    model_id: str

    def transcribe(self, audio: np.ndarray, *, language: str | None = None) -> Transcript:
        """Transcribe float32 mono audio at 16000 Hz, with word timestamps."""
        ...
