"""Choose a backend by name and load its model by name or local path, with clear offline errors."""

from __future__ import annotations

from pathlib import Path

from ...errors import UserError
from .base import Transcriber
from .names import BACKENDS, DEFAULT_BACKEND, looks_like_path

def load_transcriber(backend: str = DEFAULT_BACKEND, model: str = "base", *, device: str = "auto",
                     cpu_threads: int = 0, decode_options: dict | None = None) -> Transcriber:
    """Load `model` (a name such as "base" or a local path) with `backend`.

    Raises UserError naming the backend/model when the backend is unknown, the path is missing, or a
    named model is neither cached nor downloadable (offline): the message says to pass a local path.
    `decode_options` (openai-whisper only) go to its transcribe, e.g. {"temperature": 0.0}.
    """
    if backend not in BACKENDS:
        raise UserError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    model = str(model).strip()
    if not model:
        raise UserError("model: must name a Whisper model (e.g. base) or a local path")
    if looks_like_path(model) and not Path(model).expanduser().exists():
        raise UserError(f"model: {model}: no such file or folder")
    if backend == "faster-whisper":
        from .faster import FasterWhisperTranscriber
        return FasterWhisperTranscriber.load(model, device=device, cpu_threads=cpu_threads)
    from .openai import OpenAIWhisperTranscriber
    return OpenAIWhisperTranscriber.load(model, device=device, decode_options=decode_options)
