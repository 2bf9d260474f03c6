"""Settings tab: the models folder, the device, and whether every model file loads."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from ..errors import UserError
from ..settings import DEVICES, save_settings
from .context import AppContext


def models_table(ctx: AppContext, models_dir: str | None = None) -> pd.DataFrame:
    from ..models import check_models  # torch and tortoise load on first use, not at start-up
    folder = ctx.settings().models_path(ctx.workspace) if models_dir is None else models_dir
    rows = [(s.file, s.status, s.detail) for s in check_models(folder)]
    return pd.DataFrame(rows, columns=["file", "status", "detail"])


def save_handler(ctx: AppContext, models_dir: str, device: str):
    settings = ctx.settings()
    settings.models_dir, settings.device = models_dir.strip(), device
    try:
        path = save_settings(ctx.workspace, settings)
    except UserError as exc:
        return f"Not saved: {exc}", gr.update()
    return f"Saved to {path}", models_table(ctx)


def build(ctx: AppContext) -> dict:
    settings = ctx.settings()
    with gr.Row():
        models_dir = gr.Textbox(label="Models folder", value=settings.models_dir, elem_id="settings-models-dir",
                                info="TorToiSe's weights (relative to the workspace). A tiny demo set works too.")
        device = gr.Dropdown(label="Device", choices=list(DEVICES), value=settings.device, elem_id="settings-device")
    with gr.Row():
        save = gr.Button("Save Settings", variant="primary", elem_id="settings-save")
        check = gr.Button("Check Models", elem_id="settings-check")
    message = gr.Markdown(elem_id="settings-message")
    table = gr.Dataframe(headers=["file", "status", "detail"], label="Model files", interactive=False,
                         elem_id="settings-models-table")
    save.click(lambda d, dev: save_handler(ctx, d, dev), [models_dir, device], [message, table])
    check.click(lambda: models_table(ctx), None, table)
    return {"models_dir": models_dir, "device": device, "table": table, "check": check}
