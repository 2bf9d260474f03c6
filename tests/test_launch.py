"""launch.py and runs.py without the trainer: argv building, run states read from files, device
refusal and stop escalation, with real processes standing in as live runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tortoise_studio.runs import process
from tortoise_studio.cli import main as cli_main
from tortoise_studio.config import TrainingConfig, config_from_dict, save_config
from tortoise_studio.errors import UserError
from tortoise_studio.runs.launch import RunService, build_argv, format_table, run_status, start_run, stop_run
from tortoise_studio.metrics.writer import MetricsWriter
from tortoise_studio.runs.status import PidInfo, find_run_dir, write_pid_file

TRAIN_SECONDS = (1.0, 8.0)  # real clips short enough for the tiny model to step fast


# ---- shared helpers (test_distributed.py imports these) -----------------------------------------

def make_dataset(workspace, tortoise_voices: Path, name: str = "ds", *, n_train: int = 8, n_val: int = 2) -> Path:
    """training/<name>/ with real clips copied from tortoise's voices and a hand-written split."""
    import soundfile
    clips = [p for p in sorted(tortoise_voices.glob("*/*.wav"))
             if TRAIN_SECONDS[0] <= soundfile.info(str(p)).duration <= TRAIN_SECONDS[1]][:n_train + n_val]
    folder = workspace.training / name
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, clip in enumerate(clips):
        target = f"audio/{clip.parent.name}_{clip.stem}.wav"
        shutil.copy(clip, folder / target)
        lines.append(f"{target}|This is sentence number {i}, spoken by {clip.parent.name}.")
    (folder / "train.txt").write_text("\n".join(lines[:n_train]) + "\n")
    (folder / "validation.txt").write_text("\n".join(lines[n_train:]) + "\n")
    return folder


def tiny_config(dataset: str, models_dir: Path, **changes) -> TrainingConfig:
    """A configuration that steps in a fraction of a second on the tiny model set, on the CPU."""
    data = {"dataset": dataset, "model": {"models_dir": str(models_dir), "dropout": 0.0},
            "epochs": 50, "batch_size": 4, "learning_rate": 1e-3, "seed": 7, "device": "cpu",
            "save_every_epochs": 1, "keep_last": 0, "validation": {"enabled": False}, "stall_seconds": 600,
            "evaluation": {"enabled": False}}  # the evaluator has tests of its own
    for key, value in changes.items():
        node = data
        *parents, leaf = key.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return config_from_dict(data)


def write_run(workspace, dataset: str, run: str, cfg: TrainingConfig) -> Path:
    """training/<dataset>/runs/<run>/train.yaml; the folder is made by hand so any name can be tried."""
    return save_config(cfg, workspace.training / dataset / "runs" / run / "train.yaml")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def run_dir(workspace):
    """A configured run (no dataset needed: run_status reads only files)."""
    path = write_run(workspace, "ds", "r1", TrainingConfig(dataset="ds"))
    return path.parent


