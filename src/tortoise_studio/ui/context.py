"""What every tab shares: the workspace, the settings, and long-lived service objects."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError
from ..settings import Settings, load_settings
from ..workspace import Workspace


@dataclass
class AppContext:
    workspace: Workspace
    host: str = "127.0.0.1"  # the address the UI listens on; its TensorBoard servers listen there too
    _services: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def settings(self) -> Settings:
        """Read fresh each time, so a change in the Settings tab reaches every tab at once."""
        return load_settings(self.workspace)

    def settings_or_defaults(self) -> Settings:
        """The saved settings, or the defaults when settings.json cannot be read (the Settings tab says so, and
        its Save writes a good one)."""
        try:
            return self.settings()
        except UserError:
            return Settings()

    def models_dir(self) -> Path:
        return self.settings().models_path(self.workspace)

    def service(self, name: str, factory: Callable[[], Any]) -> Any:
        """A long-lived object (a loaded TTS model, the run service), created once on first use."""
        with self._lock:
            if name not in self._services:
                self._services[name] = factory()
            return self._services[name]
