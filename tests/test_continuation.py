"""No dead ends: a finished run, or one whose data changed, can go on from the UI (continue with the new
data in a new run from its final weights, or start over) and from the command line. Real training on the
tiny model set with real clips; the UI's handlers start real trainer processes."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
import yaml

from test_launch import wait_for
from train_helpers import CLIPS, TEXTS, make_dataset, make_run, rows
from tortoise_studio.runs.checkpoints import latest_checkpoint
from tortoise_studio.cli import main as cli_main
from tortoise_studio.config import load_config
from tortoise_studio.runs.continuation import continue_run, nothing_left
from tortoise_studio.errors import UserError
from tortoise_studio.runs.status import run_status
from tortoise_studio.train import run
from tortoise_studio.ui import run_section as rs
from tortoise_studio.ui.context import AppContext


pytestmark = pytest.mark.usefixtures("one_torch_thread")




def add_clip(dataset_dir, tortoise_voices, index: int) -> None:
    """What preparing again with one more recording does to train.txt."""
    shutil.copy(tortoise_voices / CLIPS[index], dataset_dir / "audio" / f"clip_{index:04d}.wav")
    with open(dataset_dir / "train.txt", "a") as f:
        f.write(f"audio/clip_{index:04d}.wav|{TEXTS[index]}\n")


def wait_done(run_dir, timeout: float = 240.0) -> str:
    return wait_for(lambda: (s := run_status(run_dir).state) not in ("configured", "running") and s,
                      timeout, f"{run_dir.name} to finish")


@pytest.mark.slow
def test_finished_run_with_new_data_continues_or_starts_over_from_the_ui(workspace, tortoise_voices, tiny_models):
    ctx = AppContext(workspace)
    dataset_dir = make_dataset(workspace, tortoise_voices, n_train=7, n_val=1)
    config = make_run(workspace, tiny_models, epochs=1, batch_size=4)  # 1 step
    run_dir = config.parent
    assert run(config) == 0
    final = latest_checkpoint(run_dir)

    # Train on a finished run: nothing is started; the two ways on are offered
    assert nothing_left(run_dir)
    note = rs.start_handler(ctx, str(run_dir))
    assert "has finished" in note and "Continue with new data" in note and "Start over" in note
    assert not (run_dir / "run.pid").exists()

    # the data changed (prepared again with one more clip): Train in the UI says so and starts nothing ...
    add_clip(dataset_dir, tortoise_voices, 9)
    assert not nothing_left(run_dir)
    note = rs.start_handler(ctx, str(run_dir))
    assert "was trained on other data" in note and "train.txt changed" in note and rs.WAYS_ON in note, note
    assert not (run_dir / "run.pid").exists()
    # ... and the trainer itself refuses an exact resume
    assert run(config) == 2
    view = rs.view(ctx, str(run_dir), 0.0, None, None, None, None)
    assert "Training failed" in view["banner"] and "train_data" in view["banner"]
    assert rs.WAYS_ON in view["banner"]  # ... and the banner names the way on in the UI

    # Continue with new data: a new run from the final weights, on the 8 clips there are now ...
    final_weights = final.model_path.read_bytes()
    note, new_run = rs.continue_handler(ctx, str(run_dir))
    assert new_run is not None and new_run.endswith("r1-continued"), note
    assert f"step {final.step}" in note
    new_run = type(run_dir)(new_run)
    old_cfg, new_cfg = load_config(config), load_config(new_run / "train.yaml")
    start = new_run / f"from-r1-step{final.step}.pth"
    assert new_cfg.model.source == str(start.relative_to(workspace.root))
    assert new_cfg == dataclasses.replace(old_cfg, model=dataclasses.replace(old_cfg.model, source=new_cfg.model.source))
    assert wait_done(new_run) == "done", (new_run / "train.log").read_text()[-2000:]
    assert f"parameters from {start}" in (new_run / "train.log").read_text()
    assert [r["step"] for r in rows(new_run, "train")] == [1, 2]  # 8 clips, batch 4

    # Start over: the same run from the start, its history moved aside (the continued run keeps its starting
    # weights: they are its own file)
    note = rs.start_over_handler(ctx, str(run_dir))
    assert "over from the start" in note, note
    assert wait_done(run_dir) == "done", (run_dir / "train.log").read_text()[-2000:]
    assert start.read_bytes() == final_weights
    assert [r["step"] for r in rows(run_dir, "train")] == [1, 2]
    previous, = (run_dir / "previous").iterdir()
    assert len(rows(previous, "train")) == 1 and (previous / "checkpoints" / str(final.step)).is_dir()

    # a second continuation gets a name of its own
    assert continue_run(run_dir).parent.name == "r1-continued-2"


def test_continuing_needs_trained_weights_and_the_cli_does_the_same(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models)
    with pytest.raises(UserError, match="r1: no checkpoint yet"):
        continue_run(config.parent)
    note, new_run = rs.continue_handler(AppContext(workspace), str(config.parent))
    assert new_run is None and "no checkpoint yet" in note
    # the command-line equivalent documented in docs/launch.md (a checkpoint stands in for trained weights)
    checkpoint = config.parent / "checkpoints" / "2"
    checkpoint.mkdir(parents=True)
    shutil.copy(tiny_models / "autoregressive.pth", checkpoint / "model.pth")
    source = checkpoint.relative_to(workspace.root) / "model.pth"
    assert cli_main(["--workspace", str(workspace.root), "config", "ds", "--run", "r1-continued",
                     "--from", str(config), "--set", f"model.source={source}"]) == 0
    written = yaml.safe_load((config.parent.parent / "r1-continued" / "train.yaml").read_text())
    assert written["model"]["source"] == str(source) and written["epochs"] == 3
