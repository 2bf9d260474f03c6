"""Whisper backends behind one interface: `load_transcriber(backend, model)` -> a `Transcriber`."""

from __future__ import annotations

from .base import Segment, Transcriber, Transcript, Word
from .loading import load_transcriber
from .names import BACKENDS, DEFAULT_BACKEND, model_id

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Segment", "Transcriber", "Transcript", "Word",
           "load_transcriber", "model_id"]
