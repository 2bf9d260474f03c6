"""Builds the Gradio app: a title, the demo banner, then one tab per step."""

from __future__ import annotations

import importlib

import gradio as gr

from ..demo import DEMO_NOTICE, is_demo_models
from ..errors import UserError
from .context import AppContext

# (tab title, module with a `build(ctx)` function)
TABS = [
    ("Prepare", "tortoise_studio.ui.prepare_tab"),
    ("Train", "tortoise_studio.ui.train_tab"),
    ("Generate", "tortoise_studio.ui.generate_tab"),
    ("Settings", "tortoise_studio.ui.settings_tab"),
]


def demo_banner(ctx: AppContext) -> str:
    """The notice above every tab, shown while the models folder in Settings is a tiny random set."""
    try:
        demo = is_demo_models(ctx.models_dir())
    except UserError:  # an unreadable settings.json is the Settings tab's message, not the banner's
        demo = False
    return DEMO_NOTICE if demo else ""


def build_app(ctx: AppContext) -> gr.Blocks:
    with gr.Blocks(title="Tortoise Studio", analytics_enabled=False) as app:
        gr.Markdown("# Tortoise Studio\nFine-tune TorToiSe on your own recordings, then speak with the result.")
        # always in the page (empty when not a demo): Gradio 6 does not bring back a block built hidden
        banner = gr.Markdown(demo_banner(ctx), elem_id="demo-banner")
        parts = {}
        for index, (title, module_name) in enumerate(TABS):
            module = importlib.import_module(module_name)
            with gr.Tab(title, elem_id=f"tab-{title.lower()}") as tab:
                parts[title] = module.build(ctx) or {}
            # what a tab lists (voices, datasets, runs, models, results) may have changed since the page was
            # built, in another tab, another page or on the command line: each tab reads its lists again
            # whenever it is opened, and the first one, which a page opens on, when the page loads. (Read on
            # load, a hidden tab cost every page load its events, each a pass of the page over every
            # component's status, and a live run's ticks in a tab the user might never open.)
            if "read_lists_on" in parts[title]:
                parts[title]["read_lists_on"]([app.load, tab.select] if index == 0 else [tab.select])
        readers = _follow_settings(ctx, banner, parts)
        _read_on_page_load(app, readers + [r for part in parts.values() for r in part.get("on_page_load", [])])
        _keep_answers_flowing()
    return app


def _read_on_page_load(app: gr.Blocks, readers: list[tuple]) -> None:
    """One load event fills every value a page reads when it opens: each `(fn, outputs)` reader in turn, its fn
    returning a value for each output. An event costs the page a pass over every component: one per reader made
    a page load about twelve of them."""
    outputs = [output for _, reader_outputs in readers for output in reader_outputs]

    def read_all():
        return [value for fn, _ in readers for value in fn()]

    app.load(read_all, None, outputs, show_progress="hidden")


# Seconds between the page's keep-alive events (a missed answer arrives at most this late). Every event costs the
# page's Gradio client passes over each component's status (about a fifth of a CPU second an event here): 3 s
# kept an idle page 7% busy.
ANSWER_PUMP_SECONDS = 6.0


def _keep_answers_flowing() -> None:
    """A tick that keeps every answer arriving. Gradio's page client can miss one: the server closes the page's
    event stream as soon as no event of the page is pending, and when a new event is registered just before that
    close message is read, the client counts on the closing stream and opens no other. The new event's answer
    then waits on the server until the page sends another event, which on an idle page is never: a button that
    never answers. The window is short, wider on a loaded machine; tests/browser/test_shell.py makes the race
    happen. An event every few seconds opens a stream that delivers it."""
    async def pump():
        return None

    gr.Timer(ANSWER_PUMP_SECONDS).tick(pump, None, None, show_progress="hidden", concurrency_limit=None)


def _follow_settings(ctx: AppContext, banner: gr.Markdown, parts: dict[str, dict]) -> list[tuple]:
    """What shows the settings is refreshed on every page load (they may have changed from another page or
    the command line) and after each change in the Settings tab: the demo banner, the models folder that a
    new training configuration starts from, and a tab's own defaults (Generate's quick settings for the demo
    models, Prepare's Whisper model). Each is set once per page and after a Settings change, never when a tab
    is opened again: what the user changed in a form since then is theirs. Returns the page-load readers."""
    changed = parts.get("Settings", {}).get("settings_changed", [])
    models_dir = parts.get("Train", {}).get("configure", {}).get("widgets", {}).get("model.models_dir")
    outputs = [banner] + ([models_dir] if models_dir is not None else [])

    def refresh():
        return [demo_banner(ctx)] + ([_settings_models_dir(ctx)] if models_dir is not None else [])

    def on_load():
        # The page shows the models folder the form was built with; only a different one is sent. (A field's
        # change starts the Configure section's memory estimate: set on every page load, it cost a fresh
        # server's first page about 13 CPU-s, importing torch and TorToiSe, in a tab not yet opened.)
        values = refresh()
        if models_dir is not None and values[1] == models_dir.value:
            values[1] = gr.update()
        return values

    readers = [(on_load, outputs)]
    for event in changed:
        event.then(refresh, None, outputs, show_progress="hidden")
    for part in parts.values():
        if "follow_settings" in part:
            fn, follow_outputs = part["follow_settings"]
            readers.append((fn, follow_outputs))
            for event in changed:
                event.then(fn, None, follow_outputs, show_progress="hidden")
    return readers


def _settings_models_dir(ctx: AppContext):
    try:
        return ctx.settings().models_dir
    except UserError:  # an unreadable settings.json: leave the field as it is
        return gr.update()
