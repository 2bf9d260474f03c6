"""How a dropdown read again is updated: its fresh choices, and a value only when the shown one must change.

Why. The page's Gradio client fires a field's change listeners when an answer sets its value and the value
differs from the one shown, and an empty field (nothing chosen) differs from None: a list read with "nothing
chosen" sent along fired the listeners on every page load and every visit of the tab, each a second reading of
what follows the list (a dataset's schedule and memory estimate, a voice's clip table) and an event that costs
the page a pass over every component.
"""

from __future__ import annotations

from typing import Any

import gradio as gr


def choice_values(choices: list) -> list:
    """The values of a dropdown's choices (values, or (label, value) pairs)."""
    return [c[1] if isinstance(c, tuple) else c for c in choices]


def kept_choice(choices: list, current: Any, fallback: Any = None) -> dict:
    """The update of a dropdown with `choices` (values, or (label, value) pairs): `current` stays chosen while it
    is one of them, else `fallback` is chosen (None: nothing)."""
    if current in choice_values(choices) or not (current or fallback):
        return gr.update(choices=choices)
    return gr.update(choices=choices, value=fallback)
