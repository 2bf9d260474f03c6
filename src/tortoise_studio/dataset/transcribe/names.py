"""Whisper backend and model names: which exist, what the transcription cache records for a model, and
the message for a named model that is neither here nor downloadable. The backends import this module,
the loader imports the backends: no cycle."""

from __future__ import annotations

import os
from pathlib import Path

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


def not_available_message(backend: str, model: str, exc: BaseException) -> str:
    """A whole message for a named model that is neither on this machine nor downloadable: what happened, and
    the two ways out. The upstream text is not quoted: it is long and was cut mid-sentence."""
    local = "a CTranslate2 Whisper folder (holding model.bin)" if backend == "faster-whisper" \
        else "an openai-whisper .pt checkpoint"
    return (f"model: the {backend} model {model!r} is not on this machine and could not be downloaded "
            f"(no internet connection, or the download failed). "
            f"Either connect to the internet and press Download in the Settings tab, or set the Whisper model "
            f"(Settings, or the Prepare options) to a local path: {local}. "
            f"`./start.sh --demo` installs Whisper base for offline use in models/whisper-base.")
