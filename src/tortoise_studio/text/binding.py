"""Which tokenizer a model needs: a small JSON beside its weights (<weights>.json, e.g. checkpoints/<step>/model.json
or models/finetunes/<name>.json) names the tokenizer and its sha256. Weights without one (TorToiSe's published
model, fine-tunes from before) need TorToiSe's English tokenizer."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from ..errors import UserError
from ..workspace import Workspace
from .normalise import ENGLISH
from .tokenizer import TextTokenizer, TokenizerRecord, load_tokenizer


def record_path(weights: str | os.PathLike) -> Path:
    return Path(weights).with_suffix(".json")


def write_record(weights: str | os.PathLike, record: TokenizerRecord) -> Path:
    """Write the record beside `weights` (atomically: a reader never sees half of it)."""
    path = record_path(weights)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"tokenizer": asdict(record)}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_record(weights: str | os.PathLike | None) -> TokenizerRecord | None:
    """The tokenizer recorded beside `weights`, or None when there is no record (English)."""
    if weights is None:
        return None
    path = record_path(weights)
    if not path.is_file():
        return None
    try:
        return TokenizerRecord(**json.loads(path.read_text(encoding="utf-8"))["tokenizer"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a readable tokenizer record ({exc})") from exc


def model_tokenizer_name(weights: str | os.PathLike | None) -> str:
    record = read_record(weights)
    return record.name if record else ENGLISH


def tokenizer_for_model(workspace: Workspace, weights: str | os.PathLike | None, *,
                        requested: str | None = None) -> TextTokenizer:
    """The tokenizer the model at `weights` was trained with (None: the base model, English).

    A requested tokenizer other than the model's own, a missing tokenizer file, or one that changed since
    the model was trained is refused with a message naming both.
    """
    record = read_record(weights)
    needed = record.name if record else ENGLISH
    model = str(weights) if weights else "the base model"
    if requested and requested != needed:
        raise UserError(f"tokenizer {requested!r} and model {model} do not belong together: the model was trained "
                        f"with tokenizer {needed!r}")
    try:
        tokenizer = load_tokenizer(workspace, needed)
    except UserError as exc:
        raise UserError(f"model {model} needs tokenizer {needed!r}, which cannot be loaded: {exc}") from exc
    if record and tokenizer.sha256 != record.sha256:
        raise UserError(f"model {model} and tokenizer {tokenizer.path} do not belong together: the model was trained "
                        f"with {needed!r} sha256 {record.sha256[:12]}, the file now has {tokenizer.sha256[:12]} "
                        f"(it was trained again; an older version may be in {tokenizer.path.parent / 'backups'})")
    return tokenizer


def check_fits(tokenizer: TextTokenizer, number_text_tokens: int, model: str) -> None:
    """Refuse a tokenizer with ids the model's text embedding has no row for (id number_text_tokens is its start token)."""
    if tokenizer.size > number_text_tokens:
        raise UserError(f"tokenizer {tokenizer.name!r} has {tokenizer.size} symbols (ids up to {tokenizer.size - 1}), "
                        f"but model {model} has {number_text_tokens} text symbols; they do not belong together")
