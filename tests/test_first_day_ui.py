"""A first day with the studio, UI half: fresh lists, the typed models folder, the demo's defaults and the
small faults (histogram order, legends, split choice, readable sidecar, quoted paths, metrics by name, a
quiet broken pipe, no Starlette warning flood). Handlers directly, on real files."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
import warnings

import pytest

from tortoise_studio.config import ModelConfig, TrainingConfig
from tortoise_studio.dataset import PrepareReport
from tortoise_studio.metrics.writer import MetricsWriter
from tortoise_studio.settings import load_settings, save_settings
from tortoise_studio.ui import configure_section as cs
from tortoise_studio.ui import generate_tab as gt
from tortoise_studio.ui import prepare_tab as pt
from tortoise_studio.ui import run_section as rs
from tortoise_studio.ui import settings_tab as st
from tortoise_studio.ui.context import AppContext


@pytest.fixture
def ctx(workspace):
    return AppContext(workspace)


def make_dataset(workspace, name: str, seconds: list[float], *, mtime: float | None = None):
    """A prepared dataset as Prepare leaves it: train.txt, validation.txt and dataset.json."""
    folder = workspace.dataset_dir(name)
    folder.mkdir(parents=True)
    clips = {f"audio/{name}_{i:04d}.wav": s for i, s in enumerate(seconds)}
    names = list(clips)
    (folder / "train.txt").write_text("".join(f"{c}|Clip {i}.\n" for i, c in enumerate(names[:-1])))
    (folder / "validation.txt").write_text(f"{names[-1]}|Last clip.\n")
    report = PrepareReport(voice=name, dataset=name, dataset_dir=str(folder), options={}, source_files=2,
                           files_used=2, clips=len(clips), train_clips=len(clips) - 1, validation_clips=1,
                           total_seconds=sum(seconds), clip_seconds=clips,
                           skipped=[{"file": "broken.wav", "reason": "not an audio file"}])
    (folder / "dataset.json").write_text(json.dumps({**report.to_json(), "a_later_field": 1}))
    if mtime is not None:
        os.utime(folder / "train.txt", (mtime, mtime))
    return folder


# ---- fresh lists ------------------------------------------------------------------------------------

def test_prepare_shows_a_voices_last_prepare_again(ctx, workspace):
    make_dataset(workspace, "alice", [1.5, 2.5, 10.2, 2.2])
    summary, histogram, skipped, clips, message = pt.load_table_handler(ctx, "alice")
    assert "**4 clips** (3 train, 1 validation)" in summary and message == ""
    assert histogram.set_index("seconds")["clips"].to_dict() == {**{label: 0 for label in pt.HISTOGRAM_LABELS},
                                                                 " 1-2": 1, " 2-3": 2, "10-11": 1}
    assert skipped["file"].tolist() == ["broken.wav"]
    assert clips["split"].tolist() == ["train", "train", "train", "validation"]
    summary, histogram, skipped, clips, _ = pt.load_table_handler(ctx, "not-prepared")
    assert summary == "" and histogram["clips"].sum() == 0 and clips.empty


def test_histogram_bins_in_number_order():
    frame = pt.duration_histogram([0.7, 9.5, 10.1, 11.5, 2.0])
    assert frame["seconds"].tolist() == pt.HISTOGRAM_LABELS == sorted(pt.HISTOGRAM_LABELS)  # the chart sorts as text
    assert [label.strip() for label in pt.HISTOGRAM_LABELS] == [f"{i}-{i + 1}" for i in range(12)]
    assert frame.set_index("seconds").loc[[" 0-1", " 2-3", " 9-10", "10-11", "11-12"], "clips"].tolist() == [1] * 5


def test_train_tab_opens_on_the_latest_dataset_with_its_schedule(ctx, workspace):
    make_dataset(workspace, "zed", [3.0] * 9, mtime=time.time() - 3600)
    make_dataset(workspace, "amy", [3.0] * 9)  # prepared last, though first by name
    assert cs.latest_dataset(ctx) == "amy"
    dataset, saved, source = cs.lists_update(ctx, None, None)
    assert dataset["value"] == "amy" and dataset["choices"] == ["amy", "zed"] and "value" not in saved
    assert "value" not in cs.lists_update(ctx, "zed", None)[0]  # a choice made is kept: no value is sent
    values = cs.form_values(TrainingConfig(dataset="amy", batch_size=4))
    plot, summary = cs.schedule_preview(ctx, "run1", values)
    assert "**8** training clips" in summary and len(plot) > 0
    # no dataset yet: a hint, not "dataset: expected text, got None"
    plot, summary = cs.schedule_preview(ctx, "run1", cs.form_values(TrainingConfig(dataset="")))
    assert "prepare one in the Prepare tab" in summary and "expected text" not in summary and plot.empty


def test_generate_lists_are_read_again_and_keep_the_selection(ctx, workspace, tortoise_voices):
    for name in ("bob", "carol"):
        workspace.voice_dir(name).mkdir()
    voice, model, model_a, model_b, results = gt.lists_update(ctx, "carol", "", "", "gone.pth", None)
    assert [v for _, v in voice["choices"]] == ["bob", "carol"] and "value" not in voice  # kept: no value sent
    assert "value" not in model and model_b["value"] == ""  # a model no longer there falls back to base
    workspace.voice_dir("dave").mkdir()  # made elsewhere (Prepare, another page, the command line)
    make_dataset(workspace, "bob", [2.0, 3.0])
    voice = gt.lists_update(ctx, "carol", "", "", "", None)[0]
    assert [v for _, v in voice["choices"]] == ["bob", "carol", "dave", "dataset:bob"]


# ---- Check Models --------------------------------------------------------------------------------

def test_check_models_checks_the_typed_folder_and_names_it(ctx, workspace, tiny_models):
    message, table = st.check_handler(ctx, str(tiny_models))
    assert message == "" and table["label"] == f"Model files in {tiny_models}"
    assert (table["value"]["status"] == "ok").all() and len(table["value"]) == 5
    message, table = st.check_handler(ctx, "models/nowhere")  # relative to the workspace, as saved ones are
    missing = workspace.root / "models" / "nowhere"
    assert table["label"] == f"Model files in {missing}"
    assert table["value"].values.tolist() == [[str(missing), "missing", "the folder does not exist"]]
    settings = load_settings(workspace)
    settings.models_dir = str(tiny_models)
    save_settings(workspace, settings)
    assert st.check_handler(ctx, "")[1]["label"] == f"Model files in {tiny_models}"  # empty field: the saved one


# ---- demo defaults -----------------------------------------------------------------------------------

def test_generate_starts_quick_and_short_with_the_demo_models(ctx, workspace, tiny_models):
    assert gt.mode_defaults(ctx) == ("fast", 96, 80, True, 500)
    settings = load_settings(workspace)
    settings.models_dir = str(tiny_models)
    save_settings(workspace, settings)
    preset, candidates, iterations, cond_free, max_mel_tokens = gt.mode_defaults(ctx)
    assert (preset, candidates, iterations, cond_free) == ("ultra_fast", 16, 30, False)
    assert max_mel_tokens <= 100  # at most 5 s a sentence: the random models never stop by themselves


# ---- small faults -----------------------------------------------------------------------------------

def test_each_chart_lists_only_its_own_series(ctx, workspace):
    run_dir = workspace.run_dir("ds", "r1")
    run_dir.mkdir(parents=True)
    (run_dir / "train.yaml").write_text("dataset: ds\n")
    with MetricsWriter(run_dir / "metrics.jsonl") as w:
        for s in range(1, 4):
            w.train(step=s, epoch=s / 2, samples=s, lr=1e-5, grad_norm=1.0, sec_per_step=0.1,
                    losses={"loss_text_ce": 4.0, "loss_mel_ce": 3.0, "loss_gpt_total": 3.04})
    losses, total, lr = rs.plots(rs.runs(ctx).reader(run_dir), 0.0)
    assert set(losses["value"]["series"]) == {"train mel", "val mel", "train text", "val text"}
    assert set(total["value"]["series"]) == {"train total", "val total"}
    assert set(lr["value"]["series"]) == {"lr"}


def test_split_is_chosen_for_the_selected_clip(ctx, workspace):
    make_dataset(workspace, "alice", [2.0, 3.0, 4.0])
    table = pt.clip_table(ctx, "alice")

    class Select:  # what Gradio passes to a select listener: the cell clicked
        index = [1, 2]
    player, split, row = pt.select_clip_handler(ctx, "alice", table, Select())
    assert row == 1 and split["value"] == "train" and split["interactive"] is True
    assert split["label"] == "Split of audio/alice_0001.wav"
    changed = pt.set_split_handler(table, row, "drop")
    assert changed["split"].tolist() == ["train", "drop", "validation"] and table["split"][1] == "train"
    assert pt.set_split_handler(table, None, "drop") == {"__type__": "update"}


def test_sidecar_reads_settings_first_and_files_last():
    info = {"voice_clips": [{"file": "a.wav", "sha256": "ab" * 32}], "text": "Hi.", "sentences": ["Hi."],
            "voice": "v", "settings": {"preset": "fast"}, "models_dir": "m", "models": {"autoregressive": {}},
            "label": "", "sample_rate": 24000, "duration_seconds": 1.0, "compute_seconds": 2.0, "device": "cpu",
            "created": "2025-01-01T00:00:00+00:00"}
    shown = gt.readable_sidecar(info)
    keys = list(shown)
    assert keys[:4] == ["text", "voice", "label", "settings"] and keys[-1] == "files (with sha256)"
    assert set(shown["files (with sha256)"]) == {"voice_clips", "models_dir", "models"}
    assert "sha256" not in json.dumps({k: v for k, v in shown.items() if k != "files (with sha256)"})


def test_saved_configuration_hint_quotes_a_path_with_spaces(tmp_path, tiny_models):
    from tortoise_studio.workspace import Workspace
    ws = Workspace.at(tmp_path / "my studio").ensure()
    make_dataset(ws, "My Voice", [3.0] * 9)
    values = cs.form_values(TrainingConfig(dataset="My Voice", batch_size=4, device="cpu",
                                                model=ModelConfig(models_dir=str(tiny_models))))
    note, path = cs.save_handler(AppContext(ws), "first", values)
    assert path is not None and " " in path
    assert f"`tortoise-studio train {shlex.quote(path)}`" in note
    header = open(path, encoding="utf-8").read().splitlines()[1]
    assert shlex.split(header.lstrip("# "))[2] == path


def metrics_cli(workspace, *args: str, **kwargs):
    return subprocess.run([sys.executable, "-m", "tortoise_studio", "--workspace", str(workspace.root), "metrics",
                           *args], capture_output=True, text=True, timeout=120, **kwargs)


def test_metrics_finds_a_run_by_workspace_path_or_dataset_and_run(workspace, tmp_path):
    run_dir = workspace.run_dir("My Voice", "first")
    run_dir.mkdir(parents=True)
    (run_dir / "train.yaml").write_text("dataset: My Voice\n")
    (run_dir / "train.log").write_text("data: 8 training clips\n")  # this trainer's log, not a DLAS log
    empty = metrics_cli(workspace, "training/My Voice/runs/first", cwd=tmp_path)  # not trained yet
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == "kind,step,epoch"
    with MetricsWriter(run_dir / "metrics.jsonl") as w:
        w.train(step=1, epoch=0.5, samples=4, lr=1e-5, grad_norm=1.0, sec_per_step=0.1,
                losses={"loss_text_ce": 4.0, "loss_mel_ce": 3.0, "loss_gpt_total": 3.04})
    for name in ("training/My Voice/runs/first", "My Voice/first"):
        result = metrics_cli(workspace, name, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[1].startswith("train,1,0.5,"), name
    missing = metrics_cli(workspace, "My Voice/second", cwd=tmp_path)
    assert missing.returncode == 2 and "My Voice/second: no such file or folder" in missing.stderr


def test_metrics_piped_to_head_ends_cleanly(workspace, tmp_path):
    run_dir = workspace.run_dir("ds", "long")
    run_dir.mkdir(parents=True)
    (run_dir / "train.yaml").write_text("dataset: ds\n")
    rows = ({"kind": "train", "step": s, "epoch": s / 100, "loss_mel_ce": 3.0, "time": "t"} for s in range(1, 20001))
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))  # far more than a pipe holds
    process = subprocess.Popen([sys.executable, "-m", "tortoise_studio", "--workspace", str(workspace.root),
                                "metrics", "ds/long"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()  # what `head -1` does after its line
    stderr = process.stderr.read().decode()
    assert process.wait(60) == 141, stderr
    assert first.startswith(b"kind,step") and stderr == ""


def test_only_gradios_renamed_status_code_warning_is_silenced():
    from starlette import status
    from starlette.exceptions import StarletteDeprecationWarning

    from tortoise_studio.ui.launcher import quiet_known_warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_known_warnings()
        assert status.HTTP_422_UNPROCESSABLE_ENTITY == 422  # what Gradio reads on every queue request
        assert status.HTTP_413_REQUEST_ENTITY_TOO_LARGE == 413  # any other deprecation still warns
    assert [str(w.message) for w in caught if w.category is StarletteDeprecationWarning] == [
        "'HTTP_413_REQUEST_ENTITY_TOO_LARGE' is deprecated. Use 'HTTP_413_CONTENT_TOO_LARGE' instead."]


def test_an_idle_server_keeps_the_cpu_idle():
    """Gradio's queue looks for new events in a loop, by default every 0.001 s (an idle server then keeps 8% of
    a core busy). The launcher's calm_queue slows that loop: a second of the real queue with nothing to do costs
    a few milliseconds of CPU (measured on the thread the loop runs on)."""
    import asyncio

    import gradio as gr

    from tortoise_studio.ui.launcher import PROGRESS_POLL_SECONDS, QUEUE_POLL_SECONDS, calm_queue

    with gr.Blocks() as app:
        gr.Markdown("nothing to do")
    calm_queue(app.queue())
    queue = app._queue
    assert (queue.sleep_when_free, queue.progress_update_sleep_when_free) == (QUEUE_POLL_SECONDS,
                                                                            PROGRESS_POLL_SECONDS)

    async def idle(seconds: float) -> None:
        loops = [asyncio.ensure_future(queue.start_processing()), asyncio.ensure_future(queue.start_progress_updates())]
        await asyncio.sleep(seconds)
        queue.stopped = True
        await asyncio.gather(*loops)

    def spent_idle() -> None:  # in a thread of its own: a test before may have left an event loop running here
        started = time.thread_time()
        asyncio.run(idle(1.0))
        spent.append(time.thread_time() - started)

    spent = []
    thread = threading.Thread(target=spent_idle)
    thread.start()
    thread.join(30)
    assert spent and spent[0] < 0.03, spent


def test_a_server_open_for_days_keeps_a_short_record_of_events_and_no_summary_of_them():
    """Gradio's queue records every event for its monitoring page and summarised all of them after each one (a page
    watching a run sends one every 2 s: 43,200 a day). After calm_queue the record keeps the latest events only and
    the summary is never recomputed; an event whose record was dropped while it ran still ends without an error.
    The events are written as Gradio's queue writes them (gradio/queueing.py)."""
    import gradio as gr

    from tortoise_studio.ui.launcher import RECORDED_EVENTS, calm_queue

    with gr.Blocks() as app:
        gr.Markdown("watching")
    calm_queue(app.queue())
    queue = app._queue
    started = time.thread_time()
    for n in range(43_200):
        event = f"event-{n}"
        queue.event_analytics[event] = {"time": n, "status": "queued", "process_time": None, "function": "tick",
                                        "session_hash": "page"}
        queue.event_analytics[event]["status"] = "success"
        queue.compute_analytics_summary(queue.event_analytics)
    spent = time.thread_time() - started
    assert len(queue.event_analytics) == RECORDED_EVENTS
    assert list(queue.event_analytics)[0] == f"event-{43_200 - RECORDED_EVENTS}"
    assert queue.cached_event_analytics_summary == {"functions": {}}  # never summarised
    queue.event_analytics["event-0"]["process_time"] = 0.5  # ended after its record was dropped
    assert "event-0" not in queue.event_analytics
    assert spent < 2.0, f"a day of events cost the queue {spent:.2f} CPU-s"  # Gradio's default: 8.7 s for the first 2,000


def test_generate_warms_up_in_the_background_only_for_the_demo(ctx, workspace, tiny_models):
    gt.start_warm_up(ctx)
    assert "synth_warm_up" not in ctx._services  # real models: nothing is loaded ahead of a click
    settings = load_settings(workspace)
    settings.models_dir = str(tiny_models)
    save_settings(workspace, settings)
    gt.start_warm_up(ctx)
    gt.start_warm_up(ctx)  # once per server
    assert "synth_warm_up" in ctx._services
    for thread in threading.enumerate():
        if thread.name == "warm-up":
            thread.join(300)
    assert "tortoise.api" in sys.modules
