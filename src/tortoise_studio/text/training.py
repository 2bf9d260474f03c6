"""Training a BPE tokenizer on a dataset's normalised transcripts, in TorToiSe's format.

The vocabulary keeps TorToiSe's special ids ([STOP] 0, [UNK] 1, [SPACE] 2) and at most 255 symbols:
the published model's text embedding has 256 rows and id 255 is its start token, so a fine-tune keeps
the embedding's shape. Words are split on whitespace and punctuation as TorToiSe's packaged
tokenizer does, so TorToiSe's own VoiceBpeTokenizer gives the same ids for normalised text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UserError
from ..fileio import atomic_write_text, backup_move
from ..workspace import Workspace, safe_name
from .normalise import ENGLISH, for_language, normaliser
from .tokenizer import METADATA_KEY, SPECIAL_TOKENS, TextTokenizer, load_tokenizer, tokenizer_path

MAX_SYMBOLS = 255  # ids 0..254; 255 is UnifiedVoice's start_text_token
MIN_SYMBOLS = len(SPECIAL_TOKENS) + 1
LIST_FILES = ("train.txt", "validation.txt")


@dataclass(frozen=True)
class TrainedTokenizer:
    tokenizer: TextTokenizer
    lines: int  # normalised lines it was trained on
    backup: Path | None  # the previous file of that name, kept


def dataset_texts(dataset_dir: Path) -> list[str]:
    """The transcripts of train.txt and validation.txt (lines without '|' are the trainer's to report)."""
    texts = []
    for name in LIST_FILES:
        path = dataset_dir / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                audio, sep, text = line.partition("|")
                if sep and text.strip():
                    texts.append(text.strip())
    return texts


def dataset_language(dataset_dir: Path) -> str | None:
    """The language prepare stored in dataset.json (given or detected by Whisper), if any."""
    try:
        report = json.loads((dataset_dir / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    language = report.get("language") or (report.get("options") or {}).get("language")
    return str(language) if language else None


def train_tokenizer(workspace: Workspace, dataset: str, *, name: str | None = None, vocab_size: int = MAX_SYMBOLS,
                    extra_text: str | Path | None = None, language: str | None = None,
                    normaliser_name: str | None = None) -> TrainedTokenizer:
    """Train models/tokenizers/<name>.json (default name: the dataset's) on the dataset's transcripts, normalised
    by `normaliser_name` (default: the language's own, see normalise.for_language)."""
    dataset_dir = workspace.dataset_dir(dataset)
    name = safe_name(name or dataset, what="name")
    if name == ENGLISH:
        raise UserError(f"name: {ENGLISH!r} is TorToiSe's own tokenizer; choose another name")
    if not MIN_SYMBOLS <= vocab_size <= MAX_SYMBOLS:
        raise UserError(f"vocab-size: {vocab_size} is not allowed; must be from {MIN_SYMBOLS} to {MAX_SYMBOLS} "
                        "(TorToiSe's text embedding has room for 255 symbols)")
    texts = dataset_texts(dataset_dir)
    if not texts:
        raise UserError(f"dataset: {dataset!r} has no transcripts in {dataset_dir / 'train.txt'}; prepare it first")
    language = (language or dataset_language(dataset_dir) or "").strip().lower()
    if not language:
        raise UserError(f"language: dataset {dataset!r} does not say its language (dataset.json has none); "
                        "prepare it again, or give --language CODE")
    normalise = normaliser(normaliser_name) if normaliser_name else for_language(language)
    lines = [normalise(t) for t in texts + _extra_lines(extra_text)]
    lines = [line for line in lines if line]
    bpe = _train(lines, vocab_size)
    metadata = {"language": language, "normaliser": normalise.name, "dataset": dataset, "lines": len(lines),
                "vocab_size": bpe.get_vocab_size(),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    backup = _write(tokenizer_path(workspace, name), bpe, metadata)
    return TrainedTokenizer(load_tokenizer(workspace, name), len(lines), backup)


def tokenizer_for_dataset(workspace: Workspace, dataset: str) -> TextTokenizer:
    """The newest tokenizer trained on `dataset`, else TorToiSe's English one (what a new run uses by default)."""
    from .tokenizer import list_tokenizers, read_metadata
    candidates = []
    for name in list_tokenizers(workspace)[1:]:
        path = tokenizer_path(workspace, name)
        try:
            if read_metadata(path).get("dataset") == dataset:
                candidates.append((path.stat().st_mtime_ns, name))
        except UserError:
            continue  # not ours to judge here; loading it by name reports what is wrong
    return load_tokenizer(workspace, max(candidates)[1]) if candidates else TextTokenizer.english()


def _extra_lines(path: str | Path | None) -> list[str]:
    if path is None or str(path).strip() == "":
        return []
    try:
        return [line.strip() for line in Path(path).expanduser().read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"extra-text: cannot read {path} as UTF-8 text ({exc})") from exc


def _train(lines: list[str], vocab_size: int):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    bpe = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS[1]))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()  # as TorToiSe's packaged tokenizer.json
    # The rarest characters give way when a script has more than the vocabulary holds (they become [UNK],
    # which the trainer reports line by line).
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  limit_alphabet=vocab_size - len(SPECIAL_TOKENS))
    bpe.train_from_iterator(lines, trainer)
    ids = [bpe.token_to_id(token) for token in SPECIAL_TOKENS]
    if ids != [0, 1, 2] or bpe.get_vocab_size() > vocab_size:  # what the model and TorToiSe rely on
        raise RuntimeError(f"trained tokenizer broke TorToiSe's layout: special ids {ids}, {bpe.get_vocab_size()} symbols")
    return bpe


def _write(path: Path, bpe, metadata: dict) -> Path | None:
    """Write the tokenizer file with its metadata; an existing one is first moved to backups/<time>/ beside
    it. Returns where the old one went, if there was one."""
    data = json.loads(bpe.to_str())
    data["model"][METADATA_KEY] = metadata
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = backup_move(path.parent, [path.name])
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return backup / path.name if backup else None
