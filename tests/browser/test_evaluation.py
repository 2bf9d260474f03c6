"""Checkpoint scores in a real browser: a tiny run scored by the real evaluator, its sample played beside
the base model's, the best checkpoint exported with one click."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from test_journey import play  # presses a player's play button and waits for its clock to move
from test_launch import make_dataset, tiny_config, write_run  # shared helpers of the launch tests
from ui_helpers import assert_no_internals, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_play_a_checkpoints_sample_and_export_the_best(tmp_path, tortoise_voices, tiny_models, whisper_base,
                                                        start_ui, page, screenshot_dir):
    from tortoise_studio.cli import main as cli_main
    from tortoise_studio.workspace import Workspace
    ws = Workspace.at(tmp_path / "ws").ensure()
    make_dataset(ws, tortoise_voices, n_train=4, n_val=1)
    evaluation = {"enabled": False, "sentences": ["Good morning."], "whisper_model": str(whisper_base),
                  "device": "cpu"}
    run_dir = write_run(ws, "ds", "scored", tiny_config("ds", tiny_models, epochs=1, evaluation=evaluation)).parent
    assert cli_main(["--workspace", str(ws.root), "train", str(run_dir / "train.yaml")]) == 0
    scored = subprocess.run([sys.executable, "-m", "tortoise_studio", "--workspace", str(ws.root), "evaluate",
                             str(run_dir)], env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                            text=True, timeout=600)
    assert scored.returncode == 0, scored.stderr[-3000:]

    server = start_ui(ws.root)
    page.goto(server.url)
    page.get_by_role("tab", name="Train").click()
    wait_until(lambda: "ds/scored" in page.locator("#run-dropdown input").input_value(), 30, "the run selected")
    best = page.locator("#eval-best")
    wait_until(lambda: "Best checkpoint: step 1" in best.inner_text(), 30, "the best checkpoint marked")
    assert "base model: CER" in best.inner_text()
    assert "Good morning." in page.locator("#eval-sample-0-text").inner_text()
    assert "base model, sentence 1" in page.locator("#eval-base-0-text").inner_text()
    play(page, "#eval-sample-0", "0.wav")
    page.screenshot(path=str(screenshot_dir / "run-section-checkpoint-scores.png"), full_page=True)

    page.locator("#eval-export").click()
    message = page.locator("#eval-export-message")
    wait_until(lambda: "Exported" in message.inner_text(), 30, "the export message")
    exported = ws.finetunes / "ds-scored-step1.pth"
    assert exported.read_bytes() == (run_dir / "checkpoints" / "1" / "model.pth").read_bytes()
    assert str(exported) in message.inner_text()
    assert_no_internals(page)
