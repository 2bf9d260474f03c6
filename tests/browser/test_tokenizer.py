"""The Tokenizer section of the Prepare tab in a real browser: train a tokenizer on a Russian dataset, split a
sentence into its pieces, count [UNK] under each tokenizer."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tortoise_studio.text import load_tokenizer
from tortoise_studio.workspace import Workspace
from ui_helpers import open_page

pytestmark = pytest.mark.browser

LINES = ["Кошка сидит на окне и смотрит во двор.", "Сегодня тёплый день, и дети играют в саду.",
         "Где находится ближайшая станция метро?", "Он читает газету каждое утро за завтраком."]


def test_train_a_tokenizer_and_see_a_sentence_split(start_ui, page, tmp_path, screenshot_dir):
    ws = Workspace.at(tmp_path / "ws").ensure()
    folder = ws.dataset_dir("russian")
    folder.mkdir(parents=True)
    (folder / "train.txt").write_text("".join(f"audio/c{i}.wav|{t}\n" for i, t in enumerate(LINES)), encoding="utf-8")
    (folder / "dataset.json").write_text(json.dumps({"language": "ru"}))
    server = start_ui(ws.root)
    open_page(page, server.url)
    page.wait_for_function("document.title === 'Tortoise Studio'")
    page.get_by_role("tab", name="Prepare").click()
    page.get_by_text("Tokenizer (another language)").click()

    expect(page.locator("#tokenizer-dataset input").first).to_have_value("russian")
    page.locator("#tokenizer-name textarea, #tokenizer-name input").first.fill("ru-ui")
    page.locator("#tokenizer-train").click()
    expect(page.locator("#tokenizer-status")).to_contain_text("Trained tokenizer ru-ui", timeout=60_000)
    assert (ws.models / "tokenizers" / "ru-ui.json").is_file()
    expect(page.locator("#tokenizer-choice input").first).to_have_value("ru-ui")

    sentence = page.locator("#tokenizer-sentence textarea, #tokenizer-sentence input").first
    sentence.fill("Кошка сидит во дворе.")
    page.locator("#tokenizer-split").click()
    pieces = page.locator("#tokenizer-pieces")
    expect(pieces).to_contain_text("pieces", timeout=30_000)
    expected = load_tokenizer(ws, "ru-ui").pieces("Кошка сидит во дворе.")
    text = pieces.inner_text()
    assert f"{len(expected)} pieces" in text and "[SPACE]" in text and "кошка сидит во дворе." in text
    assert "ids: " + " ".join(str(i) for i, _ in expected) in text

    page.locator("#tokenizer-count").click()
    table = page.locator("#tokenizer-coverage")
    expect(table).to_contain_text("ru-ui", timeout=30_000)
    expect(table).to_contain_text("english")
    page.screenshot(path=str(screenshot_dir / "tokenizer.png"), full_page=True)
