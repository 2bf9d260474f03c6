"""The trainer as a real process: SIGTERM stops it with a checkpoint; after kill -9 the run resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from train_helpers import make_dataset, make_run, rows
from tortoise_studio.checkpoints import latest_checkpoint
from tortoise_studio.train import run

pytestmark = pytest.mark.slow


def _start(config, *args) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "tortoise_studio.train", str(config), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"trainer exited {proc.returncode} early: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting for the trainer")
        time.sleep(0.1)


def _train_steps(run_dir) -> int:
    path = run_dir / "metrics.jsonl"
    return len(rows(run_dir, "train")) if path.is_file() else 0


def test_sigterm_finishes_the_step_saves_a_checkpoint_and_exits_0(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models, epochs=1000, save_every_epochs=1000)
    proc = _start(config)
    _wait_for(lambda: _train_steps(config.parent) >= 3, proc)

    proc.send_signal(signal.SIGTERM)

    assert proc.wait(timeout=60) == 0
    stop, = rows(config.parent, event="stop")
    last_step = rows(config.parent, "train")[-1]["step"]
    assert stop["step"] == last_step
    assert latest_checkpoint(config.parent).step == last_step
    assert rows(config.parent, "event")[-1]["event"] == "stop"


def test_after_kill_9_the_last_checkpoint_resumes(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices)
    config = make_run(workspace, tiny_models, epochs=1000, save_every_epochs=2, keep_last=2)
    proc = _start(config)
    _wait_for(lambda: (latest_checkpoint(config.parent) or 0) and _train_steps(config.parent) >= 6, proc)

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    saved = latest_checkpoint(config.parent).step
    assert saved % 4 == 0  # a complete checkpoint of an epoch boundary (2 steps per epoch, every 2 epochs)

    assert run(config, overrides=[f"max_steps={saved + 3}"]) == 0

    resume, = rows(config.parent, event="resume")
    assert resume["step"] == saved
    assert rows(config.parent, "train")[-1]["step"] == saved + 3
    assert not list((config.parent / "checkpoints").glob(".tmp-*"))
