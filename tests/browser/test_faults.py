"""Faults on the way: the UI server dies while a run trains, the trainer is killed, forms are filled with
nonsense. None of them may cost the user their run, write outside the workspace, or show Python's insides."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from ui_helpers import (assert_no_internals, choose, field, fill, memory_estimate_settled, open_page, plot_points,
                        status_text, stop_trainer, toasts, wait_answered, wait_until)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DATASET, RUN = "ds", "endless"


def make_workspace(root: Path, tortoise_voices: Path, tiny_models: Path) -> Path:
    """A prepared dataset of real speech (4 train, 1 validation clip) and a run that lasts until stopped."""
    from tortoise_studio.config import config_from_dict, save_config
    from tortoise_studio.workspace import Workspace
    ws = Workspace.at(root).ensure()
    folder = ws.training / DATASET
    (folder / "audio").mkdir(parents=True)
    clips = sorted((tortoise_voices / "rainbow").glob("*.wav"))
    for clip in clips:
        shutil.copy(clip, folder / "audio" / clip.name)
    lines = [f"audio/{clip.name}|Sentence number {i} of the rainbow voice." for i, clip in enumerate(clips)]
    (folder / "train.txt").write_text("\n".join(lines[:4]) + "\n")
    (folder / "validation.txt").write_text(lines[4] + "\n")
    cfg = config_from_dict({"dataset": DATASET, "model": {"models_dir": str(tiny_models)}, "epochs": 5000,
                            "batch_size": 2, "learning_rate": 1e-4, "device": "cpu",
                            "save_every_epochs": 4, "keep_last": 2, "validation": {"every_epochs": 4},
                            "evaluation": {"enabled": False}})  # the evaluator's faults have tests of their own
    return save_config(cfg, ws.run_dir(DATASET, RUN) / "train.yaml").parent


def open_run(page, server) -> None:
    open_page(page, server.url)
    page.get_by_role("tab", name="Train").click()
    wait_until(lambda: f"{DATASET}/{RUN}" in page.locator("#run-dropdown input").input_value(), 30,
               "the run to be listed and selected")


def train_rows(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("kind") == "train"]


def events(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("kind") == "event"]


def trainer_pid(run_dir: Path) -> int:
    from tortoise_studio.runs.status import read_pid_file
    return read_pid_file(run_dir).pid


def kill_server(server) -> None:
    """What a crash or a closed terminal does: the whole UI process group, at once, no clean-up."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


@pytest.fixture
def run_dir(tmp_path, tortoise_voices, tiny_models):
    run_dir = make_workspace(tmp_path / "ws", tortoise_voices, tiny_models)
    yield run_dir
    stop_trainer(run_dir)  # never leave a trainer behind, whatever failed


def test_ui_server_killed_while_training_finds_the_run_again(start_ui, page, run_dir, screenshot_dir):
    root = run_dir.parents[3]
    first = start_ui(root)
    open_run(page, first)
    page.locator("#run-train").click()
    wait_until(lambda: "running" in status_text(page), 60, "the run to be running")
    label = page.locator("#run-dropdown input")
    wait_until(lambda: label.input_value() == f"{DATASET}/{RUN} — running", 30, "the run list to say running")
    wait_until(lambda: plot_points(page), 120, "the first points on the loss graph")

    kill_server(first)
    pid = trainer_pid(run_dir)
    before = len(train_rows(run_dir))
    wait_until(lambda: len(train_rows(run_dir)) > before + 3, 60, "the run to go on training without the UI")
    os.kill(pid, 0)  # the same trainer process, still there

    second = start_ui(root)
    open_run(page, second)
    wait_until(lambda: "running" in status_text(page), 30, "the run to be found running")
    rows = len(train_rows(run_dir))
    # the whole graph: every step since the start, as a train mel and a train text line
    wait_until(lambda: plot_points(page) >= 2 * rows, 30, "the whole graph, from step 1")
    shown = plot_points(page)
    wait_until(lambda: plot_points(page) > shown, 30, "the graph to keep growing under the new server")
    assert trainer_pid(run_dir) == pid
    page.screenshot(path=str(screenshot_dir / "faults-after-ui-restart.png"), full_page=True)

    page.locator("#run-stop").click()
    wait_until(lambda: "stopped" in status_text(page), 120, "the run to stop")
    wait_until(lambda: label.input_value() == f"{DATASET}/{RUN} — stopped", 30, "the run list to say stopped")
    assert_no_internals(page)


