"""Text tokenizers: a normaliser and a BPE vocabulary in TorToiSe's format.

`english` is TorToiSe's packaged tokenizer.json with the English normaliser. Trained tokenizers are
models/tokenizers/<name>.json: a `tokenizers` library file that TorToiSe itself loads with
`VoiceBpeTokenizer(vocab_file=FILE, use_basic_cleaners=True)`, carrying the studio's metadata (language,
normaliser, where it was trained from) under model.tortoise_studio, a key the library ignores.

Encoding is TorToiSe's: normalise, write each space as the [SPACE] token, split with the vocabulary.
Ids 0, 1, 2 are [STOP], [UNK], [SPACE] in every tokenizer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..errors import UserError
from ..workspace import Workspace, safe_name
from .normalise import ENGLISH, Normaliser, normaliser

STOP, UNK, SPACE = 0, 1, 2
SPECIAL_TOKENS = ("[STOP]", "[UNK]", "[SPACE]")
METADATA_KEY = "tortoise_studio"
TOKENIZERS_DIR = "tokenizers"  # under the workspace's models/


class UnknownSymbols(UserError):
    """Text with characters the tokenizer has no symbol for (they would be trained as [UNK])."""


@dataclass(frozen=True)
class TokenizerRecord:
    """What a model needs to know about the tokenizer it was trained with (written beside its weights)."""

    name: str
    sha256: str
    language: str
    normaliser: str

    def describe(self) -> str:
        return f"{self.name} ({self.language}, normaliser {self.normaliser}, sha256 {self.sha256[:12]})"


def packaged_english_file() -> Path:
    """TorToiSe's tokenizer.json, found without importing tortoise (which imports torch)."""
    import importlib.util
    spec = importlib.util.find_spec("tortoise")
    return (Path(spec.origin).parent / "data" / "tokenizer.json").resolve()


def tokenizers_dir(workspace: Workspace) -> Path:
    return workspace.models / TOKENIZERS_DIR


def tokenizer_path(workspace: Workspace, name: str) -> Path:
    return tokenizers_dir(workspace) / f"{safe_name(name, what='tokenizer')}.json"


def list_tokenizers(workspace: Workspace) -> list[str]:
    """`english` first, then every tokenizer file under models/tokenizers."""
    folder = tokenizers_dir(workspace)
    names = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
    return [ENGLISH] + [n for n in names if n != ENGLISH]


class TextTokenizer:
    """A normaliser plus a vocabulary; `encode` gives the ids the model trains on."""

    def __init__(self, name: str, path: Path, normalise: Normaliser, *, language: str, metadata: dict | None = None):
        from tokenizers import Tokenizer
        self.name, self.path, self.normalise, self.language = name, Path(path), normalise, language
        self.metadata = metadata or {}
        try:
            self._bpe = Tokenizer.from_file(str(path))
        except Exception as exc:  # the library raises plain Exceptions for unreadable files
            raise UserError(f"tokenizer {name!r}: {path} is not a tokenizer file ({exc})") from exc

    @classmethod
    def english(cls) -> "TextTokenizer":
        return cls(ENGLISH, packaged_english_file(), normaliser(ENGLISH), language="en")

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def record(self) -> TokenizerRecord:
        return TokenizerRecord(self.name, self.sha256, self.language, self.normalise.name)

    @property
    def size(self) -> int:
        """Number of symbols; the largest id is size - 1."""
        return self._bpe.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        """Ids of `text` after normalising (what TorToiSe's VoiceBpeTokenizer.encode does for English)."""
        return self.encode_normalised(self.normalise(text))

    def encode_normalised(self, text: str) -> list[int]:
        return self._bpe.encode(text.replace(" ", SPECIAL_TOKENS[SPACE])).ids

    def encode_for_training(self, text: str) -> list[int]:
        """Ids of `text`, or UnknownSymbols naming the line and every symbol the vocabulary lacks."""
        normalised = self.normalise(text)
        ids = self.encode_normalised(normalised)
        if UNK in ids:
            raise UnknownSymbols(f"{text!r} (as trained: {normalised!r}) has symbols tokenizer {self.name!r} lacks: "
                                 f"{' '.join(self.unknown_symbols(normalised))}; correct the text or use another tokenizer")
        return ids

    def pieces(self, text: str) -> list[tuple[int, str]]:
        """(id, piece) of the normalised text, spaces shown as [SPACE]."""
        encoding = self._bpe.encode(self.normalise(text).replace(" ", SPECIAL_TOKENS[SPACE]))
        return list(zip(encoding.ids, encoding.tokens))

    def unknown_symbols(self, normalised: str) -> list[str]:
        """Characters of already-normalised text that come out as [UNK], in order of appearance."""
        seen = []
        for char in normalised:
            if char != " " and char not in seen and UNK in self._bpe.encode(char).ids:
                seen.append(char)
        return seen


def load_tokenizer(workspace: Workspace, name: str) -> TextTokenizer:
    """`english` (TorToiSe's) or models/tokenizers/<name>.json."""
    if name == ENGLISH:
        return TextTokenizer.english()
    path = tokenizer_path(workspace, name)
    if not path.is_file():
        raise UserError(f"tokenizer: {name!r} not found ({path} does not exist); train it with "
                        f"`tortoise-studio tokenizer train DATASET --name {name}` or use 'english'")
    metadata = read_metadata(path)
    return TextTokenizer(name, path, normaliser(metadata.get("normaliser", "")),
                         language=str(metadata.get("language", "")), metadata=metadata)


def read_metadata(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        metadata = data["model"][METADATA_KEY]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"tokenizer: {path} has no Tortoise Studio metadata (language, normaliser); "
                        "train it again with `tortoise-studio tokenizer train`") from exc
    if not isinstance(metadata, dict):
        raise UserError(f"tokenizer: {path}: its metadata is not a mapping")
    return metadata
