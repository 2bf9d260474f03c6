"""Adding recordings: a file whose content is already in the voice is refused as a duplicate, naming it."""

from __future__ import annotations

import shutil

import pytest

from tortoise_studio.dataset.uploads import add_recordings
from tortoise_studio.errors import UserError


def test_a_duplicate_is_refused_naming_its_twin(workspace, real_clips, tmp_path):
    first = add_recordings(workspace, "v", [real_clips[0], real_clips[3]])
    assert [p.name for p in first.added] == ["1.wav", "1 (2).wav"] and first.duplicates == []
    renamed = tmp_path / "same take.wav"  # the same recording under another name
    shutil.copy(real_clips[0], renamed)
    again = add_recordings(workspace, "v", [renamed, real_clips[1]])
    assert [p.name for p in again.added] == ["2.wav"]
    assert again.duplicates == [("same take.wav", "1.wav")]
    assert sorted(p.name for p in workspace.voice_dir("v").iterdir()) == ["1 (2).wav", "1.wav", "2.wav"]
    message = again.describe("v")
    assert "Added 1 file(s) to voice **v**: 2.wav" in message
    assert "Not added: same take.wav is a duplicate of 1.wav" in message


def test_the_same_file_twice_in_one_upload_is_added_once(workspace, real_clips):
    result = add_recordings(workspace, "v", [real_clips[2], real_clips[2]])
    assert [p.name for p in result.added] == ["3.wav"] and result.duplicates == [("3.wav", "3.wav")]


def test_prepare_tab_says_which_upload_was_refused(workspace, real_clips):
    from tortoise_studio.ui.context import AppContext
    from tortoise_studio.ui.prepare_tab import add_files_handler
    ctx = AppContext(workspace)
    add_files_handler(ctx, [str(real_clips[0])], "v", None)
    message, _ = add_files_handler(ctx, [str(real_clips[0])], "", "v")
    assert message == "Not added: 1.wav is a duplicate of 1.wav (the same recording is already in voice **v**)."
    with pytest.raises(UserError, match="no such file"):
        add_recordings(workspace, "v", [workspace.root / "missing.wav"])