def test_killed_trainer_shows_as_crashed_and_resumes_from_its_last_checkpoint(start_ui, page, run_dir,
                                                                           screenshot_dir):
    server = start_ui(run_dir.parents[3])
    open_run(page, server)
    page.locator("#run-train").click()
    found = wait_until(lambda: re.search(r"last checkpoint: step (\d+)", status_text(page)), 120,
                       "a periodic checkpoint")
    pid = trainer_pid(run_dir)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: "crashed" in status_text(page), 30, "the run to show as crashed")
    page.locator("#run-banner").get_by_text("Training crashed").wait_for()
    last = int(re.search(r"last checkpoint: step (\d+)", status_text(page)).group(1))
    assert last >= int(found.group(1))
    checkpoint = page.locator("#run-checkpoint input")
    wait_until(lambda: f"step {last}" in checkpoint.input_value(), 60, "the last checkpoint offered first")
    page.screenshot(path=str(screenshot_dir / "faults-crashed.png"), full_page=True)

    page.locator("#run-resume").click()
    wait_until(lambda: "running" in status_text(page), 60, "the resumed run to be running")
    wait_until(lambda: any(e["event"] == "resume" for e in events(run_dir)), 60, "the resume event")
    resume = [e for e in events(run_dir) if e["event"] == "resume"][-1]
    assert resume["step"] == last
    assert trainer_pid(run_dir) != pid
    wait_until(lambda: max(r["step"] for r in train_rows(run_dir)) > last, 60, "steps after the checkpoint")
    page.locator("#run-stop").click()
    wait_until(lambda: "stopped" in status_text(page), 120, "the run to stop")
    assert_no_internals(page)


# ---- nonsense in every form ----------------------------------------------------------------------------

def files_outside(root: Path) -> dict[str, int]:
    """Every file under the workspace's parent folder that is not in the workspace, with its size."""
    parent = root.parent
    return {str(p.relative_to(parent)): p.stat().st_size for p in parent.rglob("*")
            if p.is_file() and root not in p.parents}


# Gradio's own answer to a number outside a field's minimum/maximum: a toast that names neither the field
# nor what it allows. No field may answer so: the app's own message must.
RANGE_TOAST = re.compile(r"Value \S+ is (less|greater) than (minimum|maximum) value")


def expect(page, elem_id: str, *needles: str, timeout: float = 180) -> str:
    """The form answers: its message block names what was wrong; neither Gradio's nameless range toast
    nor anything of Python's insides shows."""
    box = page.locator(f"#{elem_id}")

    shown = [""]
    # the press's event first: until it answers, the box shows the answer before, which may hold every needle
    # too (and a button whose event is still pending ignores the next press)
    wait_answered(page)

    def answer() -> str:
        range_toasts = [t for t in toasts(page) if RANGE_TOAST.search(t)]
        assert not range_toasts, f"{elem_id}: Gradio answered {range_toasts} instead of the app"
        shown[0] = text = box.inner_text()
        # all: the message before this one may still be there
        return text if all(needle in text for needle in needles) else ""

    try:
        text = wait_until(answer, timeout, f"{elem_id} to answer with {needles}")
    except AssertionError as exc:  # say what the page showed instead: another answer, or the one before
        raise AssertionError(f"{exc}; it shows {shown[0]!r}; toasts: {toasts(page)}") from None
    assert_no_internals(page)
    page.evaluate("() => document.querySelectorAll('.toast-close').forEach(b => b.click())")  # one answer at a time
    return text


