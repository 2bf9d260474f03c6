"""The shared helpers: atomic writes, the one backup scheme, device resolution, and the one list reader's users."""

from __future__ import annotations

import os
import shutil
import stat

import pytest
import torch

from tortoise_studio.config import count_train_clips, dataset_stats
from tortoise_studio.devices import resolve_device
from tortoise_studio.errors import UserError
from tortoise_studio.fileio import (atomic_path, atomic_torch_save, atomic_write_json, atomic_write_text, backup_copy,
                                    backup_move)
from tortoise_studio.train.checkpointing import export_model


def test_atomic_writes_replace_whole_files_and_leave_nothing_behind(tmp_path):
    path = tmp_path / "deep" / "settings.json"
    atomic_write_json(path, {"a": 1})
    atomic_write_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert os.listdir(path.parent) == ["settings.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # as any other file, not owner-only


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["train.txt"]


def test_torch_files_are_byte_for_byte_the_same_for_the_same_tensors(tmp_path):
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    atomic_torch_save(state, tmp_path / "a.pth")
    atomic_torch_save(state, tmp_path / "b.pth")
    assert (tmp_path / "a.pth").read_bytes() == (tmp_path / "b.pth").read_bytes()
    assert torch.equal(torch.load(tmp_path / "a.pth", weights_only=True)["w"], state["w"])


def test_backups_are_timestamped_folders_under_backups_and_never_overwritten(tmp_path):
    (tmp_path / "train.txt").write_text("one\n")
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "a.wav").write_bytes(b"RIFF")
    first = backup_copy(tmp_path, ["train.txt", "audio", "missing.txt"])
    (tmp_path / "train.txt").write_text("two\n")
    second = backup_copy(tmp_path, ["train.txt"])
    assert first.parent == second.parent == tmp_path / "backups" and first != second
    assert (first / "train.txt").read_text() == "one\n" and (first / "audio" / "a.wav").read_bytes() == b"RIFF"
    assert (second / "train.txt").read_text() == "two\n"
    assert backup_copy(tmp_path, ["missing.txt"]) is None
    moved = backup_move(tmp_path, ["train.txt", "audio"])
    assert not (tmp_path / "train.txt").exists() and (moved / "audio" / "a.wav").is_file()


def test_exporting_a_fine_tune_again_keeps_the_earlier_one(tmp_path):
    target = tmp_path / "finetunes" / "ds-r1.pth"
    export_model({"w": torch.zeros(2)}, target)
    export_model({"w": torch.ones(2)}, target)
    assert torch.equal(torch.load(target, weights_only=True)["w"], torch.ones(2))
    (kept,) = (tmp_path / "finetunes" / "backups").glob("*/ds-r1.pth")
    assert torch.equal(torch.load(kept, weights_only=True)["w"], torch.zeros(2))
    assert sorted(p.name for p in target.parent.glob("*.pth")) == ["ds-r1.pth"]  # a model listing sees one


def test_device_resolution():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserError, match="device: 'tpu' is not one of auto, cuda, cpu"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA device"):
            resolve_device("cuda")


def test_configure_counts_the_clips_the_trainer_will_use(workspace, real_clips):
    folder = workspace.dataset_dir("ds")
    (folder / "audio").mkdir(parents=True)
    shutil.copy(real_clips[0], folder / "audio" / "a.wav")
    (folder / "train.txt").write_text("audio/a.wav|Hello there.\nno separator\naudio/b.wav|\n\n"
                                      "../../outside.wav|Escape.\n")
    (folder / "validation.txt").write_text("audio/a.wav|Hello again.\n")
    assert count_train_clips(workspace, "ds") == 1  # the same skips as read_list, which the trainer uses
    stats = dataset_stats(workspace, "ds")
    assert (stats.n_train, stats.n_validation) == (1, 1) and stats.train_minutes > 0


def test_a_list_with_no_usable_line_is_refused_with_the_first_reason(workspace):
    from tortoise_studio.config import TrainingConfig, validate_config
    folder = workspace.dataset_dir("broken")
    folder.mkdir(parents=True)
    (folder / "train.txt").write_text("\naudio/a.wav has no separator\n")
    messages = [p.message for p in validate_config(TrainingConfig(dataset="broken"), workspace) if p.field == "dataset"]
    assert len(messages) == 1 and "has no usable line in train.txt" in messages[0]
    assert "train.txt:2: no '|' between the audio path and the text" in messages[0]
