"""Generated speech on disk: results/<voice>/<name>.wav with a <name>.json sidecar of how it was made.

A result is never overwritten: every save takes the next free name, reserved atomically so two
generations finishing at once (the UI and a command line) cannot pick the same one.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from .audio import write_wav
from .fileio import atomic_write_json
from .synth import Speech
from .workspace import Workspace

_NUMBERED = re.compile(r"^(?P<base>.+)_(?P<n>\d{4,})$")


def save_speech(workspace: Workspace, speech: Speech, *, out: str | Path | None = None, label: str = "") -> Path:
    """Write the wav and its sidecar; returns the wav's path. `out` picks the file (or its next free variant)."""
    if out is not None:
        path = _reserve_variant(Path(out).expanduser().with_suffix(".wav"))
    else:
        path = _reserve_next(workspace.results_dir(speech.voice.name), speech.voice.name)
    try:
        write_wav(path, speech.audio, speech.sample_rate)
        sidecar = path.with_suffix(".json")
        atomic_write_json(sidecar, sidecar_data(speech, label=label))
    except BaseException:
        path.unlink(missing_ok=True)  # only the empty placeholder or our own half-written file
        raise
    return path


def sidecar_data(speech: Speech, *, label: str = "") -> dict:
    from .hashes import file_sha256
    return {
        "text": speech.text,
        "sentences": speech.sentences,
        "voice": speech.voice.voice,
        "voice_clips": [{"file": str(f), "sha256": file_sha256(f)} for f in speech.voice.files],
        "settings": asdict(speech.settings),
        "models_dir": speech.models_dir,
        "models": {kind: asdict(m) for kind, m in speech.model_files.items()},
        "tokenizer": speech.tokenizer,
        "label": label,
        "sample_rate": speech.sample_rate,
        "duration_seconds": round(speech.duration, 3),
        "compute_seconds": round(speech.compute_seconds, 3),
        "device": speech.device,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _reserve(path: Path) -> bool:
    """Create `path` empty if nothing is there; True when this call got it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    if path.with_suffix(".json").exists():  # a sidecar without its wav still holds the name
        path.unlink()
        return False
    return True


def _reserve_next(folder: Path, base: str) -> Path:
    """<base>_<nnnn>.wav, one past the highest number in the folder, so names sort in the order they were made."""
    numbers = [int(m["n"]) for p in folder.glob("*.wav") if (m := _NUMBERED.match(p.stem)) and m["base"] == base] \
        if folder.is_dir() else []
    n = max(numbers, default=0) + 1
    while not _reserve(folder / f"{base}_{n:04d}.wav"):
        n += 1
    return folder / f"{base}_{n:04d}.wav"


def _reserve_variant(path: Path) -> Path:
    """`path`, or path_1, path_2, ... when it is taken."""
    candidate, n = path, 0
    while not _reserve(candidate):
        n += 1
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
    return candidate


def list_results(workspace: Workspace, voice: str | None = None) -> list[Path]:
    """Result wavs (results/<voice>/*.wav, or every voice's), newest first."""
    folders = [workspace.results_dir(voice)] if voice else [p for p in workspace.results.glob("*") if p.is_dir()]
    wavs = [p for folder in folders for p in folder.glob("*.wav") if p.stat().st_size > 0]
    return sorted(wavs, key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)


def read_sidecar(wav: str | Path) -> dict:
    """The sidecar of a result, or {} when it has none or it is unreadable."""
    try:
        return json.loads(Path(wav).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}
