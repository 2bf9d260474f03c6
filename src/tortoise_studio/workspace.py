"""The workspace: the one place that knows where voices, datasets, models and results live."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

MAX_NAME_LENGTH = 100
RUN_CONFIG_FILE = "train.yaml"  # what makes a folder under training/<dataset>/runs/ a run
# What else a run folder holds, named once here for every package that reads or writes it.
TRAIN_LOG = "train.log"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINTS_DIR = "checkpoints"  # checkpoints/<step>/ holds MODEL_FILE, STATE_FILE and META_FILE
MODEL_FILE = "model.pth"
STATE_FILE = "state.pth"
META_FILE = "meta.json"
SAMPLES_DIR = "samples"  # the evaluator's samples/<step>/
# Characters that are legal on Linux but break Windows copies, shells or URLs of the folder.
_FORBIDDEN_CHARS = set('/\\:*?"<>|')


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_root() -> Path:
    env = os.environ.get("TORTOISE_STUDIO_HOME")
    return Path(env).expanduser().resolve() if env else repo_root()


def safe_name(name: str, *, what: str = "name") -> str:
    """Return `name` if it is safe as a single folder or file name, else raise UserError saying why."""
    if not isinstance(name, str):
        raise UserError(f"{what}: expected text, got {type(name).__name__}")
    if name == "" or name.strip() == "":
        raise UserError(f"{what}: must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"{what} {name[:20]!r}...: longer than {MAX_NAME_LENGTH} characters")
    if name in (".", ".."):
        raise UserError(f"{what} {name!r}: '.' and '..' are not names")
    if "\x00" in name or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise UserError(f"{what} {name!r}: contains a control character")
    bad = sorted(c for c in set(name) if c in _FORBIDDEN_CHARS)
    if bad:
        raise UserError(f"{what} {name!r}: must not contain {' '.join(bad)} (path separators and shell-special characters)")
    if ".." in name:
        raise UserError(f"{what} {name!r}: must not contain '..'")
    if name[0] in ".-":
        raise UserError(f"{what} {name!r}: must not start with {name[0]!r}")
    if name != name.strip():
        raise UserError(f"{what} {name!r}: must not start or end with spaces")
    return name


@dataclass(frozen=True)
class Workspace:
    """Folders under one root; every name that becomes a path goes through `safe_name`."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike | None = None) -> "Workspace":
        return cls(Path(root).expanduser().resolve() if root else default_root())

    @property
    def voices(self) -> Path:
        return self.root / "voices"

    @property
    def training(self) -> Path:
        return self.root / "training"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def finetunes(self) -> Path:
        return self.models / "finetunes"

    @property
    def base_models(self) -> Path:
        return self.models / "tortoise"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    def voice_dir(self, voice: str) -> Path:
        return self.voices / safe_name(voice, what="voice")

    def dataset_dir(self, dataset: str) -> Path:
        return self.training / safe_name(dataset, what="dataset")

    def run_dir(self, dataset: str, run: str) -> Path:
        return self.dataset_dir(dataset) / "runs" / safe_name(run, what="run")

    def results_dir(self, voice: str) -> Path:
        return self.results / safe_name(voice, what="voice")

    def list_voices(self) -> list[str]:
        return _subfolders(self.voices)

    def list_datasets(self) -> list[str]:
        """Datasets that have a train.txt."""
        return [d for d in _subfolders(self.training) if (self.training / d / "train.txt").is_file()]

    def list_runs(self, dataset: str | None = None) -> list[Path]:
        """Run folders (those holding a train.yaml), newest first."""
        datasets = [dataset] if dataset else _subfolders(self.training)
        runs = [r for d in datasets for r in (self.training / d / "runs").glob(f"*/{RUN_CONFIG_FILE}")]
        return [r.parent for r in sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)]

    def contains(self, path: str | os.PathLike) -> bool:
        """True when `path` resolves to a place inside the workspace."""
        return Path(path).resolve().is_relative_to(self.root)

    def ensure(self) -> "Workspace":
        for folder in (self.voices, self.training, self.models, self.results):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def _subfolders(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
