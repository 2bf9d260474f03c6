"""The faster-whisper backend (CTranslate2): int8 on CPU, float16 on CUDA."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import UserError
from .base import Segment, Transcript, Word
from .names import MODEL_NAMES, model_id, not_available_message


class FasterWhisperTranscriber:
    def __init__(self, model, model_name: str, device: str):
        self._model = model
        self.model_id = model_id("faster-whisper", model_name)
        self.device = device

    @classmethod
    def load(cls, model: str, *, device: str = "auto", cpu_threads: int = 0) -> "FasterWhisperTranscriber":
        import ctranslate2
        from faster_whisper import WhisperModel
        from faster_whisper.utils import download_model

        if device == "auto":
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        path = Path(model).expanduser()
        if path.is_dir():
            if not (path / "model.bin").is_file():
                raise UserError(f"model: {path}: not a CTranslate2 Whisper folder (no model.bin)")
            location = str(path)
        elif path.is_file():
            raise UserError(f"model: {path}: faster-whisper needs a CTranslate2 model folder, not a file")
        else:
            if model not in MODEL_NAMES and "/" not in model:
                raise UserError(f"model: {model!r} is not a Whisper model name ({', '.join(MODEL_NAMES)}) or a folder")
            location = _cached_or_downloaded(model, download_model)
        compute_type = "float16" if device == "cuda" else "int8"
        try:
            whisper = WhisperModel(location, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
        except (RuntimeError, ValueError, OSError) as exc:
            raise UserError(f"model: {model}: faster-whisper could not load it ({exc})") from exc
        return cls(whisper, model, device)

    def transcribe(self, audio: np.ndarray, *, language: str | None = None) -> Transcript:
        segments, info = self._model.transcribe(
            np.asarray(audio, dtype=np.float32), language=language or None, word_timestamps=True,
            beam_size=5, condition_on_previous_text=False)
        result = tuple(
            Segment(float(s.start), float(s.end), s.text.strip(),
                    tuple(Word(float(w.start), float(w.end), w.word) for w in (s.words or ())))
            for s in segments)  # a generator: the decoding happens here
        return Transcript(result, info.language, self.model_id)


def _cached_or_downloaded(name: str, download_model) -> str:
    try:
        return download_model(name, local_files_only=True)
    except Exception:  # noqa: BLE001 - huggingface_hub raises several types for "not in the cache"
        pass
    try:
        return download_model(name)
    except Exception as exc:  # noqa: BLE001 - offline: connection or offline-mode errors of many types
        raise UserError(not_available_message("faster-whisper", name, exc)) from exc
