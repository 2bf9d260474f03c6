"""The Whisper setting: the packaged Whisper base, the demo choosing it, Download, and Prepare using Settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tortoise_studio.demo import DEMO_WHISPER, set_up_demo
from tortoise_studio.errors import UserError
from tortoise_studio.settings import Settings, load_settings, remember_whisper, save_settings, whisper_model_location
from tortoise_studio.transcribe import load_transcriber
from tortoise_studio.transcribe.bundled import assemble_whisper_base, bundled_whisper_installed
from tortoise_studio.transcribe.download import download_whisper_model


def test_assembled_whisper_base_is_the_packaged_parts_joined_and_made_once(tmp_path, whisper_base):
    assert bundled_whisper_installed()
    target = assemble_whisper_base(tmp_path / "wb")
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert (target / "model.bin").read_bytes() == (whisper_base / "model.bin").read_bytes()
    stamp = (target / "model.bin").stat().st_mtime_ns
    assemble_whisper_base(target)
    assert (target / "model.bin").stat().st_mtime_ns == stamp  # complete: not joined again
    (target / "model.bin").write_bytes(b"cut short")  # an interrupted copy is joined again
    assemble_whisper_base(target)
    assert (target / "model.bin").stat().st_size == (whisper_base / "model.bin").stat().st_size


def test_demo_installs_whisper_base_and_prepare_finds_it_from_any_folder(workspace, tmp_path, monkeypatch):
    note = set_up_demo(workspace)
    assert f"Whisper: base, installed in {DEMO_WHISPER} (now the Whisper model in Settings)." in note
    settings = load_settings(workspace)
    assert (settings.whisper_backend, settings.whisper_model) == ("faster-whisper", DEMO_WHISPER)
    monkeypatch.chdir(tmp_path)  # the UI may start anywhere: the relative path is the workspace's
    location = settings.whisper_model_location(workspace)
    assert location == str(workspace.root / DEMO_WHISPER)
    transcriber = load_transcriber("faster-whisper", location)
    assert transcriber.model_id == f"faster-whisper:{workspace.root / DEMO_WHISPER}"


def test_demo_keeps_a_whisper_model_the_user_chose(workspace):
    save_settings(workspace, Settings(whisper_model="small"))
    note = set_up_demo(workspace)
    assert load_settings(workspace).whisper_model == "small"
    assert "Settings keep your choice (faster-whisper small)" in note
    assert (workspace.root / DEMO_WHISPER / "model.bin").is_file()


def test_model_locations_names_and_paths(workspace):
    assert whisper_model_location(workspace, "base") == "base"
    assert whisper_model_location(workspace, " models/wb ") == str(workspace.root / "models/wb")
    assert whisper_model_location(workspace, "/abs/wb") == "/abs/wb"
    assert whisper_model_location(workspace, "./wb") == str(workspace.root / "wb")


def test_settings_check_the_whisper_fields(workspace):
    with pytest.raises(UserError, match="^whisper_backend: 'whisperx' is not one of faster-whisper, openai-whisper"):
        save_settings(workspace, Settings(whisper_backend="whisperx"))
    with pytest.raises(UserError, match="^whisper_model: must not be empty"):
        save_settings(workspace, Settings(whisper_model="  "))
    assert remember_whisper(workspace, "faster-whisper", "models/wb") is True
    assert remember_whisper(workspace, "faster-whisper", "models/wb") is False  # unchanged: nothing written
    assert load_settings(workspace).whisper_model == "models/wb"


def test_download_offline_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as caught:
        download_whisper_model("faster-whisper", "tiny")
    message = str(caught.value)
    assert message.startswith("model: could not download the faster-whisper model 'tiny' (")
    assert "Connect to the internet and press Download again, or set the Whisper model to a local path" in message
    assert message.endswith("in models/whisper-base).")
    with pytest.raises(UserError, match="is a local path; only a named model"):
        download_whisper_model("faster-whisper", "models/whisper-base")
    with pytest.raises(UserError, match="not a Whisper model name"):
        download_whisper_model("faster-whisper", "huge")


def test_settings_tab_saves_the_whisper_choice_and_download_reports(workspace, monkeypatch):
    from tortoise_studio.ui.context import AppContext
    from tortoise_studio.ui.settings_tab import download_whisper_handler, save_handler
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ctx = AppContext(workspace)
    message, _ = save_handler(ctx, "models/tiny", "cpu", "faster-whisper", " models/whisper-base ")
    assert message.startswith("Saved to")
    assert load_settings(workspace).whisper_model == "models/whisper-base"
    message, _ = save_handler(ctx, "models/tiny", "cpu", "faster-whisper", "")
    assert message == "**Not saved:** whisper_model: must not be empty (a model name such as base, or a local path)"
    assert download_whisper_handler(ctx, "faster-whisper", "base").startswith(
        "**Not downloaded:** model: could not download the faster-whisper model 'base'")


@pytest.mark.slow
def test_prepare_tab_uses_a_relative_model_path_and_remembers_it(workspace, real_clips, whisper_base, monkeypatch,
                                                                 tmp_path):
    from tortoise_studio.ui.context import AppContext
    from tortoise_studio.ui.prepare_tab import prepare_handler
    shutil.copytree(whisper_base, workspace.root / "models" / "wb")
    (workspace.voices / "v").mkdir()
    shutil.copy(real_clips[3], workspace.voices / "v" / "a.wav")
    monkeypatch.chdir(tmp_path)
    status, summary, *_ = prepare_handler(AppContext(workspace), "v", "faster-whisper", "models/wb", "en", 0.0, 0,
                                          False, False)
    assert status.startswith("Prepared **v**"), status
    assert load_settings(workspace).whisper_model == "models/wb"  # what a reload of the page shows
    assert "Far too little speech to fine-tune: 0.1 minutes of speech in 1 clips" in summary


@pytest.mark.slow
def test_cli_prepare_uses_the_whisper_model_in_settings(workspace, real_clips, whisper_base, tmp_path):
    shutil.copytree(whisper_base, workspace.root / "models" / "wb")
    save_settings(workspace, Settings(whisper_model="models/wb"))
    (workspace.voices / "v").mkdir()
    shutil.copy(real_clips[3], workspace.voices / "v" / "a.wav")
    done = subprocess.run([sys.executable, "-m", "tortoise_studio", "--workspace", str(workspace.root), "prepare", "v",
                           "--language", "en"], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert "1 clips (1 train, 0 validation)" in done.stdout
    assert "Far too little speech to fine-tune" in done.stdout
