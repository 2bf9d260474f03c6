"""The openai-whisper backend (PyTorch). Audio is passed as arrays: reading paths needs the ffmpeg program."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...devices import resolve_device
from ...errors import UserError
from .base import Segment, Transcript, Word
from .names import model_id, not_available_message


class OpenAIWhisperTranscriber:
    def __init__(self, model, model_name: str, device: str, decode_options: dict | None = None):
        self._model = model
        self._decode_options = dict(decode_options or {})
        self.model_id = model_id("openai-whisper", model_name)
        self.device = device

    @classmethod
    def load(cls, model: str, *, device: str = "auto", decode_options: dict | None = None) -> "OpenAIWhisperTranscriber":
        """`decode_options` go to whisper's transcribe (e.g. temperature=0.0 to turn off the fallback)."""
        import whisper

        device = resolve_device(device)
        path = Path(model).expanduser()
        if path.is_dir():
            raise UserError(f"model: {path}: openai-whisper needs a .pt checkpoint file, not a folder")
        if not path.is_file() and model not in whisper.available_models():
            raise UserError(f"model: {model!r} is not an openai-whisper model name "
                            f"({', '.join(whisper.available_models())}) or a checkpoint file")
        import pickle

        try:
            loaded = whisper.load_model(str(path) if path.is_file() else model, device=device)
        except (KeyError, RuntimeError, TypeError, pickle.UnpicklingError, EOFError) as exc:
            if path.is_file():
                raise UserError(f"model: {path}: not a Whisper checkpoint ({exc})") from exc
            raise UserError(not_available_message("openai-whisper", model, exc)) from exc
        except OSError as exc:  # urllib's URLError is an OSError: no network and not cached
            raise UserError(not_available_message("openai-whisper", model, exc)) from exc
        return cls(loaded, model, device, decode_options)

    def transcribe(self, audio: np.ndarray, *, language: str | None = None) -> Transcript:
        result = self._model.transcribe(
            np.asarray(audio, dtype=np.float32), language=language or None, word_timestamps=True,
            fp16=self.device == "cuda", verbose=None, condition_on_previous_text=False, **self._decode_options)
        segments = tuple(
            Segment(float(s["start"]), float(s["end"]), str(s["text"]).strip(),
                    tuple(Word(float(w["start"]), float(w["end"]), str(w["word"])) for w in s.get("words", ())))
            for s in result["segments"])
        return Transcript(segments, result.get("language"), self.model_id)
