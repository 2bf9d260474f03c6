"""The Generate journey in a real browser: point Settings at the tiny set, type, pick a voice, Generate, listen."""

from __future__ import annotations

import shutil

import soundfile


def fill_number(page, elem_id: str, value) -> None:
    field = page.locator(f"#{elem_id} input").first
    field.fill(str(value))
    field.press("Tab")


def test_generate_plays_a_new_result(start_ui, page, tmp_path, tiny_models, tortoise_voices, screenshot_dir):
    root = tmp_path / "ws"
    (root / "voices" / "v").mkdir(parents=True)
    shutil.copy(tortoise_voices / "rainbow" / "1.wav", root / "voices" / "v" / "1.wav")
    server = start_ui(root)
    page.goto(server.url)

    page.get_by_role("tab", name="Settings").click()
    page.locator("#settings-models-dir textarea, #settings-models-dir input").first.fill(str(tiny_models))
    page.get_by_role("button", name="Save Settings").click()
    page.locator("#settings-message").get_by_text("Saved to").wait_for()

    page.get_by_role("tab", name="Generate").click()
    page.locator("#gen-text textarea").fill("Hello from the tiny model.")
    page.locator("#gen-voice input").click()
    page.get_by_role("option", name="v", exact=True).click()
    page.locator("#gen-preset input").click()
    page.get_by_role("option", name="ultra_fast").click()
    fill_number(page, "gen-candidates", 2)
    page.locator("#gen-advanced").get_by_text("Advanced settings").click()
    fill_number(page, "gen-diffusion-iterations", 2)
    fill_number(page, "gen-max-mel-tokens", 10)
    page.get_by_role("button", name="Generate", exact=True).click()

    page.locator("#gen-message").get_by_text("Saved results/v/v_0001.wav").wait_for(timeout=120_000)
    audio = page.locator("#gen-output audio")
    audio.wait_for(state="attached")
    page.wait_for_function("() => document.querySelector('#gen-output audio').duration > 0", timeout=30_000)
    duration = page.evaluate("() => document.querySelector('#gen-output audio').duration")
    page.screenshot(path=str(screenshot_dir / "generate.png"), full_page=True)

    data, rate = soundfile.read(root / "results" / "v" / "v_0001.wav")
    assert rate == 24000 and abs(duration - len(data) / rate) < 0.05 and duration > 0.3
    assert (root / "results" / "v" / "v_0001.json").is_file()
    assert "v/v_0001.wav" in page.locator("#gen-results").inner_text() or \
        "v/v_0001.wav" in page.locator("#gen-results input").input_value()
