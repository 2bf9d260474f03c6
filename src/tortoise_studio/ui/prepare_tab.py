"""Prepare tab: add recordings to a voice, transcribe and slice it into a dataset, proofread the clips."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import replace
from typing import Any

import gradio as gr
import pandas as pd

from ..dataset import (ClipRow, PrepareOptions, PrepareReport, load_clip_table, prepare_all_voices,
                       prepare_dataset, save_clip_table)
from ..dataset.advice import speech_advice
from ..dataset.proofread import unsaved_changes
from ..dataset.uploads import add_recordings
from ..errors import UserError
from ..settings import remember_whisper, whisper_model_location
from ..dataset.transcribe import BACKENDS
from ..text import tokenizer_for_dataset
from . import tokenizer_section
from .context import AppContext
from .lists import kept_choice

CLIP_COLUMNS = ["clip", "seconds", "text", "split", "flag", "as trained"]  # flagged clips come first
SKIPPED_COLUMNS = ["file", "clip", "reason"]
HISTOGRAM_BINS = list(range(0, 13))  # whole seconds, 0 to 12 (clips are at most 11.6 s)
# The chart sorts its bars by label, as text (0-1, 1-2, 10-11, 2-3, ...), and draws nothing when given the
# order as a list (Gradio 6.17): labels padded on the left with a space sort as text in number order.
HISTOGRAM_LABELS = [f"{low:>2}-{high}" for low, high in zip(HISTOGRAM_BINS, HISTOGRAM_BINS[1:])]
SPLITS = ["train", "validation", "drop"]


def voice_choices(ctx: AppContext) -> list[str]:
    return ctx.workspace.list_voices()


def add_files_handler(ctx: AppContext, files: list[str] | None, new_voice: str, voice: str | None):
    """Copy uploads into the named new voice (or the selected one); returns status and the voice dropdown."""
    target = (new_voice or "").strip() or (voice or "")
    try:
        if not target:
            raise UserError("voice: type a new voice name or choose a voice to add the files to")
        added = add_recordings(ctx.workspace, target, list(files or []))
    except UserError as exc:
        return f"**Not added:** {exc}", gr.update()
    return added.describe(target), gr.update(choices=voice_choices(ctx), value=target)


def options_from(backend: str, model: str, language: str, fraction: float | None, seed: float | None, trim: bool,
                 redo: bool) -> PrepareOptions:
    """The form's options, checked: a bad number raises UserError naming its field (the fields declare no
    minimum or maximum, so that this message, not Gradio's nameless one, reaches the page)."""
    if fraction is None:
        raise UserError("validation_fraction: enter a number from 0 up to (not including) 1, such as 0.05")
    if seed is None or not math.isfinite(seed) or seed != int(seed):
        raise UserError(f"seed: {seed!r} is not allowed; enter a whole number")
    options = PrepareOptions(backend=backend, model=(model or "").strip(),
                             language=(language or "").strip() or None, validation_fraction=float(fraction),
                             seed=int(seed), trim_silence=bool(trim), redo=bool(redo))
    return options.validated()


def prepare_handler(ctx: AppContext, voice: str | None, backend: str, model: str, language: str, fraction: float,
                    seed: float, trim: bool, redo: bool, progress=None, table: pd.DataFrame | None = None):
    """Prepare one voice; returns (status, summary, histogram, skipped, clip table). Errors go to the status.

    `table` is the clip table as shown: edits in it that were not saved stop the prepare (nothing typed is
    lost without the user's choice: save them, or reload the table to let them go)."""
    try:
        if not voice:
            raise UserError("voice: choose a voice to prepare")
        options = _options(ctx, backend, model, language, fraction, seed, trim, redo)
        if table is not None and voice in ctx.workspace.list_datasets():
            unsaved = unsaved_changes(ctx.workspace.dataset_dir(voice), rows_from(table))
            if unsaved:
                raise UserError(f"clips: {unsaved} edited row(s) in the clip table are not saved; press "
                                f"Save corrections first (or choose the voice again to discard them)")
        report = prepare_dataset(ctx.workspace, voice, options, progress=_progress_adapter(progress))
    except UserError as exc:
        return (f"**Prepare failed:** {exc}",) + _empty_results()
    except Exception as exc:  # noqa: BLE001 - anything unexpected must still reach the page
        return (f"**Prepare failed:** {type(exc).__name__}: {exc}",) + _empty_results()
    status = " ".join(filter(None, [f"Prepared **{voice}** into `{report.dataset_dir}`.", corrections_note(report)]))
    return (status,) + report_views(ctx, report)


