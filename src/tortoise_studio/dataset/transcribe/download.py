"""Fetching a named Whisper model into this machine's cache, so Prepare can later load it offline."""

from __future__ import annotations

from ...errors import UserError
from .names import BACKENDS, MODEL_NAMES, looks_like_path


def download_whisper_model(backend: str, model: str) -> str:
    """Download the named `model` for `backend` (a no-op when it is cached); returns where it now lives.

    A local path needs no download; an unknown name or a failed download (offline) is a UserError that
    says what to do instead.
    """
    if backend not in BACKENDS:
        raise UserError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    model = str(model or "").strip()
    if not model:
        raise UserError("model: name the Whisper model to download, e.g. base")
    if looks_like_path(model):
        raise UserError(f"model: {model} is a local path; only a named model (such as base) can be downloaded")
    if backend == "faster-whisper":
        return _download_faster_whisper(model)
    return _download_openai_whisper(model)


def _download_faster_whisper(model: str) -> str:
    from faster_whisper.utils import download_model
    if model not in MODEL_NAMES:
        raise UserError(f"model: {model!r} is not a Whisper model name ({', '.join(MODEL_NAMES)})")
    try:
        return download_model(model)
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many types for "offline" or "failed"
        raise UserError(_failed("faster-whisper", model, exc)) from exc


def _download_openai_whisper(model: str) -> str:
    import whisper
    if model not in whisper.available_models():
        raise UserError(f"model: {model!r} is not an openai-whisper model name ({', '.join(whisper.available_models())})")
    try:
        whisper.load_model(model, device="cpu")  # downloads into whisper's cache folder, then checks it loads
    except Exception as exc:  # noqa: BLE001 - urllib errors (offline) and checksum failures alike
        raise UserError(_failed("openai-whisper", model, exc)) from exc
    return model


def _failed(backend: str, model: str, exc: BaseException) -> str:
    return (f"model: could not download the {backend} model {model!r} ({type(exc).__name__}: this machine is "
            f"offline, or the download failed). Connect to the internet and press Download again, or set the "
            f"Whisper model to a local path (`./start.sh --demo` installs Whisper base in models/whisper-base).")
