"""Train tab: the Configure section above the Run section; a saved configuration appears in the run list at once."""

from __future__ import annotations

import gradio as gr

from . import configure_section, run_section
from .context import AppContext


def build(ctx: AppContext) -> dict:
    with gr.Accordion("Configure", open=True, elem_id="configure-section"):
        configure = configure_section.build(ctx)
    with gr.Accordion("Run", open=True, elem_id="run-section"):
        run = run_section.build(ctx)
    configure["saved_path"].change(run_section.select_run_handler(ctx), configure["saved_path"],
                                   run["run_dropdown"])

    def read_lists_on(triggers):
        configure["read_lists_on"](triggers)
        run["read_lists_on"](triggers)

    return {"read_lists_on": read_lists_on, "on_page_load": configure["on_page_load"], "configure": configure,
            "run": run}
