"""Configure section in a real browser: fill the form, save, compare with the file, load it back, see errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tortoise_studio import config as C
from tortoise_studio.ui import configure_section as cs
from tortoise_studio.workspace import Workspace
from ui_helpers import open_page, wait_answered, wait_until

pytestmark = pytest.mark.browser

CHANGES = {
    "epochs": "12", "max_steps": "30", "batch_size": "4", "gradient_accumulation": "2", "learning_rate": "2e-5",
    "scheduler.type": "cosine", "scheduler.milestones": "6, 9", "scheduler.restarts": "3", "warmup_steps": "5",
    "optimizer.betas": "0.9, 0.98", "device": "cpu", "validation.enabled": False, "seed": "7",
}


@pytest.fixture
def workspace_root(tmp_path, real_clips, tiny_models) -> Path:
    root = tmp_path / "ws"
    ws = Workspace.at(root).ensure()
    (ws.training / "ds" / "audio").mkdir(parents=True)
    for i, clip in enumerate(real_clips):
        shutil.copy(clip, ws.training / "ds" / "audio" / f"c{i}.wav")
    (ws.training / "ds" / "train.txt").write_text("".join(f"audio/c{i}.wav|Sentence {i}.\n" for i in range(8)))
    # the base models a run starts from (validation checks they exist): the tiny set, whose sizes keep each memory
    # estimate of the form quick (a fresh server measures TorToiSe's own sizes for about ten CPU seconds)
    shutil.copytree(tiny_models, ws.base_models)
    return root


def widget(page, key: str):
    return page.locator(f"#{cs.elem_id(key)}")


def kind(key: str) -> str:
    if key in cs.TEXT_KEYS:
        return "text"
    if key in ("dataset", "model.source", "tokenizer") or key in cs.CHOICES:
        return "dropdown"
    return {bool: "checkbox", int: "int"}.get(cs.HINTS[key], "float")


def read_form(page) -> list:
    values = []
    for key in cs.KEYS:
        box = widget(page, key)
        k = kind(key)
        if k == "checkbox":
            values.append(box.locator("input[type=checkbox]").is_checked())
        elif k in ("int", "float"):
            text = box.locator("input[type=number]").input_value()
            values.append(None if text == "" else (int(float(text)) if k == "int" else float(text)))
        elif k == "text":
            values.append(box.locator("textarea, input").first.input_value())
        else:
            values.append(box.locator("input").first.input_value())
    return values


def set_value(page, key: str, value) -> None:
    box = widget(page, key)
    k = kind(key)
    if k == "checkbox":
        box.locator("input[type=checkbox]").set_checked(value)
    elif k == "dropdown":
        box.locator("input").first.click()
        page.get_by_role("option", name=value, exact=True).click()
    else:
        field = box.locator("textarea, input").first
        field.fill(value)
        field.press("Tab")


def open_configure(page, server) -> None:
    open_page(page, server.url)
    page.get_by_role("tab", name="Train").click()
    widget(page, "dataset").locator("input").first.wait_for()
    wait_answered(page)  # the tab's refresh (the latest dataset chosen, its schedule and estimate) has answered


def test_save_writes_the_form_and_load_refills_it(start_ui, page, workspace_root, screenshot_dir):
    server = start_ui(workspace_root)
    open_configure(page, server)
    run = page.locator("#config-run textarea, #config-run input").first
    run.fill("browser run")
    for key, value in CHANGES.items():
        set_value(page, key, value)
    # the summary of the last change (an earlier one's may still show while the last is computed)
    page.locator("#config-summary").get_by_text("2 steps per epoch x 12 epochs = 24 optimizer steps").wait_for()
    assert "**" not in page.locator("#config-summary").inner_text()
    form = read_form(page)

    page.locator("#config-save").click()
    page.locator("#config-message").get_by_text("Saved").wait_for()
    path = workspace_root / "training" / "ds" / "runs" / "browser run" / "train.yaml"
    saved = C.load_config(path)
    assert cs.config_from_form(form) == saved
    assert (saved.epochs, saved.learning_rate, saved.scheduler.type, saved.device) == (12, 2e-5, "cosine", "cpu")
    assert saved.validation.enabled is False and saved.optimizer.betas == [0.9, 0.98]
    assert page.locator("#config-saved-path textarea, #config-saved-path input").first.input_value() == str(path)
    page.screenshot(path=str(screenshot_dir / "configure-saved.png"), full_page=True)

    # Change the form, then Load the saved file back: every field returns.
    set_value(page, "epochs", "99")
    set_value(page, "device", "auto")
    set_value(page, "validation.enabled", True)
    run.fill("other")
    summary = page.locator("#config-summary")

    def run_folder() -> str:
        return next((line for line in summary.inner_text().splitlines() if line.startswith("Run folder:")), "")

    wait_until(lambda: run_folder().endswith("/runs/other"), 30, "the schedule's note to name the typed run")
    page.locator("#config-load").click()
    page.locator("#config-message").get_by_text("Loaded").wait_for()
    assert read_form(page) == form
    assert run.input_value() == "browser run"
    wait_until(lambda: run_folder().endswith("/runs/browser run"), 30, "the note to name the loaded run")


def test_an_invalid_value_shows_its_message_and_writes_nothing(start_ui, page, workspace_root):
    server = start_ui(workspace_root)
    open_configure(page, server)
    set_value(page, "batch_size", "64")
    set_value(page, "scheduler.gamma", "")
    page.locator("#config-save").click()
    message = page.locator("#config-message")
    message.get_by_text("Not saved").wait_for()
    assert "scheduler.gamma: expected a number, got None" in message.inner_text()
    set_value(page, "scheduler.gamma", "0.5")
    page.locator("#config-save").click()
    message.get_by_text("batch_size: 64 is more than the 8 training clips").wait_for()
    assert not (workspace_root / "training" / "ds" / "runs").exists()
