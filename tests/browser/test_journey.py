"""The whole journey in a real browser, as a newcomer does it with `./start.sh --demo`:
prepare the demo voice with real Whisper base, save a training configuration, train, watch the graph
grow, stop, resume, let it finish, generate with the fine-tune and play it. Screenshots of every tab.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import pytest
import soundfile

from ui_helpers import (assert_no_internals, choose, field, fill, memory_estimate_settled, open_page, plot_points,
                        status_text, wait_until)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DATASET = "demo"
RUN = "journey"
TARGET_STEPS = 120  # enough to watch the graph grow and stop mid-run, even at 0.08 s a step


def prepare_demo_voice(page, whisper_base: Path) -> None:
    page.get_by_role("tab", name="Prepare").click()
    assert page.locator("#prepare-voice input").first.input_value() == "demo"
    page.get_by_text("Options", exact=True).click()
    assert page.locator("#prepare-backend input").first.input_value() == "faster-whisper"
    fill(page, "prepare-model", str(whisper_base))
    fill(page, "prepare-language", "en")
    fill(page, "prepare-validation-fraction", "0.2")
    page.locator("#prepare-run").click()
    page.locator("#prepare-status").get_by_text("Prepared").wait_for(timeout=240_000)


def configure_run(page, root: Path, *, run: str, epochs: int, save_every: int) -> Path:
    page.get_by_role("tab", name="Train").click()
    page.locator("#config-refresh").click()  # the dataset was prepared after the page loaded
    choose(page, "config-dataset", DATASET)
    fill(page, "config-run", run)
    for key, value in (("epochs", epochs), ("batch-size", 2), ("save-every-epochs", save_every),
                       ("validation-every-epochs", save_every), ("keep-last", 2)):
        fill(page, f"config-{key}", str(value))
    choose(page, "config-device", "cpu")
    assert field(page, "config-model-models-dir").input_value() == "models/tiny"  # from Settings, set by --demo
    page.locator("#config-summary").get_by_text(f"x {epochs} epochs").wait_for()
    memory_estimate_settled(page)
    page.locator("#config-save").click()
    page.locator("#config-message").get_by_text("Saved").wait_for()
    run_dir = root / "training" / DATASET / "runs" / run
    assert (run_dir / "train.yaml").is_file()
    wait_until(lambda: f"{DATASET}/{run}" in page.locator("#run-dropdown input").input_value(), 30,
               "the saved run to be selected in the Run section")
    return run_dir


def dataset_lines(root: Path) -> list[str]:
    lists = [root / "training" / DATASET / name for name in ("train.txt", "validation.txt")]
    return [line for path in lists for line in path.read_text().splitlines() if line.strip()]


def train_clips(root: Path) -> int:
    return len([line for line in (root / "training" / DATASET / "train.txt").read_text().splitlines() if line.strip()])


def epochs_for(root: Path, steps: int) -> int:
    """Epochs that make about `steps` optimizer steps at batch size 2."""
    return max(2, math.ceil(steps / max(1, train_clips(root) // 2)))


def stop_trainer(run_dir: Path) -> None:
    """Never leave a trainer behind, whatever failed."""
    from tortoise_studio.errors import UserError
    from tortoise_studio.runs.launch import stop_run
    try:
        stop_run(run_dir, timeout=20)
    except UserError:
        pass


# ---- the journey -------------------------------------------------------------------------------------

def test_journey_from_recordings_to_a_fine_tuned_voice(start_ui, page, tmp_path, whisper_base, screenshot_dir):
    root = tmp_path / "ws"
    server = start_ui(root, "--demo")
    open_page(page, server.url)
    page.locator("#demo-banner").get_by_text("generated audio is noise").wait_for()

    prepare_demo_voice(page, whisper_base)
    assert "5 clips" in page.locator("#prepare-summary").inner_text()
    assert train_clips(root) >= 2
    # Whisper really listened: the first recording says "...crossed the finish line with me..."
    assert any("finish line" in line.lower() for line in dataset_lines(root)), dataset_lines(root)
    page.locator("#prepare-clips").get_by_text("finish line").first.wait_for()
    page.screenshot(path=str(screenshot_dir / "prepare.png"), full_page=True)

    epochs = epochs_for(root, TARGET_STEPS)
    run_dir = configure_run(page, root, run=RUN, epochs=epochs, save_every=max(1, epochs // 4))
    try:
        train_watch_stop_resume(page, run_dir, screenshot_dir)
    except BaseException:
        page.screenshot(path=str(screenshot_dir / "journey-failed.png"), full_page=True)
        raise
    finally:
        stop_trainer(run_dir)
    finetune = root / "models" / "finetunes" / f"{DATASET}-{RUN}.pth"
    assert finetune.is_file()

    generate_and_play(page, root, finetune, screenshot_dir)
    page.get_by_role("tab", name="Settings").click()
    page.locator("#settings-check").click()
    page.locator("#settings-models-table").get_by_text("autoregressive.pth").wait_for()
    page.screenshot(path=str(screenshot_dir / "settings.png"), full_page=True)
    assert_no_internals(page)


def train_watch_stop_resume(page, run_dir: Path, screenshot_dir: Path) -> None:
    page.locator("#run-train").click()
    wait_until(lambda: "running" in status_text(page), 60, "the run to be running")
    counts = [wait_until(lambda: plot_points(page), 120, "the first points on the loss graph")]
    wait_until(lambda: plot_points(page) > counts[-1], 30, "the loss graph to grow")
    counts.append(plot_points(page))
    page.screenshot(path=str(screenshot_dir / "train.png"), full_page=True)

    page.locator("#run-stop").click()
    wait_until(lambda: "stopped" in status_text(page), 120, "the run to stop")
    stopped_at = int(re.search(r"last checkpoint: step (\d+)", status_text(page)).group(1))
    total = int(re.search(r"step \d+/(\d+)", status_text(page)).group(1))
    assert 0 < stopped_at < total
    checkpoint = page.locator("#run-checkpoint input")
    wait_until(lambda: f"step {stopped_at}" in checkpoint.input_value(), 60, "the stop's checkpoint offered")

    page.locator("#run-resume").click()
    wait_until(lambda: "done" in status_text(page), 300, "the resumed run to finish")
    assert f"step {total}/{total}" in status_text(page)
    assert plot_points(page) > counts[-1]
    events = [line for line in (run_dir / "metrics.jsonl").read_text().splitlines() if '"kind": "event"' in line]
    assert any('"event": "resume"' in e and f'"step": {stopped_at}' in e for e in events), events


def generate_and_play(page, root: Path, finetune: Path, screenshot_dir: Path) -> None:
    page.get_by_role("tab", name="Generate").click()
    page.locator("#gen-refresh").click()
    fill(page, "gen-text", "Hello from my own voice.")
    choose(page, "gen-voice", "demo")
    choose(page, "gen-model", f"fine-tune: {finetune.stem}")
    choose(page, "gen-preset", "ultra_fast")
    wait_until(lambda: field(page, "gen-candidates").input_value() == "16", 20, "the preset's 16 candidates")
    fill(page, "gen-candidates", "1")  # one candidate: the ranking step is not what this journey is about
    page.get_by_text("Advanced settings").click()
    fill(page, "gen-diffusion-iterations", "10")
    fill(page, "gen-max-mel-tokens", "40")
    page.locator("#gen-generate").click()
    page.locator("#gen-message").get_by_text("Saved").wait_for(timeout=240_000)
    message = page.locator("#gen-message").inner_text()
    assert finetune.stem in message, message
    wav = Path(re.search(r"Saved (\S+\.wav)", message).group(1))
    assert wav.parts[0] == "results"
    info = json.loads((root / wav).with_suffix(".json").read_text())
    assert info["models"]["autoregressive"]["path"] == str(finetune)
    assert (info["voice"], info["settings"]["preset"], info["settings"]["candidates"]) == ("demo", "ultra_fast", 1)
    audio, rate = soundfile.read(root / wav)
    assert rate == 24000 and len(audio) > 0.5 * rate
    play(page, "#gen-output", wav.name)
    page.screenshot(path=str(screenshot_dir / "generate.png"), full_page=True)


def play(page, block: str, name: str) -> None:
    """Press the player's play button and see its clock move (WaveSurfer keeps its <audio> in a shadow root)."""
    download = page.locator(f"{block} a[download]")
    wait_until(lambda: (download.get_attribute("download") or "") == name, 30, f"{name} in the player")
    clock = """(sel) => { const root = document.querySelector(sel + ' #waveform div')?.shadowRoot;
                          const media = root && root.querySelector('audio, video');
                          return media ? (media.paused && media.currentTime === 0 ? 'idle' : media.currentTime) : null; }"""
    # A player that the page re-renders after the click (the section's second update of the same file, which on
    # a loaded machine can land after the click) comes back paused at 0: press play again, as a user would.
    pressed = [0.0]

    def playing() -> bool:
        state = page.evaluate(clock, block)
        if state == "idle" and time.monotonic() - pressed[0] > 5:
            page.locator(f"{block} button.play-pause-button").click()
            pressed[0] = time.monotonic()
        return isinstance(state, (int, float)) and state > 0.2

    wait_until(playing, 120, "the result to play")
