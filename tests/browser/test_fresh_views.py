"""A first day with the studio, in the browser: every list is current when a tab is shown, the Prepare tab
shows the last Prepare again, the Train tab opens on the latest dataset with its schedule and reads its model
sources when that list is opened, Check Models checks the folder in the field, and the small faults stay fixed
(histogram order, legends, empty axis fields, the log's end, headers that fit, the split as a choice, no
Starlette warning flood)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tortoise_studio.metrics.writer import MetricsWriter
from ui_helpers import assert_no_internals, dropdown_options, field, markdown_text, open_page, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_first_day_ui import make_dataset  # noqa: E402

pytestmark = pytest.mark.browser


def make_workspace(root: Path):
    """A voice prepared earlier (dataset.json, lists) and a stopped run with a long log."""
    from tortoise_studio.workspace import Workspace
    ws = Workspace.at(root).ensure()
    ws.voice_dir("alice").mkdir()
    make_dataset(ws, "alice", [1.5, 2.5, 10.2, 2.2, 3.3, 4.4])
    run_dir = ws.run_dir("alice", "first")
    run_dir.mkdir(parents=True)
    (run_dir / "train.yaml").write_text("dataset: alice\n")
    with MetricsWriter(run_dir / "metrics.jsonl") as w:
        w.event("start", step=0, steps_total=100)
        for s in range(1, 30):
            w.train(step=s, epoch=s / 10, samples=4 * s, lr=1e-5, grad_norm=1.0, sec_per_step=0.5,
                    losses={"loss_text_ce": 4.0, "loss_mel_ce": 3.0 - s * 0.01, "loss_gpt_total": 3.04})
        w.event("stop", step=29)
    (run_dir / "train.log").write_text("".join(f"log line {i}\n" for i in range(100)))
    return ws


def legend(page, plot: str) -> list[str]:
    return page.eval_on_selector_all(f"#{plot} .role-legend-label text", "els => els.map(e => e.textContent)")


def headers_fit(page, table: str) -> bool:
    """Every header of the table fits its column on one line (no word broken over two lines)."""
    return page.eval_on_selector_all(
        f"#{table} th", "els => els.length > 0 && els.every(e => e.scrollWidth <= e.clientWidth + 1)")


def test_every_list_and_view_is_current_when_shown(start_ui, page, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    server = start_ui(ws.root)
    open_page(page, server.url)

    # Prepare opens on the voice with its last Prepare shown: summary, histogram in number order, tables
    page.locator("#prepare-summary").get_by_text("6 clips", exact=True).wait_for()
    page.locator("#prepare-histogram .role-axis-label text").first.wait_for()
    labels = [t.strip() for t in page.eval_on_selector_all("#prepare-histogram .role-axis-label text",
                                                            "els => els.map(e => e.textContent)")]
    assert labels[:12] == [f"{i}-{i + 1}" for i in range(12)]
    assert page.locator("#prepare-skipped").get_by_text("broken.wav").count() >= 1
    assert headers_fit(page, "prepare-skipped") and headers_fit(page, "prepare-clips")
    # the split is a choice made for the selected clip
    page.locator("#prepare-clips").get_by_text("audio/alice_0001.wav", exact=True).first.click()
    split = page.locator("#prepare-split")
    split.get_by_text("Split of audio/alice_0001.wav").wait_for()
    split.get_by_label("drop").check()
    page.locator("#prepare-clips").get_by_text("drop", exact=True).first.wait_for()

    # made elsewhere after the page loaded: shown when a tab opens, no Refresh
    ws.voice_dir("bob").mkdir()
    page.get_by_role("tab", name="Generate").click()
    wait_until(lambda: "bob" in dropdown_options(page, "gen-voice"), 30, "the new voice in Generate")
    page.get_by_role("tab", name="Prepare").click()
    wait_until(lambda: "bob" in dropdown_options(page, "prepare-voice"), 30, "the new voice in Prepare")

    # Train opens on the latest dataset with its schedule, each chart with its own legend
    page.get_by_role("tab", name="Train").click()
    page.locator("#config-summary").get_by_text("training clips, batch").wait_for()
    assert field(page, "config-dataset").input_value() == "alice"
    assert "Cannot show the schedule" not in markdown_text(page, "config-summary")
    # a fine-tune exported after the tab opened is a model source when the list is opened
    ws.finetunes.mkdir(parents=True, exist_ok=True)
    (ws.finetunes / "late.pth").write_bytes(b"weights")
    wait_until(lambda: "models/finetunes/late.pth" in dropdown_options(page, "config-model-source"), 30,
               "the new fine-tune among the model sources")
    wait_until(lambda: legend(page, "run-loss-plot"), 30, "the loss plot")
    assert sorted(legend(page, "run-loss-plot")) == ["train mel", "train text", "val mel", "val text"]
    assert sorted(legend(page, "run-total-plot")) == ["train total", "val total"]
    assert legend(page, "run-lr-plot") == ["lr"]
    assert [field(page, f"run-{axis}").input_value() for axis in ("xmin", "xmax", "ymin", "ymax")] == [""] * 4
    wait_until(lambda: page.eval_on_selector("#run-log textarea",
                                             "e => e.value.length > 0 && e.scrollTop + e.clientHeight >= e.scrollHeight - 2"),
               30, "the log to show its last line")

    # Check Models checks the folder in the field, saved or not, and names it
    page.get_by_role("tab", name="Settings").click()
    field(page, "settings-models-dir").fill("models/nowhere")
    page.locator("#settings-check").click()
    table = page.locator("#settings-models-table")
    table.get_by_role("button", name="the folder does not exist").wait_for()
    assert table.get_by_text(f"Model files in {ws.root / 'models' / 'nowhere'}").count() >= 1
    assert table.get_by_text("ok", exact=True).count() == 0
    assert_no_internals(page)
    assert "StarletteDeprecationWarning" not in server.log()
