"""Checkpoint scores in a real browser: a tiny run scored by the real `evaluate` command (the session's shared
run, tests/conftest.py), its sample played beside the base model's, the best checkpoint exported with one click."""

from __future__ import annotations

import shutil

import pytest

from ui_helpers import assert_no_internals, open_page, play, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_play_a_checkpoints_sample_and_export_the_best(tmp_path, evaluated_run, start_ui, page, screenshot_dir):
    from tortoise_studio.runs.evaluator import evaluation_status
    from tortoise_studio.workspace import Workspace
    shutil.copytree(evaluated_run.parents[3], tmp_path / "ws")  # the shared run stays as it was made
    ws = Workspace.at(tmp_path / "ws")
    run_dir = ws.root / "training" / "ds" / "runs" / "old"
    best = evaluation_status(run_dir).best
    assert best in (1, 2)

    server = start_ui(ws.root)
    open_page(page, server.url)
    page.get_by_role("tab", name="Train").click()
    wait_until(lambda: "ds/old" in page.locator("#run-dropdown input").input_value(), 30, "the run selected")
    marked = page.locator("#eval-best")
    wait_until(lambda: f"Best checkpoint: step {best}" in marked.inner_text(), 30, "the best checkpoint marked")
    assert "base model: CER" in marked.inner_text()
    assert "Hello there." in page.locator("#eval-sample-0-text").inner_text()
    assert "base model, sentence 1" in page.locator("#eval-base-0-text").inner_text()
    play(page, "#eval-sample-0", "0.wav")
    page.screenshot(path=str(screenshot_dir / "run-section-checkpoint-scores.png"), full_page=True)

    page.locator("#eval-export").click()
    message = page.locator("#eval-export-message")
    wait_until(lambda: "Exported" in message.inner_text(), 30, "the export message")
    exported = ws.finetunes / f"ds-old-step{best}.pth"
    assert exported.read_bytes() == (run_dir / "checkpoints" / str(best) / "model.pth").read_bytes()
    assert str(exported) in message.inner_text()
    assert_no_internals(page)
