"""Files section (Settings tab): rename or delete recordings, voices, runs and results, and the trash.

Every rename and deletion asks for a confirmation: the first press says what will happen, a second press
of the same button on the same item does it. Deleting moves the item to the trash; only "Empty trash"
(confirmed the same way) deletes for good. Handlers take plain values and call manage.py / trash.py.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from ..errors import UserError
from ..manage import KINDS, delete_item, list_items, rename_item
from ..trash import empty_trash, list_trash
from .context import AppContext

TRASH_COLUMNS = ["deleted", "what", "item"]


def item_choices(ctx: AppContext, kind: str) -> list[str]:
    try:
        return list_items(ctx.workspace, kind)
    except UserError:
        return []


def trash_table(ctx: AppContext) -> pd.DataFrame:
    rows = [(t.deleted, t.what, t.original) for t in list_trash(ctx.workspace)]
    return pd.DataFrame(rows, columns=TRASH_COLUMNS)


def rename_handler(ctx: AppContext, kind: str, item: str | None, new_name: str, pending: str):
    """Returns (message, pending confirmation, item dropdown, trash table)."""
    request = f"rename|{kind}|{item}|{(new_name or '').strip()}"
    try:
        if not item:
            raise UserError(f"{kind}: choose one to rename")
        if not (new_name or "").strip():
            raise UserError(f"new {kind} name: type the new name")
        if pending != request:
            return (f"Rename {kind} **{item}** to **{new_name.strip()}**? Press **Rename** again to confirm.",
                    request, gr.update(), gr.update())
        renamed = rename_item(ctx.workspace, kind, item, new_name)
    except UserError as exc:
        return f"**Not renamed:** {exc}", "", gr.update(), gr.update()
    return (f"Renamed {kind} **{item}** to **{renamed}**.", "",
            gr.update(choices=item_choices(ctx, kind), value=renamed), gr.update())


def delete_handler(ctx: AppContext, kind: str, item: str | None, pending: str):
    """Returns (message, pending confirmation, item dropdown, trash table)."""
    request = f"delete|{kind}|{item}"
    try:
        if not item:
            raise UserError(f"{kind}: choose one to delete")
        if pending != request:
            return (f"Move {kind} **{item}** to the trash? Press **Delete** again to confirm.", request,
                    gr.update(), gr.update())
        moved = delete_item(ctx.workspace, kind, item)
    except UserError as exc:
        return f"**Not deleted:** {exc}", "", gr.update(), gr.update()
    where = moved[0].relative_to(ctx.workspace.root)
    return (f"Moved {kind} **{item}** to the trash (`{where}`).", "",
            gr.update(choices=item_choices(ctx, kind), value=None), trash_table(ctx))


def empty_trash_handler(ctx: AppContext, pending: str):
    """Returns (message, pending confirmation, trash table)."""
    count = len(list_trash(ctx.workspace))
    if not count:
        return "The trash is empty.", "", trash_table(ctx)
    if pending != "empty":
        return (f"Delete the {count} item(s) in the trash **for good**? Press **Empty trash** again to confirm.",
                "empty", gr.update())
    removed = empty_trash(ctx.workspace)
    return f"Emptied the trash: {removed} item(s) deleted for good.", "", trash_table(ctx)


def build(ctx: AppContext) -> dict:
    with gr.Accordion("Files: rename or delete recordings, voices, runs and results", open=False,
                      elem_id="files-section"):
        with gr.Row():
            kind = gr.Radio(list(KINDS), value="result", label="Kind", elem_id="files-kind")
            item = gr.Dropdown(label="Item", choices=item_choices(ctx, "result"), value=None, elem_id="files-item",
                               scale=3, info="the list is read again each time you open it")
        with gr.Row():
            new_name = gr.Textbox(label="New name", elem_id="files-new-name", scale=3)
            rename = gr.Button("Rename", elem_id="files-rename")
            delete = gr.Button("Delete", variant="stop", elem_id="files-delete")
        message = gr.Markdown(elem_id="files-message")
        gr.Markdown("**Trash**: deleted items wait here (in the workspace's `trash/` folder) until you empty it.")
        trash = gr.Dataframe(trash_table(ctx), label="Trash", interactive=False, wrap=True, elem_id="files-trash")
        empty = gr.Button("Empty trash", elem_id="files-empty-trash")
    pending = gr.State("")  # the action the next press confirms

    def refresh(k):
        return gr.update(choices=item_choices(ctx, k), value=None), trash_table(ctx), "", ""

    kind.change(refresh, kind, [item, trash, message, pending])
    item.focus(lambda k: gr.update(choices=item_choices(ctx, k)), kind, item)  # current when opened
    item.change(lambda: "", None, pending)  # a confirmation is for one item only
    new_name.change(lambda: "", None, pending)
    rename.click(lambda k, i, n, p: rename_handler(ctx, k, i, n, p), [kind, item, new_name, pending],
                 [message, pending, item, trash])
    delete.click(lambda k, i, p: delete_handler(ctx, k, i, p), [kind, item, pending], [message, pending, item, trash])
    empty.click(lambda p: empty_trash_handler(ctx, p), pending, [message, pending, trash])
    return {"kind": kind, "item": item, "new_name": new_name, "rename": rename, "delete": delete,
            "message": message, "trash": trash, "empty": empty,
            "on_page_load": [(lambda: (trash_table(ctx),), [trash])]}
