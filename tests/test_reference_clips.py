"""Generate leaves out a voice's unreadable recordings with a note, as Prepare does, instead of failing."""

from __future__ import annotations

import shutil

import pytest

from tortoise_studio.errors import UserError
from tortoise_studio.generate.latents import voice_clips
from tortoise_studio.generate.synthesizer import GenerationSettings


pytestmark = pytest.mark.usefixtures("one_torch_thread")



QUICK = GenerationSettings.from_preset("ultra_fast", candidates=1, diffusion_iterations=2, max_mel_tokens=6)


def broken_voice(workspace, real_clips):
    folder = workspace.voice_dir("v")
    folder.mkdir()
    shutil.copy(real_clips[3], folder / "good.wav")
    (folder / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200)))
    (folder / "empty.mp3").write_bytes(b"")
    return folder


def test_voice_clips_skip_unreadable_files_and_say_why(workspace, real_clips):
    broken_voice(workspace, real_clips)
    clips = voice_clips(workspace, "v")
    assert [f.name for f in clips.files] == ["good.wav"]
    assert [name for name, _ in clips.skipped] == ["broken.wav", "empty.mp3"]
    note = clips.skipped_note()
    assert note.startswith("Skipped unreadable reference clips: broken.wav (not decodable as audio")
    assert "empty.mp3 (empty file (0 bytes))" in note
    (workspace.voice_dir("v") / "good.wav").unlink()
    with pytest.raises(UserError, match="none of its 2 audio files .* is readable"):
        voice_clips(workspace, "v")


def test_generate_with_a_broken_recording_speaks_and_notes_it(workspace, real_clips, tiny_models):
    from tortoise_studio.ui.context import AppContext
    from tortoise_studio.ui.generate_tab import generate_handler
    from tortoise_studio.settings import Settings, save_settings
    broken_voice(workspace, real_clips)
    save_settings(workspace, Settings(models_dir=str(tiny_models), device="cpu"))
    message, path = generate_handler(AppContext(workspace), "Hello.", "v", "", QUICK)
    assert message.startswith("Saved results/v/v_0001.wav")
    assert "Skipped unreadable reference clips: broken.wav" in message
    assert path.endswith("v_0001.wav")
