"""How well a tokenizer covers a dataset: tokens, [UNK] tokens, and the lines the trainer would skip."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .tokenizer import UNK, TextTokenizer
from .training import LIST_FILES, dataset_texts

_MEMO: dict[tuple, "Coverage"] = {}  # validation asks again on every form change: answer from memory


@dataclass(frozen=True)
class Coverage:
    tokenizer: str
    lines: int
    tokens: int
    unknown: int  # [UNK] tokens
    lines_with_unknown: int  # lines the trainer skips
    symbols: Counter = field(default_factory=Counter)  # character -> lines it appears in as [UNK]

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.tokens if self.tokens else 0.0

    def top_symbols(self, n: int = 10) -> str:
        return " ".join(symbol for symbol, _ in self.symbols.most_common(n))


def coverage(tokenizer: TextTokenizer, texts: list[str]) -> Coverage:
    tokens = unknown = bad_lines = 0
    symbols: Counter = Counter()
    for text in texts:
        normalised = tokenizer.normalise(text)
        ids = tokenizer.encode_normalised(normalised)
        tokens += len(ids)
        missing = ids.count(UNK)
        if missing:
            unknown += missing
            bad_lines += 1
            symbols.update(tokenizer.unknown_symbols(normalised))
    return Coverage(tokenizer.name, len(texts), tokens, unknown, bad_lines, symbols)


def dataset_coverage(tokenizer: TextTokenizer, dataset_dir: Path) -> Coverage:
    """Coverage of train.txt and validation.txt, remembered until the lists or the tokenizer change."""
    stamps = tuple((p.stat().st_mtime_ns, p.stat().st_size) if p.is_file() else None
                   for p in (dataset_dir / name for name in LIST_FILES))
    key = (tokenizer.name, tokenizer.sha256, str(dataset_dir.resolve()), stamps)
    if key not in _MEMO:
        if len(_MEMO) > 64:
            _MEMO.clear()
        _MEMO[key] = coverage(tokenizer, dataset_texts(dataset_dir))
    return _MEMO[key]
