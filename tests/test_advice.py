"""Dataset advice: how much speech there is against what a voice fine-tune needs."""

from __future__ import annotations

import shutil

from tortoise_studio.dataset.advice import dataset_advice, speech_advice
from tortoise_studio.dataset.lists import ListEntry, write_list


def test_levels_and_their_messages():
    far = speech_advice(35.0, 5)
    assert far.level == "far too little" and far.warning
    assert far.message.startswith("⚠️ **Far too little speech to fine-tune: 0.6 minutes of speech in 5 clips.**")
    assert 'docs/prepare.md, "How much speech"' in far.message
    assert speech_advice(4 * 60, 40).level == "little" and not speech_advice(4 * 60, 40).warning
    assert "It will overfit quickly" in speech_advice(4 * 60, 40).message
    assert speech_advice(12 * 60, 150).message.startswith("**12.0 minutes of speech in 150 clips**: enough")
    assert speech_advice(45 * 60, 500).level == "good"


def test_dataset_advice_counts_the_clips_in_the_lists(workspace, real_clips):
    dataset = workspace.dataset_dir("d")
    (dataset / "audio").mkdir(parents=True)
    for i, clip in enumerate(real_clips[3:6]):  # three clips of about 7.4 s
        shutil.copy(clip, dataset / "audio" / f"c{i}.wav")
    write_list(dataset / "train.txt", [ListEntry("audio/c0.wav", "a"), ListEntry("audio/c1.wav", "b")])
    write_list(dataset / "validation.txt", [ListEntry("audio/c2.wav", "c")])
    advice = dataset_advice(dataset)
    assert advice.clips == 3 and abs(advice.minutes * 60 - 22.3) < 0.3 and advice.warning


def test_configure_summary_shows_the_advice(workspace, real_clips):
    from tortoise_studio import config as C
    from tortoise_studio.ui.configure_section import form_values, schedule_preview
    from tortoise_studio.ui.context import AppContext
    dataset = workspace.dataset_dir("d")
    (dataset / "audio").mkdir(parents=True)
    shutil.copy(real_clips[3], dataset / "audio" / "c0.wav")
    write_list(dataset / "train.txt", [ListEntry("audio/c0.wav", "a")])
    _, summary = schedule_preview(AppContext(workspace), "r", form_values(C.TrainingConfig(dataset="d")))
    assert summary.startswith("⚠️ **Far too little speech to fine-tune: 0.1 minutes of speech in 1 clips.**")
