"""Choose a backend by name and load its model by name or local path, with clear offline errors."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError
from .base import Transcriber

DEFAULT_BACKEND = "faster-whisper"
BACKENDS = ("faster-whisper", "openai-whisper")
MODEL_NAMES = ("tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
               "large-v1", "large-v2", "large-v3", "large", "turbo", "large-v3-turbo")


def looks_like_path(model: str) -> bool:
    return os.sep in model or model.startswith((".", "~")) or Path(model).suffix in (".pt", ".pth", ".bin")


def model_id(backend: str, model: str) -> str:
    """What the transcription cache records: backend plus model name, or the model's absolute path."""
    if looks_like_path(model) or Path(model).exists():
        model = str(Path(model).expanduser().resolve())
    return f"{backend}:{model}"


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


def not_available_message(backend: str, model: str, exc: BaseException) -> str:
    """A whole message for a named model that is neither on this machine nor downloadable: what happened, and
    the two ways out. The upstream text is not quoted: it is long and was cut mid-sentence."""
    local = "a CTranslate2 Whisper folder (holding model.bin)" if backend == "faster-whisper" \
        else "an openai-whisper .pt checkpoint"
    return (f"model: the {backend} model {model!r} is not on this machine and could not be downloaded "
            f"({type(exc).__name__}: no internet connection, or the download failed). "
            f"Either connect to the internet and press Download in the Settings tab, or set the Whisper model "
            f"(Settings, or the Prepare options) to a local path: {local}. "
            f"`./start.sh --demo` installs Whisper base for offline use in models/whisper-base.")
