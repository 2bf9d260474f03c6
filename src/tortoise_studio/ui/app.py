"""Builds the Gradio app: a title, then one tab per module that has landed."""

from __future__ import annotations

import importlib

import gradio as gr

from .context import AppContext

# (tab title, module with a `build(ctx)` function)
TABS = [
    ("Prepare", "tortoise_studio.ui.prepare_tab"),
    ("Train", "tortoise_studio.ui.train_tab"),
    ("Generate", "tortoise_studio.ui.generate_tab"),
    ("Settings", "tortoise_studio.ui.settings_tab"),
]


def _tab_module(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:  # the tab has not landed yet; any other missing import is a real error
            return None
        raise


def build_app(ctx: AppContext) -> gr.Blocks:
    with gr.Blocks(title="Tortoise Studio", analytics_enabled=False) as app:
        gr.Markdown("# Tortoise Studio\nFine-tune TorToiSe on your own recordings, then speak with the result.")
        for title, module_name in TABS:
            module = _tab_module(module_name)
            if module is None:
                continue
            with gr.Tab(title, elem_id=f"tab-{title.lower()}"):
                module.build(ctx)
    return app
