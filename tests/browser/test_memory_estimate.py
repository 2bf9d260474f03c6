"""Configure shows the estimated peak memory of the form's configuration, and it follows the batch size."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from test_configure import open_configure, set_value, widget
from ui_helpers import wait_answered, wait_until
from tortoise_studio.workspace import Workspace

pytestmark = pytest.mark.browser


@pytest.fixture
def workspace_root(tmp_path, real_clips, tiny_models) -> Path:
    root = tmp_path / "ws"
    ws = Workspace.at(root).ensure()
    (ws.training / "ds" / "audio").mkdir(parents=True)
    for i, clip in enumerate(real_clips):
        shutil.copy(clip, ws.training / "ds" / "audio" / f"c{i}.wav")
    (ws.training / "ds" / "train.txt").write_text("".join(f"audio/c{i}.wav|Sentence {i}.\n" for i in range(8)))
    shutil.copytree(tiny_models, ws.base_models)  # the tiny set's sizes keep the estimate quick
    return root


ESTIMATE = r"Estimated peak memory: ([\d.]+) GB of ([\d.]+) GB RAM"


def estimate_gb(page) -> tuple[float, str]:
    note = page.locator("#config-memory")
    wait_answered(page)  # the estimate of the last change, not one on its way from before
    note.get_by_text("Estimated peak memory:").wait_for(timeout=90_000)
    # settled: the figure itself, not a progress line of an estimate still on its way
    text = wait_until(lambda: re.search(ESTIMATE, t := note.inner_text()) and t, 90, "the estimate's figure")
    return float(re.search(ESTIMATE, text).group(1)), text


def test_the_estimate_grows_with_the_batch_size(start_ui, page, workspace_root):
    server = start_ui(workspace_root)
    open_configure(page, server)
    set_value(page, "device", "cpu")
    set_value(page, "batch_size", "2")
    page.locator("#config-memory").get_by_text("micro-batch of 2 clips").wait_for(timeout=90_000)
    small, text = estimate_gb(page)
    assert "fits" in text and "activations" in text
    set_value(page, "batch_size", "8")
    page.locator("#config-memory").get_by_text("micro-batch of 8 clips").wait_for(timeout=90_000)
    large, text = estimate_gb(page)
    assert large > small
    # Micro-batches of 2 by gradient accumulation bring it back to the first figure.
    set_value(page, "gradient_accumulation", "4")
    page.locator("#config-memory").get_by_text("micro-batch of 2 clips").wait_for(timeout=90_000)
    accumulated, _ = estimate_gb(page)
    assert small <= accumulated < large
    assert widget(page, "model.attention").locator("input").first.input_value() == "sdpa"
