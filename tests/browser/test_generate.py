"""The Generate journey in a real browser: point Settings at the tiny set, type, pick a voice, Generate, listen."""

from __future__ import annotations

import re
import shutil

import soundfile
from playwright.sync_api import expect
from ui_helpers import choose, open_page


def fill_number(page, elem_id: str, value) -> None:
    field = page.locator(f"#{elem_id} input").first
    field.fill(str(value))
    field.press("Tab")


def test_generate_plays_a_new_result(start_ui, page, tmp_path, tiny_models, tortoise_voices, screenshot_dir):
    root = tmp_path / "ws"
    (root / "voices" / "v").mkdir(parents=True)
    shutil.copy(tortoise_voices / "rainbow" / "1.wav", root / "voices" / "v" / "1.wav")
    server = start_ui(root)
    open_page(page, server.url)

    page.get_by_role("tab", name="Settings").click()
    page.locator("#settings-models-dir textarea, #settings-models-dir input").first.fill(str(tiny_models))
    page.get_by_role("button", name="Save Settings").click()
    page.locator("#settings-message").get_by_text("Saved to").wait_for()

    page.get_by_role("tab", name="Generate").click()
    page.locator("#gen-text textarea").fill("Hello from the tiny model.")
    choose(page, "gen-voice", "v")  # after the tab's lists arrived: their answer would close the open list
    page.locator("#gen-preset input").click()
    page.get_by_role("option", name="ultra_fast").click()
    expect(page.locator("#gen-candidates input")).to_have_value("16")  # the preset filled in its values
    fill_number(page, "gen-candidates", 2)
    page.locator("#gen-advanced").get_by_text("Advanced settings").click()
    fill_number(page, "gen-diffusion-iterations", 2)
    fill_number(page, "gen-max-mel-tokens", 10)
    page.get_by_role("button", name="Generate", exact=True).click()

    message = page.locator("#gen-message")
    message.get_by_text(re.compile("Saved|Error|failed|Cancelled")).wait_for(timeout=240_000)  # slow on a busy CPU
    assert message.inner_text().startswith("Saved results/v/v_0001.wav"), message.inner_text()
    # the player's download link serves the file; the browser decodes it to read the duration it plays
    link = page.locator("#gen-output a[href*='v_0001.wav']")
    link.wait_for(state="attached")
    duration = page.evaluate("""async (url) => {
        const bytes = await (await fetch(url)).arrayBuffer();
        const decoded = await new OfflineAudioContext(1, 1, 24000).decodeAudioData(bytes);
        return decoded.duration;
    }""", link.get_attribute("href"))
    page.screenshot(path=str(screenshot_dir / "generate.png"), full_page=True)

    data, rate = soundfile.read(root / "results" / "v" / "v_0001.wav")
    assert rate == 24000 and abs(duration - len(data) / rate) < 0.01 and duration > 0.4  # 10 codes: 0.46 s
    assert '"candidates": 2,' in (root / "results" / "v" / "v_0001.json").read_text()
    assert "v/v_0001.wav" in page.locator("#gen-results").inner_text() or \
        "v/v_0001.wav" in page.locator("#gen-results input").input_value()
