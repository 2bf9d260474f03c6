"""Where a configuration's things are: its workspace, its models folder and the weights it starts from."""

from __future__ import annotations

import os
from pathlib import Path

from ..workspace import MODEL_FILE
from ..models.files import MODEL_FILES
from ..workspace import Workspace, default_root
from .schema import TrainingConfig


def workspace_for_config(config_path: str | os.PathLike) -> Workspace:
    """The workspace of a run's train.yaml (<root>/training/<dataset>/runs/<run>/train.yaml), else the default."""
    path = Path(config_path).expanduser().resolve()
    parents = path.parents
    if len(parents) > 4 and parents[1].name == "runs" and parents[3].name == "training":
        return Workspace(parents[4])
    return Workspace(default_root())


def _from_root(value: str, workspace: Workspace) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else workspace.root / path


def resolve_paths(cfg: TrainingConfig, workspace: Workspace) -> tuple[Path, Path]:
    """(models_dir, weights to start from). Relative paths are taken from the workspace root;
    a checkpoint folder stands for its model.pth."""
    models_dir = _from_root(cfg.model.models_dir, workspace)
    if cfg.model.source == "base":
        return models_dir, models_dir / MODEL_FILES["autoregressive"]
    weights = _from_root(cfg.model.source, workspace)
    if weights.is_dir():
        weights = weights / MODEL_FILE
    return models_dir, weights
