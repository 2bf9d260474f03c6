"""Text normalisers: what a transcript becomes before a tokenizer splits it.

`english` is TorToiSe's own `english_cleaners` (ASCII transliteration, lowercase, numbers and
abbreviations spelled in English, whitespace collapsed, double quotes dropped), preceded by a symbol
step for what the packaged tokenizer has no symbol for. Its alphabet is a-z, space and ! ' , - . / : ; ?
(and parentheses, which this step drops as the other brackets). Whisper writes the rest; a table of
what each becomes is in SYMBOL_WORDS and DROPPED below, and in docs/training.md.

`unicode:<lang>` is for every other language: Unicode NFKC, lowercase (a no-op for scripts without
case), numbers spelled in <lang> where num2words knows the language, brackets, quotes and markup
symbols dropped, whitespace collapsed. The script is kept: nothing is transliterated.

`romaji:ja` is the one transliterating normaliser, chosen explicitly: Japanese as above, then read into
Hepburn romaji by pykakasi (an offline dictionary), one word per reading. Kana and kanji together have far
more characters than a 255-symbol vocabulary holds; romaji fits in a few dozen.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ..errors import UserError

ENGLISH = "english"
UNICODE = "unicode"
ROMAJI = "romaji:ja"

# Symbols said as words (English). Spaces around them keep neighbouring words apart; whitespace is
# collapsed afterwards.
SYMBOL_WORDS = {"%": " percent ", "&": " and ", "@": " at ", "+": " plus ", "=": " equals "}
# Symbols that are not spoken: brackets, quotes, markup. Replaced by a space (so "a(b)" stays two words).
DROPPED = "#()[]{}<>\"«»“”„‟‹›*_~^`\\|"
_DROP = re.compile("[" + re.escape(DROPPED) + "]")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.!?;:])")
_WHITESPACE = re.compile(r"\s+")
# Currencies english_cleaners does not know once transliterated (it reads "$5" itself).
_CURRENCY_AMOUNT = re.compile(r"([£€])\s?(\d[\d,]*(?:\.\d+)?)")
_CURRENCY_WORDS = {"£": "pounds", "€": "euros", "$": "dollars"}
_BARE_DOLLAR = re.compile(r"\$(?!\s?\d)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
UNSPACED = ("ja", "zh", "th", "lo", "km", "my")  # written without spaces between words


@dataclass(frozen=True)
class Normaliser:
    """A named text normaliser; `name` is what tokenizer files and the UI show ("english", "unicode:ru")."""

    name: str

    @property
    def language(self) -> str:
        return "en" if self.name == ENGLISH else self.name.partition(":")[2]

    def __call__(self, text: str) -> str:
        if self.name == ENGLISH:
            return english(text)
        if self.name == ROMAJI:
            return romaji(text)
        return unicode_text(text, self.language)


def normaliser(name: str) -> Normaliser:
    """The normaliser called `name`; raises UserError for an unknown one."""
    kind, _, language = (name or "").partition(":")
    if name in (ENGLISH, ROMAJI) or (kind == UNICODE and re.fullmatch(r"[a-z]{2,3}", language)):
        return Normaliser(name)
    raise UserError(f"normaliser: {name!r} is not known (use {ENGLISH!r}, '{UNICODE}:<language code>' such as "
                    f"unicode:ru, or {ROMAJI!r})")


def for_language(language: str | None) -> Normaliser:
    """English (or unknown) -> TorToiSe's English cleaners; any other language keeps its own script."""
    language = (language or "en").lower()
    return Normaliser(ENGLISH) if language == "en" else normaliser(f"{UNICODE}:{language}")


def english(text: str) -> str:
    """The symbol step, then TorToiSe's english_cleaners; the result uses only the packaged tokenizer's symbols
    (other scripts become ASCII first, as TorToiSe does)."""
    from tortoise.utils.tokenizer import english_cleaners
    from unidecode import unidecode

    text = _CURRENCY_AMOUNT.sub(lambda m: f"{m[2]} {_CURRENCY_WORDS[m[1]]}", text)
    # quotes first: transliterated, some become other symbols („ -> ,,)
    text = unidecode(_drop_symbols(text).replace("£", " pounds ").replace("€", " euros "))
    text = _BARE_DOLLAR.sub(" dollars ", text)
    for symbol, words in SYMBOL_WORDS.items():
        text = text.replace(symbol, words)
    return _tidy(english_cleaners(_drop_symbols(text)))


def unicode_text(text: str, language: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _NUMBER.sub(lambda m: _spell(m[0], language), text)
    return _tidy(_drop_symbols(text).lower())


def romaji(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _NUMBER.sub(lambda m: _spell(m[0], "ja"), text)
    return _tidy(_drop_symbols(" ".join(part["hepburn"] for part in _kakasi().convert(text))).lower())


@lru_cache(maxsize=1)
def _kakasi():
    try:
        import pykakasi
    except ImportError as exc:
        raise UserError(f"normaliser: {ROMAJI!r} needs pykakasi, which is not installed "
                        "(pip install pykakasi==2.3.0)") from exc
    return pykakasi.kakasi()  # loads its dictionary once (seconds)


def _drop_symbols(text: str) -> str:
    return _DROP.sub(" ", text)


def _tidy(text: str) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


def _spell(number: str, language: str) -> str:
    """`number` in words of `language`; the digits themselves where num2words does not know the language."""
    if not _spells(language):
        return number
    from num2words import num2words
    value = float(number.replace(",", ".")) if re.search(r"[.,]", number) else int(number)
    words = num2words(value, lang=language)
    return words if language in UNSPACED else f" {words} "  # "3匹" stays one word; "21кошка" becomes two


@lru_cache(maxsize=None)
def _spells(language: str) -> bool:
    from num2words import CONVERTER_CLASSES
    return language in CONVERTER_CLASSES