def corrections_note(report: PrepareReport) -> str:
    """How many of the user's corrections preparing again kept, and how many it could not place."""
    kept, unplaced = report.corrections.get("kept", 0), len(report.corrections.get("unplaced", []))
    if not kept and not unplaced:
        return ""
    note = f"Kept {kept} of your corrections"
    if unplaced:
        note += (f"; **{unplaced} could not be placed** (their clips no longer exist); they stay in "
                 f"`{report.corrections.get('file', 'corrections.json')}`")
    return note + "."


def _options(ctx: AppContext, backend, model, language, fraction, seed, trim, redo) -> PrepareOptions:
    """The form's options with the Whisper model as the transcriber loads it; the backend and model are
    remembered in Settings, so a typed path is what the next page load shows."""
    options = options_from(backend, model, language, fraction, seed, trim, redo)
    remember_whisper(ctx.workspace, options.backend, options.model)
    return replace(options, model=whisper_model_location(ctx.workspace, options.model))


def prepare_all_handler(ctx: AppContext, backend: str, model: str, language: str, fraction: float, seed: float,
                        trim: bool, redo: bool, progress=None):
    try:
        options = _options(ctx, backend, model, language, fraction, seed, trim, redo)
        results = prepare_all_voices(ctx.workspace, options, progress=_progress_adapter(progress))
    except UserError as exc:
        return (f"**Prepare all failed:** {exc}",) + _empty_results()
    lines = []
    for voice, result in results.items():
        if isinstance(result, PrepareReport):
            lines.append(f"- **{voice}**: {result.clips} clips, {result.total_minutes:.1f} min")
        else:
            lines.append(f"- **{voice}**: failed: {result}")
    last = next((r for r in reversed(list(results.values())) if isinstance(r, PrepareReport)), None)
    views = report_views(ctx, last) if last else _empty_results()
    return ("Prepared all voices:\n" + "\n".join(lines),) + views


def report_views(ctx: AppContext, report: PrepareReport):
    summary = (f"**{report.clips} clips** ({report.train_clips} train, {report.validation_clips} validation), "
               f"**{report.total_minutes:.2f} minutes** from {report.files_used} of {report.source_files} files; "
               f"{len(report.skipped)} skipped."
               + (f" **{len(report.flagged)} flagged** (an edge inside speech): they come first in the table."
                  if report.flagged else "")
               + (f" Previous dataset kept in `{report.backup}/`." if report.backup else "")
               + "\n\n" + speech_advice(report.total_seconds, report.clips).message)
    skipped = pd.DataFrame([[s.get("file", ""), s.get("clip", ""), s.get("reason", "")] for s in report.skipped],
                           columns=SKIPPED_COLUMNS)
    return summary, duration_histogram(list(report.clip_seconds.values())), skipped, clip_table(ctx, report.dataset)


def duration_histogram(seconds: list[float]) -> pd.DataFrame:
    counts = pd.cut(pd.Series(seconds, dtype=float), HISTOGRAM_BINS, right=False).value_counts(sort=False)
    return pd.DataFrame({"seconds": HISTOGRAM_LABELS, "clips": counts.values.astype(int)})


def clip_table(ctx: AppContext, dataset: str | None) -> pd.DataFrame:
    if not dataset:
        return pd.DataFrame(columns=CLIP_COLUMNS)
    # "as trained": through the tokenizer trained on this dataset, else TorToiSe's English one
    rows = load_clip_table(ctx.workspace.dataset_dir(dataset), tokenizer_for_dataset(ctx.workspace, dataset))
    return pd.DataFrame([[r.clip, r.seconds, r.text, r.split, r.flag, r.as_trained] for r in rows],
                        columns=CLIP_COLUMNS)


def saved_report(ctx: AppContext, dataset: str | None) -> PrepareReport | None:
    """What the last Prepare of `dataset` reported (its dataset.json), or None when it was never prepared."""
    if not dataset or dataset not in ctx.workspace.list_datasets():
        return None
    path = ctx.workspace.dataset_dir(dataset) / "dataset.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    known = {f.name for f in dataclasses.fields(PrepareReport)}
    try:
        return PrepareReport(**{k: v for k, v in data.items() if k in known})
    except TypeError:  # written by another version, missing a field: show the clips only
        return None


def load_table_handler(ctx: AppContext, voice: str | None):
    """A voice's dataset as the last Prepare left it: (summary, histogram, skipped, clips, message)."""
    try:
        report = saved_report(ctx, voice)
        views = report_views(ctx, report) if report else ("", duration_histogram([]),
                                                           pd.DataFrame(columns=SKIPPED_COLUMNS), clip_table(ctx, voice))
        return (*views, "")
    except UserError as exc:
        return ("", duration_histogram([]), pd.DataFrame(columns=SKIPPED_COLUMNS), pd.DataFrame(columns=CLIP_COLUMNS),
                f"**Could not read the clips:** {exc}")


