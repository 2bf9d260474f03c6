"""`models check`, `make-tiny-models` and `download-models` through the real command line, in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tortoise_studio.models import MODEL_FILES, check_models

pytestmark = pytest.mark.slow  # each test starts a Python that imports torch and TorToiSe


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tortoise_studio", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_models_check_prints_one_ok_line_per_file(tiny_models, tmp_path):
    result = cli("--workspace", str(tmp_path), "models", "check", str(tiny_models))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{name}  ok" for name in MODEL_FILES.values()]


def test_models_check_reports_a_missing_file_and_exits_1(tiny_models, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(tiny_models, folder)
    (folder / "diffusion_decoder.pth").unlink()
    (folder / "dvae.pth").write_bytes(b"garbage")
    result = cli("--workspace", str(tmp_path), "models", "check", str(folder))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "diffusion_decoder.pth  missing" in lines
    assert "autoregressive.pth  ok" in lines
    assert any(line.startswith("dvae.pth  error: ") and "dvae.pth" in line[len("dvae.pth  error: "):]
               for line in lines), lines
    assert "download-models" in result.stderr


def test_models_check_defaults_to_the_settings_models_folder(tiny_models, tmp_path):
    (tmp_path / "settings.json").write_text('{"models_dir": "%s"}' % tiny_models)
    result = cli("--workspace", str(tmp_path), "models", "check")
    assert result.returncode == 0 and result.stdout.count("  ok") == 5


def test_make_tiny_models_command_writes_a_set_that_checks_ok(tmp_path):
    result = cli("make-tiny-models", str(tmp_path / "tiny"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == sorted([*MODEL_FILES.values(), "models.yaml"])
    assert [s.status for s in check_models(tmp_path / "tiny")] == ["ok"] * 5


def test_download_models_offline_fails_with_where_to_put_the_files(tmp_path):
    # A closed local port stands in for the hub: the connection is refused at once, as offline.
    result = cli("download-models", str(tmp_path / "models"),
                 env={"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert result.returncode == 1
    for name in MODEL_FILES.values():
        assert f"{name}  failed: offline" in result.stdout
        assert name in result.stderr
    assert "https://huggingface.co/Manmay/tortoise-tts/resolve/main/autoregressive.pth" in result.stderr
    assert str((tmp_path / "models").resolve()) in result.stderr
    assert list((tmp_path / "models").iterdir()) == []  # nothing half-written left behind


def test_download_models_keeps_files_already_there(tiny_models, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(tiny_models, folder)
    before = (folder / "autoregressive.pth").read_bytes()
    result = cli("download-models", str(folder), env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("kept") == 5
    assert (folder / "autoregressive.pth").read_bytes() == before
