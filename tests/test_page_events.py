"""The page's listeners keep ui/events.py's rule: a trigger with an "always_last" listener has no other."""

from __future__ import annotations

import gradio as gr

from tortoise_studio.ui.app import build_app
from tortoise_studio.ui.context import AppContext
from tortoise_studio.ui.events import crowded_triggers


def test_the_rule_finds_two_listeners_of_one_change():
    with gr.Blocks() as app:
        name = gr.Textbox(elem_id="name")
        first, second, clicked = gr.Markdown(), gr.Markdown(), gr.Markdown()
        button = gr.Button(elem_id="go")
        name.change(lambda n: n, name, first)
        name.change(lambda n: n, name, second)
        # one listener and the steps chained after it, or several listeners that never wait: allowed
        button.click(lambda: "a", None, clicked).then(lambda: "b", None, first).then(lambda: "c", None, second)
        button.click(lambda: "d", None, second, trigger_mode="multiple")
    crowded = crowded_triggers(app)
    assert len(crowded) == 1 and crowded[0].startswith("name change: ")
    assert crowded[0].count("(always_last)") == 2


def test_the_studio_page_keeps_the_rule(workspace):
    assert crowded_triggers(build_app(AppContext(workspace))) == []