def save_table_handler(ctx: AppContext, voice: str | None, table: pd.DataFrame):
    """Save edited texts and splits ("train", "validation" or "drop") back to train.txt / validation.txt."""
    try:
        if not voice:
            raise UserError("voice: choose the voice whose clips to save")
        rows = rows_from(table)
        backup = save_clip_table(ctx.workspace.dataset_dir(voice), rows)
    except UserError as exc:
        return f"**Not saved:** {exc}", gr.update()
    kept = f" (previous lists kept in `{backup.parent.name}/{backup.name}/`)" if backup else ""
    return f"Saved the clip list{kept}.", clip_table(ctx, voice)


def rows_from(table: pd.DataFrame) -> list[ClipRow]:
    return [ClipRow(str(r["clip"]), float(r["seconds"] or 0), str(r["text"]), str(r["split"]).strip().lower())
            for _, r in table.iterrows() if str(r["clip"]).strip()]


def select_clip_handler(ctx: AppContext, voice: str | None, table: pd.DataFrame, evt: gr.SelectData):
    """The selected row: its clip for the player, its split for the split choice, and the row's number."""
    nothing = None, gr.update(value=None, interactive=False, label="Split of the selected clip"), None
    if not voice or evt.index is None:
        return nothing
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    if row >= len(table):
        return nothing
    clip, split = str(table.iloc[row]["clip"]), str(table.iloc[row]["split"]).strip().lower()
    path = ctx.workspace.dataset_dir(voice) / clip
    return (str(path) if path.is_file() else None,
            gr.update(value=split if split in SPLITS else None, interactive=True, label=f"Split of {clip}"), row)


def set_split_handler(table: pd.DataFrame, row: int | None, split: str | None) -> pd.DataFrame | dict:
    """The table with the selected row's split set (saved with the other corrections by Save)."""
    if row is None or split not in SPLITS or row >= len(table):
        return gr.update()
    table = table.copy()
    table.iloc[row, table.columns.get_loc("split")] = split
    return table


def _progress_adapter(progress):
    if progress is None:
        return None

    def report(update) -> None:
        fraction = update.done / update.total if update.total else 1.0
        progress(fraction, desc=update.describe())
    return report


def whisper_fields(ctx: AppContext) -> tuple[Any, Any]:
    """The Whisper backend and model kept in Settings; an unreadable settings.json (the Settings tab says so)
    leaves the fields as they are."""
    try:
        settings = ctx.settings()
    except UserError:
        return gr.update(), gr.update()
    return settings.whisper_backend, settings.whisper_model


def _empty_results():
    return "", duration_histogram([]), pd.DataFrame(columns=SKIPPED_COLUMNS), gr.update()