def test_nonsense_in_every_form_gets_a_message_and_writes_nothing_outside(start_ui, page, tmp_path, tortoise_voices,
                                                                         tiny_models):
    root = tmp_path / "deep" / "ws"
    make_workspace(root, tortoise_voices, tiny_models)
    (root / "settings.json").write_text(json.dumps({"models_dir": str(tiny_models), "device": "cpu"}))
    outside = files_outside(root)
    clip = sorted((tortoise_voices / "rainbow").glob("*.wav"))[0]
    server = start_ui(root)
    open_page(page, server.url)

    # Prepare: voice names that climb out, empty, or odd; numbers out of range; a language that is none.
    page.get_by_role("tab", name="Prepare").click()
    page.locator("#prepare-upload input[type=file]").set_input_files(str(clip))
    # each refusal says something of its own: an answer is never taken for the one before it
    for name, reason in (("../../escape", "'../../escape'"), ("..", "'..'"), ("a/b", "'a/b'"),
                         (" ", "type a new voice name"), ("x" * 300, "longer than 100 characters"),
                         ("con\u0000trol", "control character")):
        fill(page, "prepare-new-voice", name)
        page.locator("#prepare-add").click()
        expect(page, "prepare-status", "Not added", "voice", reason)
    page.get_by_text("Options", exact=True).click()
    fill(page, "prepare-new-voice", "Zoë 🐢 ünïcode")  # unicode is a fine name: it lands inside voices/
    page.locator("#prepare-add").click()
    expect(page, "prepare-status", "Added 1 file")
    assert (root / "voices" / "Zoë 🐢 ünïcode" / clip.name).is_file()
    # numbers out of range: the message names the field, the value and what is allowed
    for elem_id, value, needles in (("prepare-validation-fraction", "-3", ("validation_fraction: -3", "[0, 1)")),
                                    ("prepare-validation-fraction", "1e12",
                                     ("validation_fraction: 1000000000000", "[0, 1)")),
                                    ("prepare-language", "☃☃", ("language",))):
        fill(page, elem_id, value)
        page.locator("#prepare-run").click()
        expect(page, "prepare-status", "Prepare failed", *needles)
        fill(page, elem_id, "0.2" if "fraction" in elem_id else "auto")

    # Configure: each nonsense value alone; Save answers with the key and writes no train.yaml.
    page.get_by_role("tab", name="Train").click()
    page.locator("#config-refresh").click()
    choose(page, "config-dataset", DATASET)
    memory_estimate_settled(page)  # its first answer measures the model; a Save pressed meanwhile waits behind it
    for key, value, needle in (("run", "../../escape", "run"), ("epochs", "-5", "epochs"),
                               ("batch-size", "1000000000000", "batch_size"), ("learning-rate", "", "learning_rate"),
                               ("optimizer-betas", "abc, ☃", "optimizer.betas"), ("warmup-steps", "-1", "warmup_steps"),
                               ("scheduler-gamma", "-0.5", "scheduler.gamma")):
        good = field(page, f"config-{key}").input_value()
        fill(page, f"config-{key}", value)
        page.locator("#config-save").click()
        expect(page, "config-message", "Not saved", needle)
        fill(page, f"config-{key}", good)
    assert sorted(p.name for p in (root / "training" / DATASET / "runs").iterdir()) == [RUN]

    # Run section: plot ranges out of range name their field; the plots keep their automatic ranges.
    wait_until(lambda: f"{DATASET}/{RUN}" in page.locator("#run-dropdown input").input_value(), 30,
               "the run to be selected")
    for elem_id, value, needle in (("run-xmin", "-3", "x min: -3 is not allowed"),
                                   ("run-xmax", "-1e9", "x max: -1e+09 is not allowed")):
        fill(page, elem_id, value)
        field(page, elem_id).press("Enter")
        expect(page, "run-message", "Axis range not applied", needle, "0 or more")
        fill(page, elem_id, "0")
    fill(page, "run-xmin", "50")
    fill(page, "run-xmax", "10")
    field(page, "run-xmax").press("Enter")
    expect(page, "run-message", "x max: 10 is not allowed; it must be above x min (50)")
    fill(page, "run-xmin", "0")
    fill(page, "run-xmax", "0")

    # Generate: empty text, numbers far out of range.
    page.get_by_role("tab", name="Generate").click()
    for elem_id, value, needles in (("gen-text", "", ("text",)),
                                    ("gen-seed", "-1", ("seed: -1", "from 0 to 4294967295")),
                                    ("gen-candidates", "1000000000", ("candidates: 1000000000", "from 1 to 1024")),
                                    ("gen-candidates", "0", ("candidates: 0", "from 1 to 1024"))):
        good = field(page, elem_id).input_value()
        fill(page, "gen-text", "Hello." if elem_id != "gen-text" else "")
        fill(page, elem_id, value)
        page.locator("#gen-generate").click()
        expect(page, "gen-message", "Error", *needles)
        fill(page, elem_id, good)
    assert not list((root / "results").rglob("*.wav"))

    # Settings: an empty models folder is refused; one outside the workspace is only read, never written.
    page.get_by_role("tab", name="Settings").click()
    fill(page, "settings-models-dir", "")
    page.locator("#settings-save").click()
    expect(page, "settings-message", "Not saved", "models_dir")
    fill(page, "settings-models-dir", "../../../../../../../../nonexistent/☃")
    page.locator("#settings-save").click()
    expect(page, "settings-message", "Saved")
    page.locator("#settings-models-table").get_by_role("button", name="the folder does not exist").wait_for()

    assert files_outside(root) == outside
    assert not (tmp_path / "escape").exists() and not (tmp_path / "deep" / "escape").exists()
