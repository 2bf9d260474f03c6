"""Generation settings, voices, model choices and result files: the parts of synth that need no model."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict

import numpy as np
import pytest
import soundfile

from tortoise_studio.errors import UserError
from tortoise_studio.generate.latents import MAX_CLIPS, voice_clips
from tortoise_studio.generate.results import list_results, read_sidecar, save_speech
from tortoise_studio.generate.command import parse_overrides
from tortoise_studio.generate.synthesizer import (PRESETS, GenerationSettings, ModelFile, Speech, autoregressive_choices,
                                   split_text)


def test_presets_are_tortoises_own():
    # tortoise/api.py TextToSpeech.tts_with_preset, tortoise-tts 3.0.0
    assert GenerationSettings.from_preset("ultra_fast") == GenerationSettings(
        preset="ultra_fast", candidates=16, diffusion_iterations=30, cond_free=False)
    assert (PRESETS["fast"]["candidates"], PRESETS["fast"]["diffusion_iterations"]) == (96, 80)
    assert (PRESETS["standard"]["candidates"], PRESETS["standard"]["diffusion_iterations"]) == (256, 200)
    assert (PRESETS["high_quality"]["candidates"], PRESETS["high_quality"]["diffusion_iterations"]) == (256, 400)
    s = GenerationSettings.from_preset("standard", seed=7)
    assert (s.temperature, s.top_p, s.repetition_penalty, s.length_penalty, s.cond_free_k, s.diffusion_temperature,
            s.cond_free, s.seed) == (0.8, 0.8, 2.0, 1.0, 2.0, 1.0, True, 7)


@pytest.mark.parametrize("field, value", [("preset", "turbo"), ("candidates", 0), ("top_p", 0.0), ("top_p", 1.5),
                                          ("temperature", -1.0), ("diffusion_iterations", 4001), ("seed", -1),
                                          ("max_mel_tokens", 601), ("batch_size", 0), ("cond_free_k", float("nan"))])
def test_bad_setting_names_the_field(field, value):
    with pytest.raises(UserError, match=f"^{field}: "):
        GenerationSettings(**{field: value}).validate()


def test_set_overrides_are_typed_and_checked():
    assert parse_overrides(["candidates=4", "kv_cache=false", "top_p=0.5", "batch_size=auto", "cond_free=yes"]) == \
        {"candidates": 4, "kv_cache": False, "top_p": 0.5, "batch_size": None, "cond_free": True}
    with pytest.raises(UserError, match="^--set 'speed=2': expected KEY=VALUE"):
        parse_overrides(["speed=2"])
    with pytest.raises(UserError, match="^--set candidates: expected a whole number, got 'many'"):
        parse_overrides(["candidates=many"])
    with pytest.raises(UserError, match="^--set kv_cache: expected true or false, got 'maybe'"):
        parse_overrides(["kv_cache=maybe"])


def test_split_text_keeps_short_text_whole_and_splits_long_text():
    assert split_text("  Hello there. How are you?  ") == ["Hello there. How are you?"]
    long = " ".join(f"This is sentence number {n}, and it rambles on for a while to be long enough." for n in range(8))
    chunks = split_text(long)
    assert len(chunks) >= 3 and all(len(c) <= 300 for c in chunks)
    assert " ".join(chunks).split() == long.split()
    with pytest.raises(UserError, match="^text: must not be empty"):
        split_text("   \n ")


def test_voice_clips_from_voice_folder_and_dataset(workspace, real_clips):
    voice = workspace.voice_dir("alice")
    voice.mkdir()
    shutil.copy(real_clips[0], voice / "b.wav")
    shutil.copy(real_clips[1], voice / "a.wav")
    (voice / "notes.txt").write_text("not audio")
    assert [f.name for f in voice_clips(workspace, "alice").files] == ["a.wav", "b.wav"]

    audio = workspace.dataset_dir("bob") / "audio"
    audio.mkdir(parents=True)
    for i in range(20):
        shutil.copy(real_clips[i % len(real_clips)], audio / f"bob_{i:04d}.wav")
    clips = voice_clips(workspace, "dataset:bob")
    assert (clips.name, len(clips.files)) == ("bob", MAX_CLIPS)
    assert clips.files[0].name == "bob_0000.wav" and clips.files[-1].name == "bob_0019.wav"
    assert voice_clips(workspace, "bob").files == clips.files  # a name that is only a dataset

    with pytest.raises(UserError, match="no audio files"):
        voice_clips(workspace, "nobody")
    with pytest.raises(UserError, match="^voice "):
        voice_clips(workspace, "../etc")


def test_autoregressive_choices_list_base_finetunes_and_checkpoints_latest_first(workspace):
    workspace.finetunes.mkdir(parents=True)
    (workspace.finetunes / "mine.pth").write_bytes(b"x")
    run = workspace.run_dir("ds", "r1")
    run.mkdir(parents=True)
    (run / "train.yaml").write_text("dataset: ds\n")
    for step in (100, 2000, 300):
        folder = run / "checkpoints" / str(step)
        folder.mkdir(parents=True)
        for name in ("model.pth", "state.pth"):
            (folder / name).write_bytes(b"x")
        (folder / "meta.json").write_text(json.dumps({"step": step, "epoch": step / 100}))
    (run / "checkpoints" / "400").mkdir()  # incomplete: no files yet
    choices = autoregressive_choices(workspace)
    assert choices[0] == ("base (models folder)", "")
    assert choices[1] == ("fine-tune: mine", str(workspace.finetunes / "mine.pth"))
    assert [label.split(" (")[0] for label, _ in choices[2:]] == ["ds/r1 step 2000", "ds/r1 step 300", "ds/r1 step 100"]
    assert choices[2][1] == str(run / "checkpoints" / "2000" / "model.pth")


def _speech(workspace, real_clips, audio) -> Speech:
    voice = workspace.voice_dir("v")
    voice.mkdir(exist_ok=True)
    shutil.copy(real_clips[0], voice / "a.wav")
    return Speech(audio=audio, text="Hi.", sentences=["Hi."], voice=voice_clips(workspace, "v"),
                  settings=GenerationSettings(seed=3), models_dir="/m",
                  model_files={"autoregressive": ModelFile("/m/autoregressive.pth", "ab" * 32)},
                  device="cpu", compute_seconds=0.5)


def test_results_never_overwrite_and_list_newest_first(workspace, real_clips):
    speech = _speech(workspace, real_clips, np.linspace(-0.5, 0.5, 2400, dtype=np.float32))
    first = save_speech(workspace, speech)
    second = save_speech(workspace, speech)
    assert (first.name, second.name) == ("v_0001.wav", "v_0002.wav")
    later = second.stat().st_mtime_ns + 10**9
    os.utime(first, ns=(later, later))  # make the first one the newest
    assert list_results(workspace) == [first, second]
    assert list_results(workspace, "v") == [first, second]

    data, rate = soundfile.read(second)
    assert rate == 24000 and len(data) == 2400
    sidecar = read_sidecar(second)
    assert sidecar["settings"] == asdict(GenerationSettings(seed=3))
    assert sidecar["models"]["autoregressive"] == {"path": "/m/autoregressive.pth", "sha256": "ab" * 32}
    assert sidecar["voice_clips"][0]["file"].endswith("a.wav") and len(sidecar["voice_clips"][0]["sha256"]) == 64

    out = workspace.root / "mine.wav"
    out.write_bytes(b"user file")
    written = save_speech(workspace, speech, out=out)
    assert written.name == "mine_1.wav" and out.read_bytes() == b"user file"
    assert json.loads(written.with_suffix(".json").read_text())["text"] == "Hi."
