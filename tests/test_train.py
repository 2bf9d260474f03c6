"""The trainer in-process on the tiny model set with real clips: outputs, exact resume, skips, overfitting."""

from __future__ import annotations

import json

import pytest
import torch

from train_helpers import make_dataset, make_run, rows
from tortoise_studio.runs.checkpoints import latest_checkpoint, list_checkpoints
from tortoise_studio.train import run


pytestmark = pytest.mark.usefixtures("one_torch_thread")




def test_run_writes_rows_checkpoints_and_a_strictly_loadable_model(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models, epochs=2, keep_last=0, validation={"enabled": True, "every_epochs": 1})
    run_dir = config.parent

    assert run(config) == 0

    train = rows(run_dir, "train")
    assert [r["step"] for r in train] == [1, 2, 3, 4]  # 8 clips / batch 4 = 2 steps per epoch
    assert [r["samples"] for r in train] == [4, 8, 12, 16]
    assert [r["epoch"] for r in train] == [0.5, 1.0, 1.5, 2.0]
    assert all(r["loss_mel_ce"] > 0 and r["lr"] == pytest.approx(1e-3) and r["grad_norm"] > 0 for r in train)
    # validation after epochs 1 and 2: its own rows at the current step, never a step of its own
    assert [r["step"] for r in rows(run_dir, "val")] == [2, 4]
    start, = rows(run_dir, event="start")
    assert start["steps_total"] == 4
    done, = rows(run_dir, event="done")
    assert done["step"] == 4 and done["reason"] == "epochs"

    assert [c.step for c in list_checkpoints(run_dir)] == [4, 2]
    meta = json.loads((run_dir / "checkpoints" / "4" / "meta.json").read_text())
    assert meta["losses"]["loss_mel_ce"] == pytest.approx(train[-1]["loss_mel_ce"])

    from tortoise.models.autoregressive import UnifiedVoice
    from tortoise_studio.models import model_sizes
    model = UnifiedVoice(**model_sizes(tiny_models)["autoregressive"])
    state = torch.load(latest_checkpoint(run_dir).model_path, weights_only=True)
    model.load_state_dict(state, strict=True)
    exported = torch.load(workspace.finetunes / "ds-r1.pth", weights_only=True)
    assert all(torch.equal(exported[k], state[k]) for k in state)

    log = (run_dir / "train.log").read_text()
    assert "iter:       4" in log and "Validation at epoch 2.00" in log
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_resume_continues_the_identical_trajectory(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    # TorToiSe's own dropout stays on: masks are reseeded per step and micro-batch, so resume keeps them
    settings = dict(epochs=6, gradient_accumulation=2, model={"dropout": None}, save_every_epochs=100,
                    scheduler={"type": "cosine", "restarts": 1})
    straight = make_run(workspace, tiny_models, run="straight", **settings)
    stopped = make_run(workspace, tiny_models, run="stopped", **settings)

    assert run(straight) == 0
    assert run(stopped, overrides=["max_steps=6"]) == 0
    assert rows(stopped.parent, event="done")[0]["reason"] == "max_steps"
    assert latest_checkpoint(stopped.parent).step == 6
    assert run(stopped) == 0  # --resume latest; max_steps removed: a silent change

    resume, = rows(stopped.parent, event="resume")
    assert resume["step"] == 6
    expected = rows(straight.parent, "train")
    got = rows(stopped.parent, "train")
    assert [r["step"] for r in got] == list(range(1, 13))
    keys = ("loss_text_ce", "loss_mel_ce", "lr", "grad_norm")
    assert [[r[k] for k in keys] for r in got[6:]] == [[r[k] for k in keys] for r in expected[6:]]
    a = torch.load(straight.parent / "checkpoints" / "12" / "model.pth", weights_only=True)
    b = torch.load(stopped.parent / "checkpoints" / "12" / "model.pth", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_a_changed_setting_names_it_and_needs_force(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models, epochs=4, max_steps=2)
    assert run(config) == 0

    assert run(config, overrides=["max_steps=3", "learning_rate=0.002"]) == 2
    error = rows(config.parent, event="error")[-1]
    assert "learning_rate: 0.001 -> 0.002" in error["message"] and "--force" in error["message"]
    assert latest_checkpoint(config.parent).step == 2

    assert run(config, overrides=["max_steps=3", "learning_rate=0.002"], force=True) == 0
    assert rows(config.parent, "train")[-1]["step"] == 3
    assert rows(config.parent, "train")[-1]["lr"] == pytest.approx(0.002)


def test_broken_line_and_missing_clip_are_skipped_and_reported(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices, extra_train_lines=["a line without a separator",
                                                                "audio/missing.wav|This clip does not exist."])
    config = make_run(workspace, tiny_models, epochs=1)

    assert run(config) == 0

    skipped = rows(config.parent, event="skipped")
    assert [(s["where"], "missing.wav" in s["reason"]) for s in skipped] == [("train.txt:9", False),
                                                                             ("train.txt:10", True)]
    assert "no '|'" in skipped[0]["reason"]
    assert [r["step"] for r in rows(config.parent, "train")] == [1, 2]  # the 8 good clips still train
    log = (config.parent / "train.log").read_text()
    assert "skipped train.txt:10" in log


def test_bad_configuration_writes_an_error_event(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models, batch_size=100)

    assert run(config) == 2
    error, = rows(config.parent, event="error")
    assert "batch_size: 100" in error["message"]


def test_fresh_start_moves_the_old_history_aside(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models, epochs=1)
    assert run(config) == 0
    first = (config.parent / "metrics.jsonl").read_text()

    assert run(config, resume="none") == 0

    previous, = (config.parent / "previous").iterdir()
    assert (previous / "metrics.jsonl").read_text() == first
    assert (previous / "checkpoints" / "2" / "model.pth").is_file()
    assert len(rows(config.parent, event="start")) == 1


@pytest.mark.slow
def test_overfitting_eight_clips_halves_the_mel_loss(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models, epochs=50, batch_size=2, learning_rate=2e-3, save_every_epochs=1000,
                      validation={"enabled": True, "every_epochs": 10})

    assert run(config) == 0

    train = rows(config.parent, "train")
    assert len(train) == 200
    first = sum(r["loss_mel_ce"] for r in train[:4]) / 4
    last = sum(r["loss_mel_ce"] for r in train[-4:]) / 4
    assert last < 0.5 * first
    # five validation passes, and still exactly 200 optimizer steps
    assert [r["step"] for r in rows(config.parent, "val")] == [40, 80, 120, 160, 200]


def test_a_step_slower_than_stall_seconds_writes_a_stalled_event(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models, epochs=2, stall_seconds=0.01)  # every step is slower than that

    assert run(config) == 0

    stalled = rows(config.parent, event="stalled")
    assert stalled and "no training step completed in 0.01 s" in stalled[0]["message"]
    assert rows(config.parent, event="done")


def test_an_unloadable_model_file_is_an_error_event(workspace, tortoise_voices, tiny_models, tmp_path):
    make_dataset(workspace, tortoise_voices)
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not weights")
    config = make_run(workspace, tiny_models, model={"source": str(broken)})

    assert run(config) == 2
    error, = rows(config.parent, event="error")
    assert "broken.pth" in error["message"] and "not a readable PyTorch weights file" in error["message"]


def test_gradient_checkpointing_saves_the_same_plain_state_dict(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models, max_steps=1, model={"gradient_checkpointing": True})

    assert run(config) == 0

    from tortoise.models.autoregressive import UnifiedVoice
    from tortoise_studio.models import model_sizes
    model = UnifiedVoice(**{**model_sizes(tiny_models)["autoregressive"], "checkpointing": False})
    model.load_state_dict(torch.load(latest_checkpoint(config.parent).model_path, weights_only=True), strict=True)
    assert rows(config.parent, "train")[0]["loss_mel_ce"] > 0


def test_the_process_rejects_a_missing_configuration(tmp_path):
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "tortoise_studio.train", str(tmp_path / "nope.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "nope.yaml: no such configuration file" in done.stderr
