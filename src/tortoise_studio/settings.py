"""User settings that persist across restarts (settings.json in the workspace root)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .devices import DEVICES
from .errors import UserError
from .fileio import atomic_write_json
from .workspace import Workspace

WHISPER_BACKENDS = ("faster-whisper", "openai-whisper")  # transcribe.BACKENDS, without importing numpy here


@dataclass
class Settings:
    models_dir: str = "models/tortoise"  # relative paths are taken from the workspace root
    device: str = "auto"
    whisper_backend: str = "faster-whisper"
    whisper_model: str = "base"

    def validate(self) -> "Settings":
        if self.device not in DEVICES:
            raise UserError(f"device: {self.device!r} is not one of {', '.join(DEVICES)}")
        if not str(self.models_dir).strip():
            raise UserError("models_dir: must not be empty")
        if self.whisper_backend not in WHISPER_BACKENDS:
            raise UserError(f"whisper_backend: {self.whisper_backend!r} is not one of {', '.join(WHISPER_BACKENDS)}")
        if not str(self.whisper_model).strip():
            raise UserError("whisper_model: must not be empty (a model name such as base, or a local path)")
        return self

    def models_path(self, workspace: Workspace) -> Path:
        path = Path(self.models_dir).expanduser()
        return path if path.is_absolute() else workspace.root / path

    def whisper_model_location(self, workspace: Workspace) -> str:
        """What Prepare loads: a model name as it is, a relative path taken from the workspace root."""
        return whisper_model_location(workspace, self.whisper_model)


def whisper_model_location(workspace: Workspace, model: str) -> str:
    """`model` as the transcriber should load it: a name (base) unchanged, an absolute path as it is, and a
    relative path (models/whisper-base) from the workspace root, like the models folder."""
    model = str(model or "").strip()
    path = Path(model).expanduser()
    if path.is_absolute():
        return str(path)
    if "/" in model or os.sep in model or model.startswith("."):
        return str(workspace.root / path)
    return model


def load_settings(workspace: Workspace) -> Settings:
    path = workspace.settings_file
    if not path.is_file():
        return Settings()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not readable as JSON settings ({exc})") from exc
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in data.items() if k in known})


def save_settings(workspace: Workspace, settings: Settings) -> Path:
    settings.validate()
    path = workspace.settings_file
    return atomic_write_json(path, asdict(settings))


def remember_whisper(workspace: Workspace, backend: str, model: str) -> bool:
    """Keep the Whisper backend and model last used (by Prepare) in Settings; True when that changed them.
    An unreadable settings.json is left alone: the Settings tab reports it."""
    try:
        settings = load_settings(workspace)
    except UserError:
        return False
    if (settings.whisper_backend, settings.whisper_model) == (backend, model):
        return False
    settings.whisper_backend, settings.whisper_model = backend, model
    try:
        save_settings(workspace, settings)
    except UserError:
        return False
    return True
