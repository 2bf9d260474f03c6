"""The offline demo: tiny random models, Settings pointed at them, a `demo` voice of real shipped speech."""

from __future__ import annotations

import hashlib

import pytest

from tortoise_studio.demo import DEMO_MODELS, DEMO_VOICE, is_demo_models, set_up_demo, shipped_voice_clips
from tortoise_studio.errors import UserError
from tortoise_studio.settings import load_settings


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_set_up_demo_makes_models_settings_and_voice(workspace, tiny_models):
    note = set_up_demo(workspace)
    models = workspace.root / DEMO_MODELS
    assert sorted(p.name for p in models.glob("*.pth")) == sorted(p.name for p in tiny_models.glob("*.pth"))
    # the same deterministic tiny set the tests use
    assert digest(models / "autoregressive.pth") == digest(tiny_models / "autoregressive.pth")
    assert load_settings(workspace).models_dir == DEMO_MODELS
    assert is_demo_models(load_settings(workspace).models_path(workspace))
    clips = shipped_voice_clips()
    assert len(clips) == 5
    voice = workspace.voice_dir(DEMO_VOICE)
    assert sorted(p.name for p in voice.iterdir()) == [c.name for c in clips]
    assert all(digest(voice / c.name) == digest(c) for c in clips)
    assert "noise" in note and "5 recordings (5 new)" in note


def test_set_up_demo_again_keeps_the_users_files(workspace):
    set_up_demo(workspace)
    voice = workspace.voice_dir(DEMO_VOICE)
    (voice / "1.wav").write_bytes(b"my own recording")
    (voice / "mine.flac").write_bytes(b"another")
    weights = workspace.root / DEMO_MODELS / "autoregressive.pth"
    stamp = weights.stat().st_mtime_ns
    note = set_up_demo(workspace)
    assert (voice / "1.wav").read_bytes() == b"my own recording"
    assert (voice / "mine.flac").read_bytes() == b"another"
    assert weights.stat().st_mtime_ns == stamp  # a complete tiny set is not made again
    assert "6 recordings (0 new)" in note


def test_set_up_demo_keeps_other_settings(workspace):
    workspace.settings_file.write_text('{"models_dir": "models/tortoise", "device": "cpu", "whisper_model": "small"}')
    set_up_demo(workspace)
    settings = load_settings(workspace)
    assert (settings.models_dir, settings.device, settings.whisper_model) == (DEMO_MODELS, "cpu", "small")


def test_set_up_demo_never_overwrites_real_weights(workspace):
    models = workspace.root / DEMO_MODELS
    models.mkdir(parents=True)
    (models / "autoregressive.pth").write_bytes(b"somebody's real weights")
    with pytest.raises(UserError, match="not a tiny set"):
        set_up_demo(workspace)
    assert (models / "autoregressive.pth").read_bytes() == b"somebody's real weights"


def test_is_demo_models(tmp_path, tiny_models):
    assert is_demo_models(tiny_models)
    assert not is_demo_models(tmp_path / "missing")
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "models.yaml").write_text("autoregressive: {layers: 4}\n# tiny\n")
    assert not is_demo_models(custom)  # sizes of one's own are not the random demo set


def test_banner_and_settings_handlers_follow_the_models_folder(workspace):
    from tortoise_studio.ui.app import demo_banner
    from tortoise_studio.ui.context import AppContext
    from tortoise_studio.ui.settings_tab import demo_handler, save_handler
    ctx = AppContext(workspace)
    assert demo_banner(ctx) == ""
    message, models_dir, table = demo_handler(ctx)
    assert message.startswith("Demo ready") and models_dir == DEMO_MODELS
    assert list(table["value"]["status"]) == ["ok"] * 5
    assert table["label"] == f"Model files in {workspace.root / DEMO_MODELS}"  # the table names what it checked
    assert "noise" in demo_banner(ctx)
    message, _ = save_handler(ctx, "   ", "cpu")
    assert message == "**Not saved:** models_dir: must not be empty"
    assert load_settings(workspace).models_dir == DEMO_MODELS  # nothing written
    save_handler(ctx, "models/tortoise", "cpu")
    assert demo_banner(ctx) == ""
    workspace.settings_file.write_text("{not json")
    assert demo_banner(ctx) == ""  # the Settings tab says what is wrong; the banner does not fail the page
