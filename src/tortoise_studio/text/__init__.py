"""Text for training and generation: normalisers by language and TorToiSe-format tokenizers."""

from __future__ import annotations

from .binding import check_fits, model_tokenizer_name, read_record, record_path, tokenizer_for_model, write_record
from .coverage import Coverage, coverage, dataset_coverage
from .normalise import ENGLISH, Normaliser, for_language, normaliser
from .tokenizer import (SPACE, STOP, UNK, TextTokenizer, TokenizerRecord, UnknownSymbols, list_tokenizers,
                        load_tokenizer, tokenizer_path, tokenizers_dir)
from .training import (MAX_SYMBOLS, TrainedTokenizer, dataset_language, dataset_texts, tokenizer_for_dataset,
                       train_tokenizer)

__all__ = ["ENGLISH", "MAX_SYMBOLS", "SPACE", "STOP", "UNK", "Coverage", "Normaliser", "TextTokenizer",
           "TokenizerRecord", "TrainedTokenizer", "UnknownSymbols", "check_fits", "coverage", "dataset_coverage",
           "dataset_language", "dataset_texts", "for_language", "list_tokenizers", "load_tokenizer",
           "model_tokenizer_name", "normaliser", "read_record", "record_path", "tokenizer_for_model",
           "tokenizer_for_dataset", "tokenizer_path", "tokenizers_dir", "train_tokenizer", "write_record"]
