"""The Run section's handlers on synthetic run folders (real files: metrics.jsonl, train.yaml, checkpoints)."""

from __future__ import annotations

import json
import os
import re
import time

import numpy as np
import pandas as pd
import pytest

from tortoise_studio.metrics.writer import MetricsWriter
from tortoise_studio.ui import run_section as rs
from tortoise_studio.ui.context import AppContext


def make_run(workspace, dataset: str, run: str, *, steps: int = 30, events=(), val_mel=None, mtime=None):
    run_dir = workspace.run_dir(dataset, run)
    run_dir.mkdir(parents=True)
    (run_dir / "train.yaml").write_text(f"dataset: {dataset}\n")
    with MetricsWriter(run_dir / "metrics.jsonl") as w:
        w.event("start", step=0, steps_total=100)
        for s in range(1, steps + 1):
            w.train(step=s, epoch=s / 10, samples=4 * s, lr=1e-5, grad_norm=1.0, sec_per_step=0.5,
                    losses={"loss_text_ce": 4.0, "loss_mel_ce": 3.0 - s * 0.01, "loss_gpt_total": 3.04 - s * 0.01})
            if val_mel and s % 10 == 0:
                w.val(step=s, epoch=s / 10, losses={"loss_text_ce": 4.1, "loss_mel_ce": val_mel[s // 10 - 1],
                                                    "loss_gpt_total": 3.0})
        for name, fields in events:
            w.event(name, **fields)
    if mtime is not None:
        os.utime(run_dir / "train.yaml", (mtime, mtime))
    return run_dir


def make_checkpoint(run_dir, step: int, mel: float):
    folder = run_dir / "checkpoints" / str(step)
    folder.mkdir(parents=True)
    (folder / "model.pth").write_bytes(b"x")
    (folder / "state.pth").write_bytes(b"x")
    (folder / "meta.json").write_text(json.dumps({"step": step, "epoch": step / 10, "time": "2025-01-01T00:00:00",
                                                  "losses": {"loss_mel_ce": mel, "loss_text_ce": 4.0}}))


def drawn(frame) -> set[str]:
    """Series with a line to draw (the plot also gets one-point placeholders for every colour)."""
    counts = frame["series"].value_counts()
    return set(counts[counts > 1].index)


@pytest.fixture
def ctx(workspace):
    return AppContext(workspace)


def test_run_list_newest_first_with_state_and_saved_run_selected(ctx, workspace):
    old = make_run(workspace, "alice", "first", events=[("stop", {"step": 30})], mtime=time.time() - 100)
    new = make_run(workspace, "alice", "second", events=[("error", {"step": 3, "message": "CUDA out of memory"})])
    choices = rs.run_choices(ctx)
    assert choices == [("alice/second — failed", str(new)), ("alice/first — stopped", str(old))]
    update = rs.select_run_handler(ctx)(str(old / "train.yaml"))
    assert update["value"] == str(old) and update["choices"] == choices


def test_view_of_a_failed_run_shows_banner_status_and_log(ctx, workspace):
    run_dir = make_run(workspace, "alice", "r1", steps=12, events=[("checkpoint", {"step": 10}),
                                                                  ("error", {"step": 12, "message": "CUDA out of memory"})])
    (run_dir / "train.log").write_text("step 11\nstep 12\nRuntimeError: CUDA out of memory\n")
    v = rs.view(ctx, str(run_dir), 0.0, 0, 0, 0, 0)
    assert "failed" in v["status"] and "step 12/100" in v["status"] and "last checkpoint: step 10" in v["status"]
    assert "Training failed" in v["banner"] and "CUDA out of memory" in v["banner"]
    assert "RuntimeError: CUDA out of memory" in v["log"]
    assert v["alive"] is False
    losses = v["losses"]["value"]
    assert drawn(losses) == {"train mel", "train text"}
    assert losses[losses["series"] == "train mel"]["step"].tolist() == list(range(1, 13))


def test_a_tick_redraws_the_plots_only_when_rows_arrived(ctx, workspace):
    run_dir = make_run(workspace, "alice", "r1", steps=5)
    first = rs.view(ctx, str(run_dir), 0.0, 0, 0, 0, 0)
    assert first["drawn"][:3] == (str(run_dir), 5, 0)
    again = rs.view(ctx, str(run_dir), 0.0, 0, 0, 0, 0, list(first["drawn"]))  # a State's list
    assert again["losses"] == again["total"] == again["lr"] == {"__type__": "update"}  # left as they are
    assert again["status"] == first["status"] and again["log"] == first["log"]
    assert again["drawn"] == first["drawn"]  # still what the page shows
    with MetricsWriter(run_dir / "metrics.jsonl") as w:
        w.train(step=6, epoch=0.6, samples=24, lr=1e-5, grad_norm=1.0, sec_per_step=0.5,
                losses={"loss_text_ce": 4.0, "loss_mel_ce": 2.9, "loss_gpt_total": 2.94})
    grown = rs.view(ctx, str(run_dir), 0.0, 0, 0, 0, 0, first["drawn"])  # not running: drawn at once
    assert grown["drawn"][:3] == (str(run_dir), 6, 0) and grown["drawn"][3] >= first["drawn"][3]
    assert grown["losses"]["value"].query("series == 'train mel'")["step"].max() == 6
    other = make_run(workspace, "alice", "r2", steps=5)  # as many rows, another run: drawn
    assert "value" in rs.view(ctx, str(other), 0.0, 0, 0, 0, 0, first["drawn"])["losses"]


def test_a_running_runs_plots_are_redrawn_at_most_every_few_seconds():
    drawn = ("runs/r1", 5, 1, 100.0)
    soon, later = 100.0 + rs.PLOT_SECONDS / 2, 100.0 + rs.PLOT_SECONDS
    assert rs.plots_current(drawn, ("runs/r1", 5, 1), True, later)  # nothing new
    assert rs.plots_current(drawn, ("runs/r1", 7, 1), True, soon)  # new rows, drawn a moment ago: they wait
    assert not rs.plots_current(drawn, ("runs/r1", 7, 1), True, later)  # ... until PLOT_SECONDS passed
    assert not rs.plots_current(drawn, ("runs/r1", 7, 1), False, soon)  # the run ended: its last rows at once
    assert not rs.plots_current(drawn, ("runs/r2", 5, 1), True, soon)  # another run
    assert not rs.plots_current(None, ("runs/r1", 5, 1), True, soon)  # never drawn by a tick


def test_overfitting_warning_reaches_the_page(ctx, workspace):
    run_dir = make_run(workspace, "alice", "r1", steps=50, val_mel=[2.0, 1.8, 1.9, 2.0, 2.1])
    v = rs.view(ctx, str(run_dir), 0.0, 0, 0, 0, 0)
    assert v["warning"].startswith("⚠ Possible overfitting")
    assert drawn(v["losses"]["value"]) == {"train mel", "train text", "val mel", "val text"}


def test_checkpoints_latest_first_with_losses(ctx, workspace):
    run_dir = make_run(workspace, "alice", "r1")
    make_checkpoint(run_dir, 10, 2.9)
    make_checkpoint(run_dir, 20, 2.8)
    (run_dir / "checkpoints" / "30.tmp").mkdir()  # an unfinished one is never offered
    choices = rs.checkpoint_choices(str(run_dir))
    assert choices == [("step 20 · epoch 2.00 · mel 2.8000 · text 4.0000", str(run_dir / "checkpoints" / "20")),
                       ("step 10 · epoch 1.00 · mel 2.9000 · text 4.0000", str(run_dir / "checkpoints" / "10"))]


def test_series_frame_smooths_train_only_and_respects_range():
    train = pd.DataFrame({"step": np.arange(1, 101), "loss_mel_ce": np.where(np.arange(100) % 2, 1.0, 3.0)})
    val = pd.DataFrame({"step": [50, 100], "loss_mel_ce": [2.5, 2.4]})
    raw = rs.series_frame(train, val, ["loss_mel_ce"], smoothing=0.0)
    smooth = rs.series_frame(train, val, ["loss_mel_ce"], smoothing=0.9)
    assert raw[raw.series == "train mel"]["value"].std() > 0.9
    assert smooth[smooth.series == "train mel"]["value"].iloc[20:].std() < 0.2
    assert smooth[smooth.series == "val mel"]["value"].tolist() == [2.5, 2.4]
    window = rs.series_frame(train, val, ["loss_mel_ce"], x_range=[40, 60])
    assert window["step"].min() == 40 and window["step"].max() == 60
    assert rs._limits(0, 0) is None and rs._limits(10, 0) == [10, None]


def test_compare_overlays_runs_of_the_same_dataset(ctx, workspace):
    a = make_run(workspace, "alice", "a", steps=10)
    b = make_run(workspace, "alice", "b", steps=20)
    make_run(workspace, "bob", "c", steps=5)
    assert sorted(value for _, value in rs.compare_choices(ctx, str(a))) == sorted([str(a), str(b)])
    frame = rs.compare_frame(ctx, [str(a), str(b)])
    assert frame.groupby("series")["step"].max().to_dict() == {"train a": 10, "train b": 20}


def test_actions_without_a_run_say_so(ctx):
    assert "Pick a run" in rs.start_handler(ctx, None)
    assert "Pick a run" in rs.stop_handler(ctx, None)
    assert "No run selected" in rs.view(ctx, None, 0, 0, 0, 0, 0)["status"]


def test_section_builds_inside_the_app(ctx):
    from tortoise_studio.ui.app import build_app
    app = build_app(ctx)
    ids = {block.elem_id for block in app.blocks.values() if getattr(block, "elem_id", None)}
    assert {"run-dropdown", "run-train", "run-stop", "run-resume", "run-checkpoint", "run-loss-plot",
            "run-lr-plot", "run-total-plot", "run-tensorboard", "run-compare"} <= ids


def test_run_label_follows_the_selected_runs_state_keeping_the_selection(ctx, workspace):
    old = make_run(workspace, "alice", "first", mtime=time.time() - 100)
    make_run(workspace, "alice", "second")
    (old / "train.yaml").with_name("metrics.jsonl").unlink()  # nothing started yet: configured
    listed = dict(rs.run_choices(ctx))
    assert "alice/first — configured" in listed
    v = rs.view(ctx, str(old), 0.0, 0, 0, 0, 0)
    # no change of state: no re-listing (the tick stays cheap)
    update, state = rs.run_dropdown_update(ctx, str(old), "configured", v["state"])
    assert state == "configured" and "choices" not in update and "value" not in update

    with MetricsWriter(old / "metrics.jsonl") as w:  # the run trained and stopped since the list was made
        w.event("start", step=0, steps_total=100)
        w.event("stop", step=5)
    v = rs.view(ctx, str(old), 0.0, 0, 0, 0, 0)
    update, state = rs.run_dropdown_update(ctx, str(old), "configured", v["state"])
    assert state == "stopped" and update["value"] == str(old)  # the older run stays selected
    assert ("alice/first — stopped", str(old)) in update["choices"]
    assert rs.run_dropdown_update(ctx, None, "configured", None)[0] == {"__type__": "update"}


def test_bad_axis_ranges_name_their_field_and_draw_automatic_ranges(ctx, workspace):
    run_dir = make_run(workspace, "alice", "axes")
    assert rs.axis_limits(0, 0, 0, 0) == (None, None)
    assert rs.axis_limits(10, 20, 0, 5) == ([10, 20], [None, 5])
    for values, message in (((-3, 0, 0, 0), "x min: -3 is not allowed; enter a step of 0 or more"),
                            ((0, float("inf"), 0, 0), "x max: inf is not allowed"),
                            ((0, 0, float("nan"), 0), "y min: nan is not allowed"),
                            ((30, 10, 0, 0), "x max: 10 is not allowed; it must be above x min (30)"),
                            ((0, 0, 2, 1), "y max: 1 is not allowed; it must be above y min (2)")):
        with pytest.raises(rs.UserError, match=re.escape(message)):
            rs.axis_limits(*values)
    v = rs.view(ctx, str(run_dir), 0.0, -3, 0, 0, 0)
    assert "x min: -3 is not allowed" in v["axis_error"]
    assert v["losses"]["x_lim"] is None and drawn(v["losses"]["value"]) == {"train mel", "train text"}
    assert rs.view(ctx, str(run_dir), 0.0, 5, 0, 0, 0)["axis_error"] == ""
