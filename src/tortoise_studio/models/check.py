"""`models check`: does every file of a models folder load into its model?"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

from .files import MODEL_FILES, ModelFileError
from .loader import LOADERS


@dataclass(frozen=True)
class ModelStatus:
    file: str
    status: str  # "ok" | "missing" | "error"
    detail: str = ""


def check_models(models_dir: str | Path) -> list[ModelStatus]:
    """One status per expected file, each found by actually loading the file through the loader."""
    return [check_model(models_dir, kind) for kind in MODEL_FILES]


def check_model(models_dir: str | Path, kind: str) -> ModelStatus:
    name = MODEL_FILES[kind]
    path = Path(models_dir) / name
    if not path.is_file():
        return ModelStatus(name, "missing", f"not found in {Path(models_dir)}")
    try:
        model = LOADERS[kind](models_dir)
    except ModelFileError as exc:
        return ModelStatus(name, "error", str(exc))
    except Exception as exc:  # a broken file can fail deep inside torch; report it, don't crash the table
        return ModelStatus(name, "error", f"{path}: {type(exc).__name__}: {exc}")
    params = sum(p.numel() for p in model.parameters())
    del model
    gc.collect()  # full-size models are gigabytes: free each before loading the next
    return ModelStatus(name, "ok", f"{params:,} parameters")
