"""Settings tab: the models folder, the device, the Whisper model, whether every model file loads, the offline
demo, and the files section (rename, delete, trash)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd

from ..demo import set_up_demo
from ..errors import UserError
from ..settings import DEVICES, WHISPER_BACKENDS, Settings, save_settings
from . import files_section
from .context import AppContext

TABLE_COLUMNS = ["file", "status", "detail"]


def checked_folder(ctx: AppContext, models_dir: str | None = None) -> Path:
    """The folder a check looks in: the one given (as typed in the field), else the saved one; relative paths
    are taken from the workspace, as the saved setting's are."""
    if models_dir is None or not str(models_dir).strip():
        return ctx.settings().models_path(ctx.workspace)
    return Settings(models_dir=str(models_dir).strip()).models_path(ctx.workspace)


def models_table(ctx: AppContext, models_dir: str | None = None) -> pd.DataFrame:
    """One row per model file of the folder, each found by loading it; a folder that is not there is one row
    saying so (every file would otherwise read as merely missing)."""
    folder = checked_folder(ctx, models_dir)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        return pd.DataFrame([(str(folder), "missing", f"the folder {what}")], columns=TABLE_COLUMNS)
    from ..models import check_models  # torch and tortoise load on first use, not at start-up
    rows = [(s.file, s.status, s.detail) for s in check_models(folder)]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def table_update(ctx: AppContext, models_dir: str | None = None) -> dict:
    """The models table with its label naming the folder checked."""
    return gr.update(value=models_table(ctx, models_dir), label=f"Model files in {checked_folder(ctx, models_dir)}")


def save_handler(ctx: AppContext, models_dir: str, device: str, whisper_backend: str | None = None,
                 whisper_model: str | None = None):
    settings = ctx.settings_or_defaults()
    settings.models_dir, settings.device = (models_dir or "").strip(), device
    if whisper_backend is not None:
        settings.whisper_backend = whisper_backend
    if whisper_model is not None:
        settings.whisper_model = whisper_model.strip()
    try:
        path = save_settings(ctx.workspace, settings)
    except UserError as exc:
        return f"**Not saved:** {exc}", gr.update()
    return f"Saved to {path}", table_update(ctx)


def download_whisper_handler(ctx: AppContext, backend: str, model: str) -> str:
    """Download a named Whisper model into this machine's cache (needs the internet); a message either way."""
    from ..dataset.transcribe.download import download_whisper_model
    try:
        where = download_whisper_model(backend, model)
    except UserError as exc:
        return f"**Not downloaded:** {exc}"
    return f"Downloaded {backend} model **{model.strip()}** (in `{where}`); Prepare can now use it offline."


def check_handler(ctx: AppContext, models_dir: str | None = None):
    """Check the folder shown in the field (saved or not)."""
    try:
        return "", table_update(ctx, models_dir)
    except UserError as exc:
        return f"**Cannot check:** {exc}", gr.update()


def demo_handler(ctx: AppContext):
    """Set up the demo; returns (message, models folder field, models table)."""
    try:
        note = set_up_demo(ctx.workspace)
    except UserError as exc:
        return f"**Demo not set up:** {exc}", gr.update(), gr.update()
    return note, ctx.settings().models_dir, table_update(ctx)


def settings_fields(ctx: AppContext) -> tuple[str, str, str, str]:
    """The saved settings as the form shows them: models folder, device, Whisper backend and model."""
    settings = ctx.settings_or_defaults()
    return settings.models_dir, settings.device, settings.whisper_backend, settings.whisper_model


def build(ctx: AppContext) -> dict:
    # read again on every page load (ui/app.py), so a change made elsewhere shows after a reload
    shown = settings_fields(ctx)
    with gr.Row():
        models_dir = gr.Textbox(label="Models folder", value=shown[0], elem_id="settings-models-dir",
                                info="TorToiSe's weights (relative to the workspace). A tiny demo set works too.")
        device = gr.Dropdown(label="Device", choices=list(DEVICES), value=shown[1], elem_id="settings-device")
    with gr.Row():
        whisper_backend = gr.Dropdown(label="Whisper backend", choices=list(WHISPER_BACKENDS), value=shown[2],
                                      elem_id="settings-whisper-backend")
        whisper_model = gr.Textbox(label="Whisper model (a name such as base, or a local path)", value=shown[3],
                                   elem_id="settings-whisper-model",
                                   info="Prepare uses it; a relative path is taken from the workspace folder")
        download = gr.Button("Download", elem_id="settings-whisper-download", scale=0)
    with gr.Row():
        save = gr.Button("Save Settings", variant="primary", elem_id="settings-save")
        check = gr.Button("Check Models", elem_id="settings-check")
    message = gr.Markdown(elem_id="settings-message")
    table = gr.Dataframe(headers=TABLE_COLUMNS, label="Model files", interactive=False, wrap=True,
                         column_widths=["25%", "12%", "63%"], elem_id="settings-models-table")
    with gr.Accordion("Demo (no weights needed)", open=False, elem_id="settings-demo-section"):
        gr.Markdown("Makes a tiny **random** model set in `models/tiny`, chooses it here, and adds a voice `demo` "
                    "with recordings shipped in the tortoise-tts package: every step works offline on a CPU, "
                    "but the voice it makes is noise.")
        demo = gr.Button("Set up demo", elem_id="settings-demo")
    files = files_section.build(ctx)
    saved = save.click(lambda d, dev, wb, wm: save_handler(ctx, d, dev, wb, wm),
                       [models_dir, device, whisper_backend, whisper_model], [message, table])
    download.click(lambda b, m: download_whisper_handler(ctx, b, m), [whisper_backend, whisper_model], message)
    check.click(lambda d: check_handler(ctx, d), models_dir, [message, table])
    demo_done = demo.click(lambda: demo_handler(ctx), None, [message, models_dir, table])
    demo_done.then(lambda: ctx.settings_or_defaults().whisper_model, None, whisper_model)
    return {"models_dir": models_dir, "device": device, "whisper_backend": whisper_backend,
            "whisper_model": whisper_model, "download": download, "table": table, "check": check, "demo": demo,
            "message": message, "settings_changed": [saved, demo_done],
            "on_page_load": [(lambda: settings_fields(ctx), [models_dir, device, whisper_backend, whisper_model]),
                             *files["on_page_load"]]}
