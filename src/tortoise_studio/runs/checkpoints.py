"""A run's checkpoints, listed cheaply from their meta.json (no torch import): for the resume dropdown,
`--resume latest` and status; and every model a user can pick (fine-tunes and checkpoints), for the
Configure and Generate dropdowns. This is the one listing: nothing else globs checkpoint folders.

A checkpoint is checkpoints/<step>/ holding model.pth (a plain UnifiedVoice state dict), state.pth
(everything an exact resume needs) and meta.json. The trainer writes it under a temporary name and
renames it, so a folder named by a number with all three files is complete; anything else (a `.tmp-*`
folder being written, a half-deleted one) is never offered.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..workspace import CHECKPOINTS_DIR, META_FILE, MODEL_FILE, STATE_FILE, Workspace



@dataclass(frozen=True)
class CheckpointInfo:
    step: int
    epoch: float
    losses: dict = field(default_factory=dict)
    path: Path = Path()
    time: str = ""

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def label(self) -> str:
        """One line for a dropdown: step, epoch, mel loss, time."""
        mel = self.losses.get("loss_mel_ce")
        loss = f", mel loss {mel:.4f}" if isinstance(mel, (int, float)) else ""
        return f"step {self.step} (epoch {self.epoch:.2f}{loss}) {self.time[:19].replace('T', ' ')}".strip()


def checkpoints_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / CHECKPOINTS_DIR


def read_checkpoint(folder: str | os.PathLike) -> CheckpointInfo | None:
    """The checkpoint in `folder`, or None when it is incomplete or its meta.json is unreadable."""
    folder = Path(folder)
    if not all((folder / name).is_file() for name in (MODEL_FILE, STATE_FILE, META_FILE)):
        return None
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        return CheckpointInfo(step=int(meta["step"]), epoch=float(meta.get("epoch", 0.0)),
                              losses=dict(meta.get("losses") or {}), path=folder, time=str(meta.get("time", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def list_checkpoints(run_dir: str | os.PathLike) -> list[CheckpointInfo]:
    """The run's complete checkpoints, latest (highest step) first."""
    folder = checkpoints_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [read_checkpoint(p) for p in folder.iterdir() if p.is_dir() and p.name.isdigit()]
    return sorted((c for c in found if c is not None), key=lambda c: c.step, reverse=True)


def latest_checkpoint(run_dir: str | os.PathLike) -> CheckpointInfo | None:
    found = list_checkpoints(run_dir)
    return found[0] if found else None


def list_finetunes(workspace: Workspace) -> list[tuple[str, Path]]:
    """(label, file) of every exported fine-tune, models/finetunes/*.pth, by name."""
    return [(f"fine-tune: {p.stem}", p) for p in sorted(workspace.finetunes.glob("*.pth")) if p.is_file()]


def list_run_checkpoints(workspace: Workspace, dataset: str | None = None) -> list[tuple[str, Path]]:
    """(label, model.pth) of every complete checkpoint of the workspace's runs (or of one dataset's),
    newest run first and latest step first."""
    return [(f"{run.parent.parent.name}/{run.name} {c.label}", c.model_path)
            for run in workspace.list_runs(dataset) for c in list_checkpoints(run)]


def list_model_files(workspace: Workspace, dataset: str | None = None) -> list[tuple[str, Path]]:
    """Every autoregressive model a user can pick besides the base: fine-tunes, then checkpoints."""
    return list_finetunes(workspace) + list_run_checkpoints(workspace, dataset)
