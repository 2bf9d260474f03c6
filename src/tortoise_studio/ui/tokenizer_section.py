"""Prepare tab, Tokenizer section: train a tokenizer for another language from a dataset, see how a sentence
splits, and how many [UNK] each tokenizer leaves in a dataset. Handlers take and return plain values."""

from __future__ import annotations

import math

import gradio as gr
import pandas as pd

from .. import text
from ..errors import UserError
from .context import AppContext

COVERAGE_COLUMNS = ["tokenizer", "language", "tokens", "[UNK]", "[UNK] %", "lines skipped", "missing symbols", "note"]


NORMALISERS = [("the language's own (its script kept)", ""), ("Japanese read as romaji", "romaji:ja")]


def train_handler(ctx: AppContext, dataset: str | None, name: str, vocab_size: float | None, extra_file: str | None,
                  normaliser: str | None = None):
    """(status, tokenizer dropdown update): trains models/tokenizers/<name>.json from the dataset's transcripts."""
    try:
        if not dataset:
            raise UserError("dataset: choose a prepared dataset to train the tokenizer on")
        if vocab_size is None or not math.isfinite(vocab_size) or vocab_size != int(vocab_size):
            raise UserError(f"vocab size: {vocab_size!r} is not allowed; enter a whole number up to {text.MAX_SYMBOLS}")
        trained = text.train_tokenizer(ctx.workspace, dataset, name=(name or "").strip() or None,
                                       vocab_size=int(vocab_size), extra_text=extra_file,
                                       normaliser_name=normaliser or None)
    except UserError as exc:
        return f"**Not trained:** {exc}", gr.update()
    tokenizer = trained.tokenizer
    kept = f" The previous file was kept as `{trained.backup.name}`." if trained.backup else ""
    status = (f"Trained tokenizer **{tokenizer.name}**: {tokenizer.size} symbols, language `{tokenizer.language}`, "
              f"normaliser `{tokenizer.normalise.name}`, from {trained.lines} lines; saved as `{tokenizer.path}`. "
              f"Use it with `tokenizer: {tokenizer.name}` in the training configuration.{kept}")
    return status, gr.update(choices=text.list_tokenizers(ctx.workspace), value=tokenizer.name)


def split_handler(ctx: AppContext, name: str | None, sentence: str) -> str:
    """Markdown: the normalised sentence, its pieces and their ids."""
    try:
        if not (sentence or "").strip():
            raise UserError("sentence: type a sentence to split")
        tokenizer = text.load_tokenizer(ctx.workspace, name or text.ENGLISH)
    except UserError as exc:
        return f"**Cannot split:** {exc}"
    pieces = tokenizer.pieces(sentence)
    unknown = sum(1 for i, _ in pieces if i == text.UNK)
    return (f"Normalised (`{tokenizer.normalise.name}`): {tokenizer.normalise(sentence)}\n\n"
            f"**{len(pieces)} pieces**{f', {unknown} [UNK]' if unknown else ''}: "
            + " · ".join(f"`{piece}`" for _, piece in pieces)
            + "\n\nids: " + " ".join(str(i) for i, _ in pieces))


def coverage_handler(ctx: AppContext, dataset: str | None) -> tuple[pd.DataFrame, str]:
    """A row per tokenizer: the dataset's tokens, [UNK] tokens and the lines the trainer would skip."""
    try:
        if not dataset:
            raise UserError("dataset: choose a prepared dataset")
        folder = ctx.workspace.dataset_dir(dataset)
        language = text.dataset_language(folder)
        rows = []
        for name in text.list_tokenizers(ctx.workspace):
            tokenizer = text.load_tokenizer(ctx.workspace, name)
            found = text.dataset_coverage(tokenizer, folder)
            # no [UNK] under English can still be wrong: its cleaners turn other scripts into ASCII
            note = f"written as ASCII, not {language}" if name == text.ENGLISH and language not in (None, "en") else ""
            rows.append([name, tokenizer.language, found.tokens, found.unknown, round(100 * found.unknown_share, 2),
                         found.lines_with_unknown, found.top_symbols(), note])
    except UserError as exc:
        return pd.DataFrame(columns=COVERAGE_COLUMNS), f"**Cannot count:** {exc}"
    note = f"Dataset **{dataset}** ({language or 'language unknown'}), {found.lines} lines."
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS), note


