"""Intelligibility: the character error rate of Whisper's transcript of a sample against its text."""

from __future__ import annotations

from typing import Sequence

import os
import unicodedata

import numpy as np

from ..dataset.audio import resample
from ..errors import UserError

WHISPER_RATE = 16000


def normalize_text(text: str) -> str:
    """Lower case, punctuation and symbols as spaces, single spaces: what a listener would call the same words."""
    text = unicodedata.normalize("NFKC", text).casefold()
    kept = [" " if unicodedata.category(c)[0] in "PSZC" else c for c in text]
    return " ".join("".join(kept).split())


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn a into b (characters of
    strings, or words of lists)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Edits per reference character after normalize_text, capped at 1.0: a sample that babbles on
    for ten seconds is as unintelligible as a silent one, and should not outweigh the other sentences."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return min(1.0, edit_distance(ref, hyp) / len(ref))


class CerScorer:
    """A loaded Whisper model (the transcribe/ backends) that scores samples against their texts."""

    def __init__(self, transcriber, *, language: str | None = None):
        self.transcriber = transcriber
        self.language = language

    @classmethod
    def load(cls, backend: str, model: str, *, device: str = "auto", language: str | None = None) -> "CerScorer":
        from ..dataset.transcribe import load_transcriber
        whisper_device = "cuda" if device.startswith("cuda") else device
        try:
            # the evaluator process's thread budget (OMP_NUM_THREADS) holds for CTranslate2 too
            threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
            transcriber = load_transcriber(backend, model, device=whisper_device, cpu_threads=threads)
        except UserError as exc:
            raise UserError(f"evaluation.whisper_model: {exc}. Pick a Whisper model that is here in Settings "
                            "(the one Prepare uses) or set evaluation.whisper_model to a local model path") from exc
        return cls(transcriber, language=language)

    def transcribe(self, audio: np.ndarray, sample_rate: int, language: str | None = None) -> str:
        """What Whisper hears in `audio` (any sample rate), in `language` (else the scorer's own; None: Whisper
        guesses it from the audio)."""
        audio = resample(np.asarray(audio, dtype=np.float32), sample_rate, WHISPER_RATE)
        return self.transcriber.transcribe(audio, language=language or self.language).text

    def score(self, audio: np.ndarray, sample_rate: int, text: str,
              language: str | None = None) -> tuple[str, float]:
        """(Whisper's transcript in `language`, its character error rate against `text`)."""
        transcript = self.transcribe(audio, sample_rate, language)
        return transcript, character_error_rate(text, transcript)
