"""A prepare that is interrupted (Ctrl+C, a cancelled page) leaves no staging folder and the dataset unchanged."""

from __future__ import annotations

import shutil

import pytest

from tortoise_studio.dataset import PrepareOptions, prepare_dataset
from tortoise_studio.dataset.prepare import STAGING_DIR
from tortoise_studio.transcribe import load_transcriber


@pytest.mark.slow
def test_interrupted_prepare_leaves_no_staging_folder(workspace, real_clips, whisper_base):
    folder = workspace.voices / "v"
    folder.mkdir()
    for name, clip in (("a.wav", real_clips[3]), ("b.wav", real_clips[4])):
        shutil.copy(clip, folder / name)
    faster = load_transcriber("faster-whisper", str(whisper_base))
    options = PrepareOptions(language="en", validation_fraction=0)
    prepare_dataset(workspace, "v", options, transcriber=faster)
    dataset = workspace.dataset_dir("v")
    train = (dataset / "train.txt").read_text()

    def cancel_on_second_file(update):
        if update.done == 1 and update.file:
            raise KeyboardInterrupt  # what Ctrl+C or a cancelled request raises in the worker

    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(workspace, "v", options, transcriber=faster, progress=cancel_on_second_file)
    assert not (dataset / STAGING_DIR).exists()
    assert (dataset / "train.txt").read_text() == train  # the previous dataset is untouched
    assert not list(dataset.glob("backup-*"))
