"""The Configure section's handlers with plain values, and its form covering every configuration key."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tortoise_studio import config as C
from tortoise_studio.ui import configure_section as cs
from tortoise_studio.ui.context import AppContext
from tortoise_studio.train.optim import learning_rates

from test_config import make_base_model, make_dataset


@pytest.fixture
def ctx(workspace, real_clips):
    make_dataset(workspace, real_clips, n_train=8)
    make_base_model(workspace)
    return AppContext(workspace)


def form(**changes) -> list:
    return cs.form_values(dataclasses.replace(C.TrainingConfig(dataset="ds", batch_size=4), **changes))


def set_value(values: list, key: str, value) -> list:
    values = list(values)
    values[cs.KEYS.index(key)] = value
    return values


def test_the_form_has_one_widget_per_configuration_key():
    assert sorted(cs.KEYS) == sorted(key for key, _, _ in C.flat_fields())
    assert len(set(cs.KEYS)) == len(cs.KEYS)
    assert cs.elem_id("scheduler.eta_min") == "config-scheduler-eta-min"


def test_form_values_round_trip_to_the_same_configuration():
    c = C.TrainingConfig(dataset="ds", max_steps=30, model=C.ModelConfig(dropout=0.1),
                         scheduler=C.SchedulerConfig(milestones=[2, 4.5]))
    values = cs.form_values(c)
    assert values[cs.KEYS.index("scheduler.milestones")] == "2, 4.5"
    assert values[cs.KEYS.index("max_steps")] == "30" and values[cs.KEYS.index("model.dropout")] == "0.1"
    assert cs.config_from_form(values) == c


def test_save_writes_the_form_and_load_refills_it(ctx):
    values = set_value(set_value(form(epochs=9), "scheduler.milestones", "3, 6"), "learning_rate", 2e-5)
    message, path = cs.save_handler(ctx, "r1", values)
    assert path == str(ctx.workspace.root / "training/ds/runs/r1/train.yaml") and "Saved" in message
    saved = C.load_config(path)
    assert (saved.epochs, saved.scheduler.milestones, saved.learning_rate) == (9, [3.0, 6.0], 2e-5)
    loaded, run, note = cs.load_handler(ctx, "training/ds/runs/r1/train.yaml")
    assert run == "r1" and loaded == cs.form_values(saved) and cs.config_from_form(loaded) == saved
    assert cs.saved_configs(ctx) == ["training/ds/runs/r1/train.yaml"]


def test_save_with_errors_shows_them_and_writes_nothing(ctx):
    message, path = cs.save_handler(ctx, "bad", form(batch_size=64))
    assert path is None and "batch_size: 64 is more than the 8 training clips" in message
    message, path = cs.save_handler(ctx, "bad", set_value(form(), "scheduler.gamma", None))
    assert path is None and "scheduler.gamma: expected a number, got None" in message
    message, path = cs.save_handler(ctx, "bad", set_value(form(), "optimizer.betas", "0.9, [x"))
    assert path is None and "optimizer.betas: cannot read" in message
    assert not (ctx.workspace.root / "training/ds/runs").exists()


def test_validate_offers_suggestions_and_accept_puts_them_in_the_form(ctx):
    values = form(batch_size=32, scheduler=C.SchedulerConfig(milestones=[6, 3]), epochs=10)
    message, table = cs.validate_handler(ctx, values)
    assert "batch_size: 32 is more than the 8 training clips" in message and "are not increasing" in message
    assert dict(zip(table["key"], table["value"])) == {"batch_size": "8", "scheduler.milestones": "[3.0, 6.0]"}
    accepted, note = cs.accept_handler(values, table)
    assert accepted[cs.KEYS.index("batch_size")] == 8 and accepted[cs.KEYS.index("scheduler.milestones")] == "3, 6"
    assert C.validate_config(cs.config_from_form(accepted), ctx.workspace) == []


def test_suggest_reads_the_dataset(ctx):
    note, table = cs.suggest_handler(ctx, form(device="cpu"))
    assert "8 clips" in note and list(table["key"])[:2] == ["batch_size", "gradient_accumulation"]
    accepted, _ = cs.accept_handler(form(device="cpu"), table)
    assert C.validate_config(cs.config_from_form(accepted), ctx.workspace) == []


def test_schedule_preview_is_the_trainers_schedule(ctx):
    values = form(epochs=10, warmup_steps=2, scheduler=C.SchedulerConfig(type="cosine", restarts=2))
    frame, summary = cs.schedule_preview(ctx, "r2", values)
    c = cs.config_from_form(values)
    assert "**2** steps per epoch" in summary and "**20** optimizer steps" in summary
    assert str(ctx.workspace.root / "training/ds/runs/r2") in summary
    assert list(frame["step"]) == list(range(20)) and list(frame["lr"]) == learning_rates(c, 2, 20)


def test_long_schedules_are_thinned_but_keep_each_drop(ctx):
    c = dataclasses.replace(C.TrainingConfig(dataset="ds"), epochs=5000, scheduler=C.SchedulerConfig(milestones=[1001]))
    steps = cs._plot_steps(c, 1, 5000)
    assert len(steps) < 2100 and {1000, 1001, 4999} <= set(steps)


def test_source_choices_list_finetunes_and_complete_checkpoints_latest_first(ctx):
    root = ctx.workspace.root
    (root / "models/finetunes").mkdir(parents=True)
    (root / "models/finetunes/mine.pth").write_bytes(b"w")
    (root / "training/ds/runs/r").mkdir(parents=True)
    (root / "training/ds/runs/r/train.yaml").write_text("dataset: ds\n")
    for step in (20, 100, 3):
        folder = root / f"training/ds/runs/r/checkpoints/{step}"
        folder.mkdir(parents=True)
        for name in ("model.pth", "state.pth"):
            (folder / name).write_bytes(b"w")
        (folder / "meta.json").write_text(json.dumps({"step": step, "epoch": 1.0}))
    # a checkpoint being written (or left by a killed save) and one without its state are never offered
    for unfinished in (".tmp-200-4242", "150"):
        (root / f"training/ds/runs/r/checkpoints/{unfinished}").mkdir()
        (root / f"training/ds/runs/r/checkpoints/{unfinished}/model.pth").write_bytes(b"w")
    assert cs.source_choices(ctx, "ds") == ["base", "models/finetunes/mine.pth",
                                            "training/ds/runs/r/checkpoints/100/model.pth",
                                            "training/ds/runs/r/checkpoints/20/model.pth",
                                            "training/ds/runs/r/checkpoints/3/model.pth"]
