"""Which checkpoint is best, keeping its weights until it cannot be best any more, and exporting it.

The rule (metrics/series.py, docs/training.md): among the evaluated checkpoints whose voice similarity is within
SIMILARITY_BAND of the best similarity, the one with the lowest character error rate; ties go to the
higher similarity, then the earlier step. The base model (step 0) is the line to beat, never a candidate.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from ..runs.checkpoints import MODEL_FILE, checkpoints_dir
from ..errors import UserError
from ..fileio import atomic_path, backup_move
from ..text import record_path
from ..workspace import Workspace
from ..metrics.series import candidate_steps
from .store import LINKED_WEIGHTS, samples_dir

def link_weights(run_dir: Path, step: int, weights: Path) -> Path:
    """samples/<step>/model.pth as a hard link to the checkpoint's weights, so pruning by keep_last cannot
    take them while they are being scored or while they may be the best. A copy where links are not possible."""
    target = samples_dir(run_dir, step) / LINKED_WEIGHTS
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{LINKED_WEIGHTS}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(weights, tmp)
    except OSError:
        shutil.copyfile(weights, tmp)
    os.replace(tmp, target)
    return target


def release_weights(run_dir: Path, rows: pd.DataFrame) -> list[int]:
    """Drop the kept weights of checkpoints that can no longer become the best; returns their steps."""
    keep = candidate_steps(rows)
    released = []
    for link in Path(run_dir, "samples").glob(f"*/{LINKED_WEIGHTS}"):
        step = link.parent.name
        if step.isdigit() and int(step) > 0 and int(step) not in keep:
            link.unlink(missing_ok=True)
            released.append(int(step))
    return sorted(released)


def checkpoint_weights(run_dir: str | os.PathLike, step: int) -> Path | None:
    """The weights of the checkpoint at `step`: the checkpoint's own, else the evaluator's kept link."""
    for path in (checkpoints_dir(run_dir) / str(step) / MODEL_FILE, samples_dir(run_dir, step) / LINKED_WEIGHTS):
        if path.is_file():
            return path
    return None


def export_checkpoint(workspace: Workspace, run_dir: str | os.PathLike, step: int) -> Path:
    """Copy the checkpoint's weights (and the record of the tokenizer they need) to
    models/finetunes/<dataset>-<run>-step<step>.pth; an existing file of that name is first moved to
    backups/<time>/ beside it."""
    run_dir = Path(run_dir)
    weights = checkpoint_weights(run_dir, step)
    if weights is None:
        raise UserError(f"step {step}: the checkpoint's weights are gone (deleted by keep_last before they "
                        "were evaluated); set keep_last: 0 to keep every checkpoint")
    target = workspace.finetunes / f"{run_dir.parent.parent.name}-{run_dir.name}-step{step}.pth"
    record = _tokenizer_record(run_dir, step, weights)
    backup_move(target.parent, [target.name, record_path(target).name])
    with atomic_path(target) as tmp:
        shutil.copyfile(weights, tmp)
    if record is not None:
        with atomic_path(record_path(target)) as tmp:
            shutil.copyfile(record, tmp)
    return target


def _tokenizer_record(run_dir: Path, step: int, weights: Path) -> Path | None:
    """The JSON naming the tokenizer the weights were trained with: beside them, else in the checkpoint's
    own folder (the evaluator may hold a link to the weights alone)."""
    for candidate in (record_path(weights), record_path(checkpoints_dir(run_dir) / str(step) / MODEL_FILE)):
        if candidate.is_file():
            return candidate
    return None
