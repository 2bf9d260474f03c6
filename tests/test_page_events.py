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


def test_a_page_load_reads_every_value_in_one_event_and_reads_the_settings_anew(workspace):
    """Every value a page reads when it opens comes in one load event (the Prepare tab's voice list, the page's
    first, has its own): each event costs the page a pass over every component. What it reads is as the
    workspace is at that moment, so a change made elsewhere shows after a reload."""
    import json
    import re
    from tortoise_studio.ui.files_section import TRASH_COLUMNS
    from tortoise_studio.ui.lists import kept_choice
    settings = workspace.root / "settings.json"
    settings.write_text(json.dumps({"models_dir": "models/one", "whisper_model": "models/whisper-one"}))
    app = build_app(AppContext(workspace))
    loads = [f for f in app.fns.values() if any(event == "load" for _, event in f.targets)]
    assert len(loads) == 2
    reader = next(f for f in loads if len(f.outputs) > 1)

    def read() -> dict:
        return {o.elem_id: v for o, v in zip(reader.outputs, reader.fn()) if getattr(o, "elem_id", None)}

    assert read()["settings-whisper-model"] == read()["prepare-model"] == "models/whisper-one"
    settings.write_text(json.dumps({"models_dir": "models/two", "whisper_model": "models/whisper-two"}))
    shown = read()
    assert shown["settings-models-dir"] == "models/two" and shown["config-model-models-dir"] == "models/two"
    assert shown["settings-whisper-model"] == shown["prepare-model"] == "models/whisper-two"
    assert re.fullmatch(r"\d{8}-\d{6}", shown["config-run"]) and list(shown["files-trash"].columns) == TRASH_COLUMNS
    # a list read again sends a value only when the shown one changes: a value sent fires the change listeners
    assert "value" not in kept_choice(["a", "b"], "b", "a") and "value" not in kept_choice([], None)
    assert kept_choice([("A", "a")], "gone", "a")["value"] == "a" and kept_choice(["a"], "gone")["value"] is None
