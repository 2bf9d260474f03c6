"""The one rule every listener of the page keeps: a trigger with an "always_last" listener has no other listener.

Why. Gradio's page client (6.x) runs an "always_last" listener triggered while it is still running once more when
it ends, by dispatching the trigger again, and that dispatch reaches every listener of the trigger, not only the
one that waited. A second listener still running at that moment is put to wait in its turn, and when it ends it
dispatches the trigger again: two such listeners of one trigger keep each other going for as long as their runs
overlap. The page then sends the same events every fraction of a second with no one touching it (seen: a dataset
field's change with three listeners, forever, on a loaded machine). A field's `change` is "always_last" unless
told otherwise. So work that follows one trigger goes into one listener and the steps after it (`.then`), which
the client starts by their own id, never by dispatching the trigger again.
"""

from __future__ import annotations

from collections import defaultdict

import gradio as gr

# Steps of a chain: the client starts them by id, never through their trigger.
_CHAINED = {"then", "success", "failure"}


def crowded_triggers(app: gr.Blocks) -> list[str]:
    """The triggers that break the rule, each as 'component event: listeners', named by elem_id where it has one."""
    config = app.get_config_file()
    names = {c["id"]: c["props"].get("elem_id") or f"{c['type']} {c['id']}" for c in config["components"]}
    listeners: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for dependency in config["dependencies"]:
        for target, event in dependency["targets"]:
            if event not in _CHAINED:
                listeners[(target, event)].append(dependency)
    crowded = []
    for (target, event), deps in listeners.items():
        if len(deps) > 1 and any(d["trigger_mode"] == "always_last" for d in deps):
            what = ", ".join(f"{d['api_name'] or d['id']} ({d['trigger_mode']})" for d in deps)
            crowded.append(f"{names.get(target, target)} {event}: {what}")
    return crowded
