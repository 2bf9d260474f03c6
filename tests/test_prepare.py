"""prepare end to end with real Whisper base on real speech, beside every kind of hostile file."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from tortoise_studio.audio import MAX_CLIP_SAMPLES, SAMPLE_RATE, load_audio, resample
from tortoise_studio.dataset import (PrepareOptions, drop_clip, load_clip_table, move_clip, prepare_dataset,
                                     read_list, save_clip_table)
from tortoise_studio.dataset.uploads import add_recordings
from tortoise_studio.errors import UserError
from tortoise_studio.transcribe import load_transcriber


@pytest.fixture(scope="module")
def faster(whisper_base):
    return load_transcriber("faster-whisper", str(whisper_base))


def hashes(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def make_hostile_voice(folder, real_clips):
    folder.mkdir(parents=True)
    shutil.copy(real_clips[0], folder / "good1.wav")
    shutil.copy(real_clips[1], folder / "good2.wav")
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200)))
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.wav").write_text("this is a text file, not audio\n")
    soundfile.write(folder / "silence.wav", np.zeros(2 * SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    speech = load_audio(real_clips[2], None)
    rate = soundfile.info(str(real_clips[2])).samplerate
    stereo = resample(speech, rate, 96000)
    soundfile.write(folder / "stereo96k.wav", np.stack([stereo, stereo * 0.5], axis=1), 96000, subtype="PCM_24")
    # One hour: real speech, then silence (FLAC keeps it small on disk).
    hour = np.zeros(3600 * 16000, dtype=np.float32)
    speech16 = load_audio(real_clips[3], 16000)
    hour[: len(speech16)] = speech16
    soundfile.write(folder / "one-hour.flac", hour, 16000, subtype="PCM_16")


@pytest.mark.slow
def test_hostile_voice_prepares_the_good_files_and_names_each_bad_one(workspace, real_clips, faster):
    voice_dir = workspace.voices / "hostile"
    make_hostile_voice(voice_dir, real_clips)
    before = hashes(voice_dir)
    report = prepare_dataset(workspace, "hostile", PrepareOptions(language="en", seed=3), transcriber=faster)

    dataset = workspace.dataset_dir("hostile")
    saved = json.loads((dataset / "dataset.json").read_text())
    reasons = {s["file"]: s["reason"] for s in saved["skipped"] if not s.get("clip")}
    assert "empty file" in reasons["empty.wav"]
    assert "not decodable" in reasons["corrupt.wav"] and "not decodable" in reasons["notes.wav"]
    assert "silent" in reasons["silence.wav"]
    (train, skipped), (validation, _) = read_list(dataset / "train.txt"), read_list(dataset / "validation.txt")
    assert skipped == []
    assert train and len(validation) >= 1
    assert saved["clips"] == len(train) + len(validation) == report.clips
    sources = {e.audio.split("/")[1].rsplit("_", 1)[0] for e in train + validation}
    assert sources == {"good1", "good2", "stereo96k", "one-hour"}
    assert abs(saved["total_seconds"] - sum(saved["clip_seconds"].values())) < 0.01
    for entry in train + validation:
        info = soundfile.info(str(dataset / entry.audio))
        assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
        assert 0.6 * SAMPLE_RATE <= info.frames <= MAX_CLIP_SAMPLES
        assert entry.text and "|" not in entry.text and len(entry.text) <= 200
    # The hour-long file's clips come from its speech, at its start.
    hour_clips = [e for e in train + validation if e.audio.startswith("audio/one-hour_")]
    assert sum(saved["clip_seconds"][e.audio] for e in hour_clips) < 30

    # Again: transcripts come from whisper.json, the previous dataset goes to a backup, voices/ is untouched.
    first_train = (dataset / "train.txt").read_text()
    again = prepare_dataset(workspace, "hostile", PrepareOptions(language="en", seed=3), transcriber=faster)
    assert again.transcribed == 0 and again.backup
    backup = dataset / again.backup
    assert (backup / "train.txt").read_text() == first_train
    assert sorted(p.name for p in (backup / "audio").iterdir()) == sorted(p.name for p in (dataset / "audio").iterdir())
    assert (dataset / "train.txt").read_text() == first_train  # same seed, same split
    assert hashes(voice_dir) == before


@pytest.fixture
def prepared(workspace, real_clips, faster):
    voice_dir = workspace.voices / "tom"
    voice_dir.mkdir()
    for clip in real_clips[4:7]:
        shutil.copy(clip, voice_dir / clip.name)
    prepare_dataset(workspace, "tom", PrepareOptions(language="en", validation_fraction=0.2), transcriber=faster)
    return workspace.dataset_dir("tom")


@pytest.mark.slow
def test_proofreading_saves_texts_moves_and_drops_with_a_backup(prepared):
    rows = load_clip_table(prepared)
    assert len(rows) >= 3 and {r.split for r in rows} == {"train", "validation"}
    assert all(0.6 <= r.seconds <= 11.61 for r in rows)
    first, second = rows[0], rows[1]
    edited = [r.__class__(r.clip, r.seconds, "Corrected | text", r.split) if r is first else r for r in rows]
    backup = save_clip_table(prepared, edited)
    assert (backup / "train.txt").is_file()
    assert f"{first.clip}|Corrected text" in (prepared / "train.txt").read_text()
    move_clip(prepared, second.clip, "validation")
    assert second.clip in [e.audio for e in read_list(prepared / "validation.txt")[0]]
    drop_clip(prepared, second.clip)
    assert second.clip not in [r.clip for r in load_clip_table(prepared)]
    assert (prepared / second.clip).is_file()  # dropping keeps the wav
    with pytest.raises(UserError, match="train.txt: would be empty"):
        save_clip_table(prepared, [r.__class__(r.clip, r.seconds, r.text, "validation") for r in load_clip_table(prepared)])


def test_model_that_cannot_load_stops_with_a_clear_error_and_keeps_nothing_half_done(workspace, real_clips):
    (workspace.voices / "v").mkdir()
    shutil.copy(real_clips[0], workspace.voices / "v" / "a.wav")
    with pytest.raises(UserError, match="to a local path"):
        prepare_dataset(workspace, "v", PrepareOptions(model="tiny"))
    assert not (workspace.dataset_dir("v") / "train.txt").exists()
    assert not (workspace.dataset_dir("v") / ".audio-staging").exists()


def test_bad_options_and_missing_voice_are_user_errors(workspace):
    with pytest.raises(UserError, match="no folder"):
        prepare_dataset(workspace, "nobody")
    (workspace.voices / "v").mkdir()
    with pytest.raises(UserError, match="validation_fraction"):
        prepare_dataset(workspace, "v", PrepareOptions(validation_fraction=1.5))
    with pytest.raises(UserError, match="language"):
        prepare_dataset(workspace, "v", PrepareOptions(language="english!"))
    with pytest.raises(UserError, match="no audio files"):
        prepare_dataset(workspace, "v")


def test_uploads_never_overwrite(workspace, real_clips):
    # two different recordings with the same file name (angie/1.wav and applejack/1.wav)
    other = next(c for c in real_clips if c.name == real_clips[0].name and c != real_clips[0])
    first = add_recordings(workspace, "new voice", [real_clips[0]]).added
    second = add_recordings(workspace, "new voice", [other]).added
    assert first[0].name == real_clips[0].name and second[0].name == f"{real_clips[0].stem} (2).wav"
    assert first[0].read_bytes() == real_clips[0].read_bytes() and second[0].read_bytes() == other.read_bytes()
    with pytest.raises(UserError, match="voice"):
        add_recordings(workspace, "../escape", [real_clips[0]])


@pytest.mark.slow
def test_cli_prepare_prints_summary_and_exits_2_on_bad_input(workspace, real_clips, whisper_base):
    (workspace.voices / "cli").mkdir()
    shutil.copy(real_clips[7], workspace.voices / "cli" / "only.wav")
    base = [sys.executable, "-m", "tortoise_studio", "--workspace", str(workspace.root), "prepare"]
    done = subprocess.run(base + ["cli", "--model", str(whisper_base), "--language", "en"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 clips" in done.stdout or " clips (" in done.stdout
    assert read_list(workspace.dataset_dir("cli") / "train.txt")[0]
    bad = subprocess.run(base + ["cli", "--validation-fraction", "2"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "validation_fraction" in bad.stderr


def test_prepare_form_numbers_out_of_range_name_the_field(workspace):
    from tortoise_studio.ui.context import AppContext
    from tortoise_studio.ui.prepare_tab import options_from, prepare_all_handler
    for fraction, seed, message in ((-3, 0, "validation_fraction: -3"), (1e12, 0, "validation_fraction: 1000000000000"),
                                    (None, 0, "validation_fraction: enter a number"), (0.1, None, "seed: None")):
        with pytest.raises(UserError, match="^" + re.escape(message)):
            options_from("faster-whisper", "base", "auto", fraction, seed, False, False)
    status = prepare_all_handler(AppContext(workspace), "faster-whisper", "base", "auto", -1, 0, False, False)[0]
    assert status == "**Prepare all failed:** validation_fraction: -1.0 is not in [0, 1)"
