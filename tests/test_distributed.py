"""The real trainer, launched for real: detach -> status -> stop through the command line, a killed run, a
stop during start-up, Ctrl-C, a run folder with an awkward name. (1 versus 2 processes, two machines and a
resume across a 2-process stop are in test_exact_training.py.)

Every run uses the tiny model set on real clips, on the CPU, for a handful of steps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from test_launch import make_dataset, tiny_config, wait_for, write_run
from tortoise_studio.runs import process
from tortoise_studio.runs.checkpoints import latest_checkpoint, list_checkpoints
from tortoise_studio.runs.launch import run_foreground, run_status, start_run, stop_run
from tortoise_studio.metrics.reader import MetricsReader
from tortoise_studio.runs.status import log_tail, read_pid_file
from tortoise_studio.workspace import Workspace

pytestmark = pytest.mark.slow

STEPS = 6
LOSSES = ("loss_text_ce", "loss_mel_ce", "loss_gpt_total")


@pytest.fixture(scope="module")
def space(tmp_path_factory, tortoise_voices, tiny_models):
    workspace = Workspace.at(tmp_path_factory.mktemp("dist") / "ws").ensure()
    make_dataset(workspace, tortoise_voices, "ds")
    return workspace


def _train(config, **options) -> None:
    """A foreground run to its end; on failure the assertion shows the run's output."""
    code = run_foreground(config, echo=False, **options)
    assert code == 0, f"trainer exited {code}:\n{log_tail(config.parent, lines=40)}"


def _losses(run_dir) -> dict[int, tuple[float, ...]]:
    reader = MetricsReader(run_dir)
    reader.refresh()
    return {int(row["step"]): tuple(float(row[k]) for k in LOSSES)
            for row in reader.train.to_dict(orient="records")}


def _weights(run_dir, step: int) -> dict:
    import torch
    checkpoint = next(c for c in list_checkpoints(run_dir) if c.step == step)
    return torch.load(checkpoint.model_path, map_location="cpu", weights_only=True)


def _assert_same_losses(a: dict, b: dict, steps) -> None:
    for step in steps:
        assert b[step] == pytest.approx(a[step], rel=1e-4), f"losses differ at step {step}"


def _assert_same_weights(a: dict, b: dict, tol: float = 1e-5) -> None:
    import torch
    assert a.keys() == b.keys()
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].is_floating_point())
    assert worst <= tol, f"weights differ by up to {worst}"
    assert all(torch.equal(a[k], b[k]) for k in a if not a[k].is_floating_point())


def _cli(*args: str, workspace: Workspace) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tortoise_studio", "--workspace", str(workspace.root), *args],
                          capture_output=True, text=True, timeout=120)


def _stepped(run_dir, at_least: int = 2):
    status = run_status(run_dir)
    assert status.state in ("running", "stalled"), f"{status.state}: {status.message}"
    return status if status.step >= at_least else None


def test_detach_status_stop_round_trip_in_a_folder_with_spaces_and_quotes(space, tiny_models):
    run_name = 'it\'s a "quoted" run'
    config = write_run(space, "ds", run_name, tiny_config("ds", tiny_models, epochs=500))
    run_dir = config.parent

    started = _cli("train", str(config), "--detach", workspace=space)
    assert started.returncode == 0, started.stderr
    assert str(run_dir) in started.stdout
    pid = read_pid_file(run_dir).pid
    assert f"pid {pid}" in started.stdout
    wait_for(lambda: _stepped(run_dir), 120, "two training steps")

    listing = _cli("status", workspace=space)
    row = next(line for line in listing.stdout.splitlines() if run_name in line)
    assert "running" in row.split() or "stalled" in row.split()
    one = _cli("status", str(run_dir), workspace=space)
    assert one.returncode == 0 and str(run_dir) in one.stdout

    # the same devices (cpu) are taken: a second run is refused, naming the first
    other = write_run(space, "ds", "other", tiny_config("ds", tiny_models))
    refused = _cli("train", str(other), "--detach", workspace=space)
    assert refused.returncode == 2 and run_name in refused.stderr and "--force" in refused.stderr

    stopped = _cli("stop", str(run_dir), "--timeout", "60", workspace=space)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    status = run_status(run_dir)
    assert status.state == "stopped", status.message
    assert not process.is_alive(pid)
    checkpoint = latest_checkpoint(run_dir)
    assert checkpoint is not None and checkpoint.step == status.step == status.last_checkpoint
    assert "stopped" in _cli("status", str(run_dir), workspace=space).stdout


def test_a_killed_run_is_crashed_with_its_log_tail(space, tiny_models):
    config = write_run(space, "ds", "killed", tiny_config("ds", tiny_models, epochs=500))
    status = start_run(config)
    assert status.state == "running" and status.pid == read_pid_file(config.parent).pid
    wait_for(lambda: _stepped(config.parent, at_least=1), 120, "a training step")
    os.killpg(status.pid, signal.SIGKILL)
    crashed = wait_for(lambda: (s := run_status(config.parent)).state == "crashed" and s, 20, "the crash")
    assert "without a done, stop or error event" in crashed.message
    assert log_tail(config.parent) in crashed.message and crashed.message.count("\n") >= 2


def test_a_stop_during_start_up_still_ends_the_run(space, tiny_models):
    """Stopping before the first step (the model still loading) must not leave processes behind."""
    config = write_run(space, "ds", "early", tiny_config("ds", tiny_models, epochs=500, gpus=2))
    start_run(config)
    final = stop_run(config.parent, timeout=60)
    assert not read_pid_file(config.parent).alive()
    assert final.state == "stopped", final.message


def test_foreground_train_forwards_ctrl_c_as_a_graceful_stop(space, tiny_models, tmp_path):
    config = write_run(space, "ds", "foreground", tiny_config("ds", tiny_models, epochs=500))
    with open(tmp_path / "out.txt", "wb") as out:
        cli = subprocess.Popen([sys.executable, "-m", "tortoise_studio", "train", str(config)],
                               stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: (config.parent / "run.pid").exists() and _stepped(config.parent, at_least=1),
                     120, "a training step")
            cli.send_signal(signal.SIGINT)  # what Ctrl-C does to the command in the terminal
            assert cli.wait(timeout=60) == 0
        finally:
            if cli.poll() is None:
                cli.kill()
    status = run_status(config.parent)
    assert status.state == "stopped" and latest_checkpoint(config.parent).step == status.step
    printed = (tmp_path / "out.txt").read_text()
    assert "stopping: the run saves a checkpoint first" in printed
    assert f"stopped at step {status.step}" in printed  # the trainer's own output reached the terminal
    assert f"stopped at step {status.step}" in (config.parent / "console.log").read_text()


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