def build(ctx: AppContext) -> dict:
    datasets = ctx.workspace.list_datasets()
    gr.Markdown("TorToiSe's English tokenizer turns other scripts into ASCII. For another language, train a "
                "tokenizer on the dataset's transcripts, then set `tokenizer` in the training configuration.")
    with gr.Row():
        dataset = gr.Dropdown(label="Dataset", choices=datasets, value=datasets[0] if datasets else None,
                              elem_id="tokenizer-dataset", scale=3)
        refresh = gr.Button("Refresh", elem_id="tokenizer-refresh", scale=1)
    with gr.Row():
        name = gr.Textbox(label="Tokenizer name (default: the dataset's)", elem_id="tokenizer-name")
        vocab_size = gr.Number(label=f"Symbols (at most {text.MAX_SYMBOLS})", value=text.MAX_SYMBOLS, precision=0,
                               elem_id="tokenizer-vocab-size")
        normaliser = gr.Dropdown(label="Normaliser", choices=NORMALISERS, value="", elem_id="tokenizer-normaliser")
        extra = gr.File(label="More text in the language (optional, one line each)", type="filepath",
                        elem_id="tokenizer-extra")
    train = gr.Button("Train tokenizer", variant="primary", elem_id="tokenizer-train")
    status = gr.Markdown(elem_id="tokenizer-status")
    with gr.Row():
        tokenizer = gr.Dropdown(label="Tokenizer", choices=text.list_tokenizers(ctx.workspace), value=text.ENGLISH,
                                elem_id="tokenizer-choice", scale=1)
        sentence = gr.Textbox(label="Sentence", elem_id="tokenizer-sentence", scale=3)
        split = gr.Button("Split", elem_id="tokenizer-split", scale=1)
    pieces = gr.Markdown(elem_id="tokenizer-pieces")
    count = gr.Button("Count [UNK] under each tokenizer", elem_id="tokenizer-count")
    coverage_note = gr.Markdown(elem_id="tokenizer-coverage-note")
    coverage = gr.Dataframe(pd.DataFrame(columns=COVERAGE_COLUMNS), label="[UNK] per tokenizer", interactive=False,
                            wrap=True, elem_id="tokenizer-coverage")

    def on_refresh(current):
        names = ctx.workspace.list_datasets()
        return (gr.update(choices=names, value=current if current in names else (names[0] if names else None)),
                gr.update(choices=text.list_tokenizers(ctx.workspace)))

    refresh.click(on_refresh, dataset, [dataset, tokenizer])
    dataset.focus(lambda: gr.update(choices=ctx.workspace.list_datasets()), None, dataset)
    tokenizer.focus(lambda: gr.update(choices=text.list_tokenizers(ctx.workspace)), None, tokenizer)
    train.click(lambda d, n, v, f, m: train_handler(ctx, d, n, v, f, m), [dataset, name, vocab_size, extra, normaliser],
                [status, tokenizer])
    split.click(lambda t, s: split_handler(ctx, t, s), [tokenizer, sentence], pieces)
    sentence.submit(lambda t, s: split_handler(ctx, t, s), [tokenizer, sentence], pieces)
    count.click(lambda d: coverage_handler(ctx, d), dataset, [coverage, coverage_note])
    return {"dataset": dataset, "name": name, "train": train, "status": status, "tokenizer": tokenizer,
            "sentence": sentence, "split": split, "pieces": pieces, "coverage": coverage}
