"""The Prepare tab in a real browser: upload two clips into a new voice, prepare it, see the clips."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from ui_helpers import open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_upload_two_clips_prepare_and_see_the_clip_table(start_ui, page, tmp_path, real_clips, whisper_base,
                                                         screenshot_dir):
    server = start_ui(tmp_path / "ws")
    open_page(page, server.url)
    page.wait_for_function("document.title === 'Tortoise Studio'")
    page.get_by_role("tab", name="Prepare").click()
    page.locator("#prepare-upload input[type=file]").set_input_files([str(real_clips[4]), str(real_clips[5])])
    upload = page.locator("#prepare-upload")
    for clip in (real_clips[4], real_clips[5]):  # the upload has finished once both files are listed
        expect(upload).to_contain_text(clip.stem, timeout=30_000)
    expect(upload).not_to_contain_text("Uploading", timeout=30_000)
    page.locator("#prepare-new-voice textarea, #prepare-new-voice input").first.fill("browser voice")
    page.locator("#prepare-add").click()
    page.locator("#prepare-status").get_by_text("Added 2 file(s)").wait_for()
    assert sorted(p.name for p in (tmp_path / "ws" / "voices" / "browser voice").iterdir()) == \
        sorted([real_clips[4].name, real_clips[5].name])

    page.get_by_text("Options").click()
    page.locator("#prepare-model textarea, #prepare-model input").first.fill(str(whisper_base))
    page.locator("#prepare-language textarea, #prepare-language input").first.fill("en")
    page.locator("#prepare-run").click()
    summary = page.locator("#prepare-summary")
    summary.get_by_text("clips", exact=False).first.wait_for(timeout=120_000)  # the count, then the advice
    page.screenshot(path=str(screenshot_dir / "prepare.png"), full_page=True)

    train = (tmp_path / "ws" / "training" / "browser voice" / "train.txt").read_text().splitlines()
    validation = (tmp_path / "ws" / "training" / "browser voice" / "validation.txt").read_text().splitlines()
    count = len(train) + len(validation)
    assert f"{count} clips" in summary.inner_text()
    table = page.locator("#prepare-clips")
    for line in train + validation:  # every clip with its text is listed
        expect(table).to_contain_text(line.split("|")[0])
        expect(table).to_contain_text(line.split("|")[1])
