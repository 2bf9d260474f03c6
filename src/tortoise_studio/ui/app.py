"""Builds the Gradio app: a title, the demo banner, then one tab per module that has landed."""

from __future__ import annotations

import importlib

import gradio as gr

from ..demo import DEMO_NOTICE, is_demo_models
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


def demo_banner(ctx: AppContext) -> str:
    """The notice above every tab, shown while the models folder in Settings is a tiny random set."""
    try:
        demo = is_demo_models(ctx.models_dir())
    except Exception:  # noqa: BLE001 - an unreadable settings.json is the Settings tab's message, not the banner's
        demo = False
    return DEMO_NOTICE if demo else ""


def build_app(ctx: AppContext) -> gr.Blocks:
    with gr.Blocks(title="Tortoise Studio", analytics_enabled=False) as app:
        gr.Markdown("# Tortoise Studio\nFine-tune TorToiSe on your own recordings, then speak with the result.")
        # always in the page (empty when not a demo): Gradio 6 does not bring back a block built hidden
        banner = gr.Markdown(demo_banner(ctx), elem_id="demo-banner")
        settings_changes = []
        for title, module_name in TABS:
            module = _tab_module(module_name)
            if module is None:
                continue
            with gr.Tab(title, elem_id=f"tab-{title.lower()}"):
                parts = module.build(ctx)
            settings_changes += (parts or {}).get("settings_changed", [])
        # fresh on every page load (settings may change from another page or the command line) and after Settings
        app.load(lambda: demo_banner(ctx), None, banner, show_progress="hidden")
        for event in settings_changes:
            event.then(lambda: demo_banner(ctx), None, banner, show_progress="hidden")
    return app
