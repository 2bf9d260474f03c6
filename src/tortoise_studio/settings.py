"""User settings that persist across restarts (settings.json in the workspace root)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .devices import DEVICES
from .errors import UserError
from .fileio import atomic_write_json
from .workspace import Workspace



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
        return self

    def models_path(self, workspace: Workspace) -> Path:
        path = Path(self.models_dir).expanduser()
        return path if path.is_absolute() else workspace.root / path


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
