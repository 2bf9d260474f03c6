"""`tortoise-studio config` as a user runs it: a real subprocess, the file on disk, the exit status."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tortoise_studio.config import load_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def ws(workspace, real_clips):
    import shutil
    folder = workspace.training / "ds"
    (folder / "audio").mkdir(parents=True)
    for i, clip in enumerate(real_clips):
        shutil.copy(clip, folder / "audio" / f"c{i}.wav")
    (folder / "train.txt").write_text("".join(f"audio/c{i}.wav|Sentence {i}.\n" for i in range(7)))
    (folder / "validation.txt").write_text("audio/c7.wav|Sentence 7.\n")
    base = workspace.base_models / "autoregressive.pth"
    base.parent.mkdir(parents=True)
    base.write_bytes(b"weights")  # validation checks that the file exists
    return workspace


def studio(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tortoise_studio", "--workspace", str(ws.root), *args],
                          capture_output=True, text=True, timeout=60)


def test_config_writes_the_file_and_prints_its_path(ws):
    done = studio(ws, "config", "ds", "--run", "first try", "--set", "batch_size=4", "--set", "scheduler.type=cosine",
                  "--set", "learning_rate=2e-5")
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path == ws.root / "training" / "ds" / "runs" / "first try" / "train.yaml"
    c = load_config(path)
    assert (c.dataset, c.batch_size, c.scheduler.type, c.learning_rate) == ("ds", 4, "cosine", 2e-5)
    assert f"tortoise-studio train {shlex.quote(str(path))}" in path.read_text()  # a path with a space, quoted


def test_config_from_a_shipped_preset_with_a_timestamp_run(ws):
    done = studio(ws, "config", "ds", "--from", str(REPO / "configs" / "tiny-demo.yaml"),
                  "--set", "model.models_dir=models/tortoise")
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.parent.parent == ws.root / "training" / "ds" / "runs" and path.parent.name[:2] == "20"
    c = load_config(path)
    assert (c.dataset, c.max_steps, c.device) == ("ds", 12, "cpu")


@pytest.mark.parametrize("args, message", [
    (["--set", "scheduler.gama=0.1"], "scheduler.gama: unknown key"),
    (["--set", "epochs=many"], "epochs: expected a whole number, got 'many'"),
    (["--set", "batch_size=64"], "batch_size: 64 is more than the 7 training clips of 'ds'"),
    (["--set", "batch_size=4", "--set", "learning_rate=0"], "learning_rate: 0.0 is not allowed; must be above 0"),
    (["--run", "../up"], "run '../up': must not contain /"),
])
def test_invalid_input_exits_2_naming_the_key_and_writes_nothing(ws, args, message):
    done = studio(ws, "config", "ds", *args)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""
    assert not (ws.root / "training" / "ds" / "runs").exists()


def test_missing_dataset_exits_2(ws):
    done = studio(ws, "config", "nobody", "--run", "r")
    assert done.returncode == 2 and "dataset: 'nobody' does not exist" in done.stderr


def test_warnings_are_printed_but_do_not_block(ws):
    done = studio(ws, "config", "ds", "--run", "r", "--set", "batch_size=4", "--set", "max_steps=99999")
    assert done.returncode == 0 and "warning: max_steps: 99999 is beyond" in done.stderr


def test_models_dir_defaults_to_the_settings_models_folder(ws, tiny_models):
    import json
    (ws.root / "settings.json").write_text(json.dumps({"models_dir": str(tiny_models), "device": "cpu"}))
    done = studio(ws, "config", "ds", "--run", "settings", "--set", "batch_size=4")
    assert done.returncode == 0, done.stderr
    assert load_config(Path(done.stdout.strip())).model.models_dir == str(tiny_models)
    # the tiny set has the base weights, so no warning about missing ones
    assert "autoregressive.pth" not in done.stderr

    # --set and a --from file that names a folder still win over Settings
    done = studio(ws, "config", "ds", "--run", "set", "--set", "batch_size=4",
                  "--set", "model.models_dir=models/tortoise")
    assert done.returncode == 0, done.stderr
    assert load_config(Path(done.stdout.strip())).model.models_dir == "models/tortoise"
    named = ws.root / "named.yaml"
    named.write_text("dataset: x\nbatch_size: 4\nmodel:\n  models_dir: models/tortoise\n")
    done = studio(ws, "config", "ds", "--run", "from", "--from", str(named))
    assert done.returncode == 0, done.stderr
    assert load_config(Path(done.stdout.strip())).model.models_dir == "models/tortoise"
    unnamed = ws.root / "unnamed.yaml"
    unnamed.write_text("dataset: x\nbatch_size: 4\n")
    done = studio(ws, "config", "ds", "--run", "unnamed", "--from", str(unnamed))
    assert done.returncode == 0, done.stderr
    assert load_config(Path(done.stdout.strip())).model.models_dir == str(tiny_models)