@pytest.fixture
def sleeper():
    """A live process in its own session, standing in for a run's process group."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _pid_info(proc, devices=("cpu",), started=None) -> PidInfo:
    import socket
    return PidInfo(pid=proc.pid, pgid=proc.pid, argv=[sys.executable, "-m", "tortoise_studio.train", "x"],
                   devices=list(devices), host=socket.gethostname(), start_ticks=process.start_ticks(proc.pid),
                   started=started or datetime.now(timezone.utc).isoformat())


def _dead_pid() -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    return proc


# ---- argv -----------------------------------------------------------------------------------------

def test_one_process_runs_the_trainer_module_directly():
    cfg = TrainingConfig(dataset="ds")
    argv = build_argv("/w/training/ds/runs/r/train.yaml", cfg, resume="none", overrides=["max_steps=3"], force=True)
    assert argv == [sys.executable, "-m", "tortoise_studio.train", "/w/training/ds/runs/r/train.yaml",
                    "--resume", "none", "--set", "max_steps=3", "--force"]


def test_several_processes_go_through_torchrun_standalone():
    cfg = TrainingConfig(dataset="ds", gpus=4)
    argv = build_argv("c.yaml", cfg)
    assert argv == [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=4", "--standalone",
                    "-m", "tortoise_studio.train", "c.yaml", "--resume", "latest"]
    # one process may do the work of `gpus: 4` (the trainer accumulates the micro-batches instead)
    assert build_argv("c.yaml", cfg, processes=1)[:3] == [sys.executable, "-m", "tortoise_studio.train"]


def test_several_machines_meet_at_the_rendezvous_endpoint():
    cfg = TrainingConfig(dataset="ds", gpus=8, nodes=2)
    argv = build_argv("c.yaml", cfg, node_rank=1, rdzv_endpoint="10.0.0.1:29400")
    assert argv[:8] == [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=8", "--nnodes=2",
                        "--node-rank=1", "--rdzv-backend=static", "--rdzv-endpoint=10.0.0.1:29400"]
    assert "--standalone" not in argv
    assert argv[8:11] == ["-m", "tortoise_studio.train", "c.yaml"]


def test_machine_options_are_checked():
    with pytest.raises(UserError, match="--rdzv-endpoint"):
        build_argv("c.yaml", TrainingConfig(dataset="ds", nodes=2))
    with pytest.raises(UserError, match="--node-rank 2"):
        build_argv("c.yaml", TrainingConfig(dataset="ds"), nnodes=2, node_rank=2, rdzv_endpoint="h:1")


def test_paths_with_spaces_and_quotes_stay_one_argument():
    path = "/w/training/my ds/runs/it's a \"test\" run/train.yaml"
    argv = build_argv(path, TrainingConfig(dataset="my ds"), overrides=["dataset=my ds"])
    assert argv[3] == path and argv[-1] == "dataset=my ds"


# ---- states read from files -------------------------------------------------------------------------

def test_a_saved_configuration_is_configured(workspace, run_dir):
    status = run_status(run_dir)
    assert (status.state, status.dataset, status.run, status.step) == ("configured", "ds", "r1", 0)
    assert [s.run_dir for s in RunService(workspace).list()] == [run_dir]


def test_a_folder_without_train_yaml_is_refused(tmp_path):
    with pytest.raises(UserError, match="no train.yaml"):
        run_status(tmp_path)
    with pytest.raises(UserError, match="not a run folder"):
        find_run_dir(tmp_path / "nowhere")


def test_events_of_a_finished_run_give_its_state(run_dir):
    with MetricsWriter(run_dir / "metrics.jsonl") as writer:
        writer.event("start", step=0, steps_total=10)
        writer.train(step=1, epoch=0.5, samples=4, losses={"loss_mel_ce": 5.0}, lr=1e-3, grad_norm=1.0,
                     sec_per_step=0.5)
        writer.event("checkpoint", step=1)
        writer.event("stop", step=1)
    status = run_status(run_dir)
    assert (status.state, status.step, status.steps_total, status.last_checkpoint) == ("stopped", 1, 10, 1)
    assert status.eta_seconds is None  # nothing left to wait for while stopped
    with MetricsWriter(run_dir / "metrics.jsonl") as writer:
        writer.event("resume", step=1, steps_total=10)
        writer.event("done", step=10)
    assert run_status(run_dir).state == "done"


def test_an_error_event_is_failed_with_its_message(run_dir):
    with MetricsWriter(run_dir / "metrics.jsonl") as writer:
        writer.event("start", step=0, steps_total=10)
        writer.event("error", step=0, message="model.source: autoregressive.pth not found")
    status = run_status(run_dir)
    assert status.state == "failed" and "autoregressive.pth not found" in status.message


def test_dead_processes_without_a_final_event_are_crashed_with_the_log_tail(run_dir):
    (run_dir / "console.log").write_text("==== tortoise-studio launch old\nold output\n"
                                         "==== tortoise-studio launch new\nTraceback (most recent call last):\n"
                                         "ModuleNotFoundError: No module named 'tortoise'\n")
    write_pid_file(run_dir, _pid_info(_dead_pid()))
    status = run_status(run_dir)
    assert status.state == "crashed"
    assert "No module named 'tortoise'" in status.message and "old output" not in status.message


def test_a_launch_that_died_before_writing_is_crashed_not_the_earlier_stop(run_dir):
    with MetricsWriter(run_dir / "metrics.jsonl") as writer:
        writer.event("start", step=0, steps_total=10)
        writer.event("stop", step=3)
    time.sleep(0.01)
    write_pid_file(run_dir, _pid_info(_dead_pid()))  # launched after the stop, died silently
    assert run_status(run_dir).state == "crashed"


def test_live_processes_are_running_and_a_stall_is_reported(run_dir, sleeper):
    write_pid_file(run_dir, _pid_info(sleeper))
    status = run_status(run_dir)
    assert (status.state, status.pid, status.devices) == ("running", sleeper.pid, ["cpu"])
    with MetricsWriter(run_dir / "metrics.jsonl") as writer:
        writer.event("start", step=0, steps_total=10)
        writer.event("stalled", step=0, message="no step completed in 600 s")
    status = run_status(run_dir)
    assert status.state == "stalled" and "600 s" in status.message


def test_a_reused_pid_is_not_mistaken_for_the_run(run_dir, sleeper):
    info = _pid_info(sleeper)
    info.start_ticks -= 1000  # the recorded process started earlier: this pid belongs to someone else now
    write_pid_file(run_dir, info)
    assert run_status(run_dir).state == "crashed"


def test_status_table_lists_runs(run_dir, workspace, capsys):
    assert cli_main(["--workspace", str(workspace.root), "status"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["RUN", "STATE", "STEP", "EPOCH", "ETA"]
    assert out.splitlines()[1].split()[:2] == ["ds/r1", "configured"]
    assert cli_main(["--workspace", str(workspace.root), "status", "ds/r1"]) == 0
    assert str(run_dir) in capsys.readouterr().out
    assert cli_main(["--workspace", str(workspace.root), "status", "no/such"]) == 2


def test_format_table_shows_steps_and_eta(run_dir):
    status = run_status(run_dir)
    status.step, status.steps_total, status.eta_seconds, status.state = 5, 100, 3725, "running"
    assert format_table([status]).splitlines()[1].split() == ["ds/r1", "running", "5/100", "0.00", "1:02:05"]


# ---- stop escalation and device refusal with real processes ----------------------------------------

def test_stop_kills_a_run_that_ignores_sigterm_after_the_timeout(run_dir):
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                 "signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
                                 "time.sleep(120)"], start_new_session=True, stdout=subprocess.PIPE)
    try:
        assert stubborn.stdout.readline().strip() == b"ready"
        write_pid_file(run_dir, _pid_info(stubborn))
        started = time.monotonic()
        status = stop_run(run_dir, timeout=1.0)
        assert 1.0 <= time.monotonic() - started < 10
        assert stubborn.wait(timeout=5) == -signal.SIGKILL
        # killed without its own stop event: stopped as asked, resuming from its last checkpoint
        assert status.state == "stopped" and "without a final checkpoint" in status.message
    finally:
        if stubborn.poll() is None:
            os.killpg(stubborn.pid, signal.SIGKILL)


def test_stop_without_waiting_returns_at_once_and_escalates_in_the_background(run_dir, sleeper):
    write_pid_file(run_dir, _pid_info(sleeper))
    started = time.monotonic()
    status = stop_run(run_dir, timeout=30, wait=False)
    assert time.monotonic() - started < 2
    assert status.pid == sleeper.pid
    assert sleeper.wait(timeout=10) == -signal.SIGTERM


@pytest.fixture
def ready_workspace(workspace, tortoise_voices, tiny_models):
    make_dataset(workspace, tortoise_voices, n_train=4, n_val=1)
    return workspace


def test_a_second_run_on_the_same_devices_is_refused(ready_workspace, tiny_models, sleeper):
    ws = ready_workspace
    busy = write_run(ws, "ds", "busy", tiny_config("ds", tiny_models)).parent
    write_pid_file(busy, _pid_info(sleeper, devices=["cpu"]))
    second = write_run(ws, "ds", "second", tiny_config("ds", tiny_models))
    with pytest.raises(UserError, match=r"ds/busy is running on cpu .*--force"):
        start_run(second)
    assert not (second.parent / "run.pid").exists()
    # the same run twice is refused even with --force: two trainers would write one folder
    with pytest.raises(UserError, match="already running"):
        start_run(busy / "train.yaml", force=True)


def test_gpu_runs_on_other_devices_do_not_conflict(ready_workspace, tiny_models, sleeper):
    from tortoise_studio.runs import launch
    ws = ready_workspace
    busy = write_run(ws, "ds", "busy", tiny_config("ds", tiny_models)).parent
    write_pid_file(busy, _pid_info(sleeper, devices=["cuda:0", "cuda:1"]))
    second = write_run(ws, "ds", "second", tiny_config("ds", tiny_models)).parent
    launch._refuse_conflicts(ws, second, ["cuda:2", "cuda:3"], node_rank=0, force=False)  # disjoint: allowed
    with pytest.raises(UserError, match="cuda:1"):
        launch._refuse_conflicts(ws, second, ["cuda:1", "cuda:2"], node_rank=0, force=False)


def test_a_bad_configuration_is_refused_before_anything_starts(ready_workspace, tiny_models, capsys):
    bad = write_run(ready_workspace, "ds", "bad", tiny_config("ds", tiny_models, batch_size=3, gpus=2))
    assert cli_main(["train", str(bad), "--detach"]) == 2
    assert "batch_size" in capsys.readouterr().err
    assert not (bad.parent / "run.pid").exists()
    assert cli_main(["train", str(bad.parent / "missing.yaml")]) == 2


def test_run_service_reads_each_run_incrementally(workspace, run_dir):
    manager = RunService(workspace)
    with MetricsWriter(run_dir / "metrics.jsonl") as writer:
        writer.event("start", step=0, steps_total=10)
        writer.event("done", step=10)
    assert [(s.label, s.state) for s in manager.list()] == [("ds/r1", "done")]
    reader = manager._readers[run_dir.resolve()]
    parsed = reader.rows_parsed
    assert manager.status(run_dir).state == "done"
    assert reader.rows_parsed == parsed  # nothing new: nothing parsed again