def build(ctx: AppContext) -> dict:
    voices = voice_choices(ctx)
    gr.Markdown("Add recordings to a voice, then **Prepare** transcribes them with Whisper and slices them into "
                "training clips. Prepare never changes the files under `voices/`.")
    with gr.Row():
        voice = gr.Dropdown(label="Voice", choices=voices, value=voices[0] if voices else None,
                            elem_id="prepare-voice", scale=3)
        refresh = gr.Button("Refresh", elem_id="prepare-refresh", scale=1)
    with gr.Accordion("Add recordings", open=not voices):
        upload = gr.File(label="Recordings (wav, flac, mp3, ogg, m4a, opus, ...)", file_count="multiple",
                         elem_id="prepare-upload")
        new_voice = gr.Textbox(label="New voice name (leave empty to add to the selected voice)",
                               elem_id="prepare-new-voice")
        add = gr.Button("Add to voice", elem_id="prepare-add")
    saved = ctx.settings_or_defaults()
    with gr.Accordion("Options", open=False):
        with gr.Row():
            # read from Settings again on every page load and Settings change (ui/app.py): Prepare remembers
            # what it last used there
            backend = gr.Dropdown(label="Whisper backend", choices=list(BACKENDS), value=saved.whisper_backend,
                                  elem_id="prepare-backend")
            model = gr.Textbox(label="Whisper model (name or local path)", value=saved.whisper_model,
                               elem_id="prepare-model",
                               info="kept in Settings; a relative path is taken from the workspace folder")
            language = gr.Textbox(label="Language (auto or a code such as en)", value="auto",
                                  elem_id="prepare-language")
        with gr.Row():
            # no minimum/maximum: options_from answers a bad value with a message naming the field
            fraction = gr.Number(label="Validation fraction (0 to below 1)", value=0.05,
                                 elem_id="prepare-validation-fraction")
            seed = gr.Number(label="Split seed", value=0, precision=0, elem_id="prepare-seed")
            trim = gr.Checkbox(label="Trim silence at clip ends", value=False, elem_id="prepare-trim")
            redo = gr.Checkbox(label="Transcribe again (ignore whisper.json)", value=False, elem_id="prepare-redo")
    with gr.Row():
        run = gr.Button("Prepare", variant="primary", elem_id="prepare-run")
        run_all = gr.Button("Prepare all voices", elem_id="prepare-run-all")
    status = gr.Markdown(elem_id="prepare-status")
    summary = gr.Markdown(elem_id="prepare-summary")
    with gr.Row():
        histogram = gr.BarPlot(duration_histogram([]), x="seconds", y="clips", title="Clip durations",
                               x_title="seconds", y_title="clips", sort="x", elem_id="prepare-histogram")
        skipped = gr.Dataframe(pd.DataFrame(columns=SKIPPED_COLUMNS), label="Skipped", interactive=False,
                               wrap=True, column_widths=["30%", "20%", "50%"], elem_id="prepare-skipped")
    gr.Markdown("**Clips**: click a row to listen and to choose its split (train, validation or drop); edit a "
                "text in the table; then save. *As trained* is the text after the tokenizer's normaliser (the "
                "tokenizer trained on this dataset, else TorToiSe's English one). Clips with a **flag** (an edge "
                "inside speech) come first: check them.")
    # the page load fills the table (see read_lists_on): a value built here would be the one of server start
    clips = gr.Dataframe(pd.DataFrame(columns=CLIP_COLUMNS), label="Clips", interactive=True, wrap=True,
                         datatype=["str", "number", "str", "str", "str", "str"], static_columns=[0, 1, 3, 4, 5],
                         column_widths=["17%", "7%", "36%", "10%", "12%", "18%"], elem_id="prepare-clips")
    with gr.Row():
        player = gr.Audio(label="Selected clip", type="filepath", interactive=False, elem_id="prepare-player")
        split = gr.Radio(SPLITS, value=None, label="Split of the selected clip", interactive=False,
                         elem_id="prepare-split")
        selected_row = gr.State(None)
        save = gr.Button("Save corrections", elem_id="prepare-save")
    save_status = gr.Markdown(elem_id="prepare-save-status")
    with gr.Accordion("Tokenizer (another language)", open=False, elem_id="tokenizer-section"):
        tokenizer = tokenizer_section.build(ctx)

    option_inputs = [backend, model, language, fraction, seed, trim, redo]
    results = [status, summary, histogram, skipped, clips]

    def on_prepare(v, b, m, lang, f, s, t, r, table, progress=gr.Progress()):
        return prepare_handler(ctx, v, b, m, lang, f, s, t, r, progress=progress, table=table)

    def on_prepare_all(b, m, lang, f, s, t, r, progress=gr.Progress()):
        return prepare_all_handler(ctx, b, m, lang, f, s, t, r, progress=progress)

    def on_select(v, table, evt: gr.SelectData):
        return select_clip_handler(ctx, v, table, evt)

    def on_show(current):
        names = voice_choices(ctx)
        return kept_choice(names, current, names[0] if names else None)

    dataset_views = [summary, histogram, skipped, clips, save_status]

    def read_lists_on(triggers):
        # the voice list, then the chosen voice's dataset as its last Prepare left it
        gr.on(triggers, on_show, voice, voice, show_progress="hidden").then(
            lambda v: load_table_handler(ctx, v), voice, dataset_views, show_progress="hidden")

    # what the user types is kept in Settings at once, so a reload shows it again
    def remember(b, m):
        if b and (m or "").strip():
            remember_whisper(ctx.workspace, b, m.strip())

    model.blur(remember, [backend, model], None)
    backend.input(remember, [backend, model], None)
    refresh.click(on_show, voice, voice)
    add.click(lambda f, n, v: add_files_handler(ctx, f, n, v), [upload, new_voice, voice], [status, voice])
    voice.change(lambda v: load_table_handler(ctx, v), voice, dataset_views)
    run.click(on_prepare, [voice, *option_inputs, clips], results)
    run_all.click(on_prepare_all, option_inputs, results)
    clips.select(on_select, [voice, clips], [player, split, selected_row])
    split.input(set_split_handler, [clips, selected_row, split], clips)
    save.click(lambda v, t: save_table_handler(ctx, v, t), [voice, clips], [save_status, clips])
    return {"read_lists_on": read_lists_on, "split": split, "voice": voice, "upload": upload, "new_voice": new_voice,
            "backend": backend, "model": model, "run": run, "status": status, "summary": summary, "clips": clips,
            "player": player, "save": save, "tokenizer": tokenizer,
            "follow_settings": (lambda: whisper_fields(ctx), [backend, model])}
