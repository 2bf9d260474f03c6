"""whisper.json: one transcript per source file, with the model that made it and the file's size and time.

Preparing again reuses a transcript when the same model made it for the same unchanged file, so
re-slicing or re-splitting a voice costs no Whisper time.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from .transcribe import Transcript
from ..fileio import atomic_write_json as write_json

CACHE_FILE = "whisper.json"
VERSION = 1


class TranscriptCache:
    def __init__(self, path: Path, entries: dict[str, dict] | None = None):
        self.path = path
        self.entries = entries or {}

    @classmethod
    def load(cls, dataset_dir: Path) -> "TranscriptCache":
        path = dataset_dir / CACHE_FILE
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: not readable as a transcription cache ({exc}); move it away to start afresh") from exc
        return cls(path, dict(data.get("files", {})))

    def get(self, key: str, source: Path, model_id: str, language: str | None) -> Transcript | None:
        entry = self.entries.get(key)
        if not entry or entry.get("model") != model_id or entry.get("language_requested") != language:
            return None
        stat = source.stat()
        if entry.get("size") != stat.st_size or entry.get("mtime_ns") != stat.st_mtime_ns:
            return None  # the recording changed since it was transcribed
        return Transcript.from_json(entry["transcript"])

    def put(self, key: str, source: Path, transcript: Transcript, language: str | None, duration: float) -> None:
        stat = source.stat()
        self.entries[key] = {"model": transcript.model, "language_requested": language, "size": stat.st_size,
                             "mtime_ns": stat.st_mtime_ns, "duration": round(duration, 3),
                             "transcript": transcript.to_json()}

    def save(self) -> Path:
        return write_json(self.path, {"version": VERSION, "files": self.entries})
