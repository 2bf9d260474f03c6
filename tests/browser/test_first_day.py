"""A first day with the studio, in a real browser, from a fresh workspace and offline (`--demo`):
upload recordings (one a duplicate, one broken), prepare with the Whisper base the demo installs, correct two
transcripts and drop a clip, add a recording and prepare again (the corrections are still there), then
delete a recording and find it in the trash. (Training, continuing and generating join this journey later.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ui_helpers import assert_no_internals, choose, field, fill, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VOICE = "demo"


def upload(page, files: list[Path]) -> None:
    page.locator("#prepare-upload input[type=file]").set_input_files([str(f) for f in files])
    box = page.locator("#prepare-upload")
    for f in files:  # the upload has finished once every file is listed
        expect(box).to_contain_text(f.stem, timeout=30_000)
    expect(box).not_to_contain_text("Uploading", timeout=30_000)
    page.locator("#prepare-add").click()


def prepare(page) -> str:
    """Press Prepare and wait for its outcome ("Prepared ..." or "Prepare failed: ..."); the status said
    something else before (the last upload)."""
    status = page.locator("#prepare-status")
    assert not status.inner_text().startswith("Prepare")
    page.locator("#prepare-run").click()
    return wait_until(lambda: (text := status.inner_text()).startswith("Prepare") and text, 240, "Prepare to finish")


def cell(page, row: int, column: int):
    return page.locator(f"#prepare-clips [data-testid=cell-{row}-{column}]")


def edit_cell(page, row: int, column: int, value: str) -> None:
    target = cell(page, row, column)
    target.dblclick()
    box = target.locator("textarea, input").first
    box.fill(value)
    box.press("Enter")
    expect(target).to_contain_text(value)


def drop_clip(page, row: int) -> None:
    """Select the row's clip and choose "drop" as its split (the split is a choice, not typed)."""
    clip = cell(page, row, 0).inner_text().strip()
    cell(page, row, 0).click()
    split = page.locator("#prepare-split")
    split.get_by_text(f"Split of {clip}").wait_for()
    split.get_by_label("drop").check()
    expect(cell(page, row, 3)).to_contain_text("drop")


def lists(root: Path) -> dict[str, str]:
    """clip -> text of train.txt and validation.txt."""
    found = {}
    for name in ("train.txt", "validation.txt"):
        for line in (root / "training" / VOICE / name).read_text().splitlines():
            clip, text = line.split("|", 1)
            found[clip] = text
    return found


def spans(root: Path) -> dict[str, tuple[str, float]]:
    report = json.loads((root / "training" / VOICE / "dataset.json").read_text())
    return {clip: (s["source"], s["start"]) for clip, s in report["clip_spans"].items()}


def test_first_day_offline_corrections_survive_and_deleting_goes_to_the_trash(
        start_ui, page, tmp_path, real_clips, tortoise_voices, screenshot_dir):
    root = tmp_path / "ws"
    server = start_ui(root, "--demo", env={"HF_HUB_OFFLINE": "1"})  # offline: no model can be downloaded
    assert "models/whisper-base" in server.log()
    page.goto(server.url)
    page.locator("#demo-banner").get_by_text("generated audio is noise").wait_for()

    # Upload: a new recording, the demo's first recording under another name, and a broken file.
    files = tmp_path / "uploads"
    files.mkdir()
    shutil.copy(real_clips[3], files / "applejack.wav")
    shutil.copy(tortoise_voices / "rainbow" / "1.wav", files / "again.wav")
    (files / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200)))
    page.get_by_role("tab", name="Prepare").click()
    assert field(page, "prepare-voice").input_value() == VOICE
    page.get_by_text("Add recordings", exact=True).click()  # closed when there are voices already
    upload(page, [files / "applejack.wav", files / "again.wav", files / "broken.wav"])
    status = page.locator("#prepare-status")
    status.get_by_text("Added 2 file(s)").wait_for()
    assert "Not added: again.wav is a duplicate of 1.wav" in status.inner_text()
    assert sorted(p.name for p in (root / "voices" / VOICE).iterdir()) == \
        ["1.wav", "2.wav", "3.wav", "4.wav", "5.wav", "applejack.wav", "broken.wav"]

    # Prepare with the Whisper model the demo chose in Settings (nothing typed into the model field).
    page.get_by_text("Options", exact=True).click()
    assert field(page, "prepare-model").input_value() == "models/whisper-base"
    fill(page, "prepare-language", "en")
    fill(page, "prepare-validation-fraction", "0.2")
    message = prepare(page)
    assert message.startswith("Prepared"), message
    expect(page.locator("#prepare-skipped")).to_contain_text("broken.wav")
    expect(page.locator("#prepare-summary")).to_contain_text("Far too little speech to fine-tune")
    first = lists(root)
    assert any("finish line" in text.lower() for text in first.values()), first  # Whisper really listened

    # Correct two transcripts and drop a clip, then save.
    clips = [cell(page, row, 0).inner_text().strip() for row in range(3)]
    edit_cell(page, 0, 2, "My own words for the first clip.")
    edit_cell(page, 1, 2, "A second correction.")
    drop_clip(page, 2)
    page.locator("#prepare-save").click()
    page.locator("#prepare-save-status").get_by_text("Saved").wait_for()
    saved = lists(root)
    assert saved[clips[0]] == "My own words for the first clip." and saved[clips[1]] == "A second correction."
    assert clips[2] not in saved
    where = spans(root)
    corrected = {where[clips[0]]: "My own words for the first clip.", where[clips[1]]: "A second correction."}
    dropped = where[clips[2]]

    # Add a recording and prepare again: the corrections are still there.
    shutil.copy(real_clips[7], files / "daniel.wav")
    upload(page, [files / "daniel.wav"])
    status.get_by_text("Added 1 file(s)").wait_for()
    message = prepare(page)
    assert "Kept 3 of your corrections." in message, message
    after, where = lists(root), spans(root)
    for span, text in corrected.items():
        clip = next(c for c, s in where.items() if s == span)
        assert after[clip] == text
        expect(page.locator("#prepare-clips")).to_contain_text(text)
    assert not any(where[c] == dropped for c in after)
    assert any(where[c][0] == "daniel.wav" for c in after)
    page.screenshot(path=str(screenshot_dir / "first-day-prepare.png"), full_page=True)

    # Delete the broken recording (with a confirmation) and find it in the trash.
    page.get_by_role("tab", name="Settings").click()
    page.get_by_text("Files: rename or delete").click()
    page.locator("#files-kind").get_by_text("recording", exact=True).click()
    choose(page, "files-item", f"{VOICE}/broken.wav")
    page.locator("#files-delete").click()
    page.locator("#files-message").get_by_text("Press Delete again to confirm").wait_for()
    assert (root / "voices" / VOICE / "broken.wav").is_file()
    page.locator("#files-delete").click()
    page.locator("#files-message").get_by_text("to the trash").wait_for()
    expect(page.locator("#files-trash")).to_contain_text(f"voices/{VOICE}/broken.wav")
    assert not (root / "voices" / VOICE / "broken.wav").exists()
    trashed = list((root / "trash").glob(f"*/voices/{VOICE}/broken.wav"))
    assert len(trashed) == 1 and trashed[0].read_bytes() == (files / "broken.wav").read_bytes()
    page.screenshot(path=str(screenshot_dir / "first-day-trash.png"), full_page=True)
    assert_no_internals(page)
