"""Renaming and deleting recordings, voices, runs and results; the trash; the Files section's handlers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from tortoise_studio.errors import UserError
from tortoise_studio.manage import delete_item, list_items, rename_item
from tortoise_studio.trash import empty_trash, list_trash, trash_dir


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def things(workspace, real_clips):
    """A voice with two real recordings, a configured run and a result with its sidecar."""
    voice = workspace.voice_dir("alice")
    voice.mkdir()
    shutil.copy(real_clips[0], voice / "one.wav")
    shutil.copy(real_clips[1], voice / "two.wav")
    run = workspace.run_dir("alice", "first")
    run.mkdir(parents=True)
    (run / "train.yaml").write_text("dataset: alice\n")
    (run / "metrics.jsonl").write_text("")
    results = workspace.results_dir("alice")
    results.mkdir(parents=True)
    soundfile.write(results / "alice_0001.wav", np.zeros(2400, dtype=np.float32), 24000)
    (results / "alice_0001.json").write_text(json.dumps({"text": "Hello."}))
    return workspace


def test_lists_every_kind(things):
    assert list_items(things, "voice") == ["alice"]
    assert list_items(things, "recording") == ["alice/one.wav", "alice/two.wav"]
    assert list_items(things, "run") == ["alice/first"]
    assert list_items(things, "result") == ["alice/alice_0001.wav"]
    with pytest.raises(UserError, match="kind: 'model' is not one of"):
        list_items(things, "model")


def test_delete_moves_to_the_trash_and_emptying_is_explicit(things):
    ws = things
    wav = ws.results_dir("alice") / "alice_0001.wav"
    content = digest(wav)
    moved = delete_item(ws, "result", "alice/alice_0001.wav")
    assert not wav.exists() and not wav.with_suffix(".json").exists()
    assert [p.name for p in moved] == ["alice_0001.wav", "alice_0001.json"]
    assert digest(moved[0]) == content  # the same bytes, only moved
    assert json.loads(moved[1].read_text()) == {"text": "Hello."}
    delete_item(ws, "recording", "alice/two.wav")
    delete_item(ws, "run", "alice/first")
    items = list_trash(ws)
    assert [(i.what, i.original) for i in items] == [
        ("run alice/first", "training/alice/runs/first"),
        ("recording alice/two.wav", "voices/alice/two.wav"),
        ("result alice/alice_0001.wav", "results/alice/alice_0001.wav"),
        ("result alice/alice_0001.wav", "results/alice/alice_0001.json")]
    assert all(i.path.exists() and i.path.is_relative_to(trash_dir(ws)) for i in items)
    assert list_items(ws, "recording") == ["alice/one.wav"] and list_items(ws, "run") == []
    delete_item(ws, "voice", "alice")
    assert not ws.voice_dir("alice").exists() and list_trash(ws)[0].original == "voices/alice"
    assert empty_trash(ws) == 5
    assert list_trash(ws) == [] and list(trash_dir(ws).iterdir()) == []


def test_rename_keeps_the_suffix_and_the_sidecar_and_never_replaces(things):
    ws = things
    assert rename_item(ws, "recording", "alice/one.wav", "intro") == "alice/intro.wav"
    assert rename_item(ws, "recording", "alice/intro.wav", "greeting.mp3") == "alice/greeting.wav"
    with pytest.raises(UserError, match="already exists"):
        rename_item(ws, "recording", "alice/greeting.wav", "two.wav")
    assert rename_item(ws, "result", "alice/alice_0001.wav", "best take") == "alice/best take.wav"
    assert (ws.results_dir("alice") / "best take.json").is_file()
    assert rename_item(ws, "run", "alice/first", "second") == "alice/second"
    assert (ws.run_dir("alice", "second") / "train.yaml").is_file()
    assert rename_item(ws, "voice", "alice", "Alice B") == "Alice B"
    assert sorted(list_items(ws, "recording")) == ["Alice B/greeting.wav", "Alice B/two.wav"]
    for bad in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(UserError, match="new voice name"):
            rename_item(ws, "voice", "Alice B", bad)
    with pytest.raises(UserError, match="not found"):
        delete_item(ws, "recording", "Alice B/missing.wav")
    with pytest.raises(UserError, match="^voice "):
        delete_item(ws, "recording", "../etc/passwd")


def test_a_running_run_is_neither_renamed_nor_deleted(things):
    from tortoise_studio.process import start_ticks
    from tortoise_studio.runs import PidInfo, write_pid_file
    run = things.run_dir("alice", "first")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        import socket
        from datetime import datetime, timezone
        write_pid_file(run, PidInfo(pid=sleeper.pid, pgid=sleeper.pid, argv=["sleep"], devices=["cpu"],
                                    started=datetime.now(timezone.utc).isoformat(), host=socket.gethostname(),
                                    start_ticks=start_ticks(sleeper.pid)))
        with pytest.raises(UserError, match="stop it first"):
            delete_item(things, "run", "alice/first")
        with pytest.raises(UserError, match="stop it first"):
            rename_item(things, "run", "alice/first", "other")
        assert (run / "train.yaml").is_file()
    finally:
        os.killpg(sleeper.pid, signal.SIGTERM)
        sleeper.wait()


def test_files_section_asks_before_it_acts(things):
    from tortoise_studio.ui.context import AppContext
    from tortoise_studio.ui.files_section import delete_handler, empty_trash_handler, rename_handler
    ctx = AppContext(things)
    message, pending, _, _ = delete_handler(ctx, "result", "alice/alice_0001.wav", "")
    assert "Press **Delete** again to confirm" in message and pending
    assert (things.results_dir("alice") / "alice_0001.wav").is_file()  # nothing happened yet
    message, pending, _, trash = delete_handler(ctx, "result", "alice/alice_0001.wav", pending)
    assert message.startswith("Moved result **alice/alice_0001.wav** to the trash") and pending == ""
    assert list(trash["item"]) == ["results/alice/alice_0001.wav", "results/alice/alice_0001.json"]
    # a confirmation is for the item it was asked about
    _, pending, _, _ = rename_handler(ctx, "recording", "alice/one.wav", "intro", "")
    message, _, _, _ = rename_handler(ctx, "recording", "alice/two.wav", "intro", pending)
    assert "Press **Rename** again" in message and (things.voice_dir("alice") / "two.wav").is_file()
    message, pending, _ = empty_trash_handler(ctx, "")
    assert "for good" in message and len(list_trash(things)) == 2
    message, _, trash = empty_trash_handler(ctx, pending)
    assert message == "Emptied the trash: 2 item(s) deleted for good." and trash.empty
    assert delete_handler(ctx, "run", None, "")[0] == "**Not deleted:** run: choose one to delete"


def test_names_that_lead_out_are_refused_and_hand_made_names_are_handled(things):
    odd = things.voice_dir("alice") / "-take one (from the phone).wav"
    shutil.copy(things.voice_dir("alice") / "one.wav", odd)
    assert "alice/-take one (from the phone).wav" in list_items(things, "recording")
    delete_item(things, "recording", "alice/-take one (from the phone).wav")
    assert not odd.exists()
    for bad in ("alice/../../settings.json", "alice/./one.wav"):
        with pytest.raises(UserError, match="not inside alice/"):
            delete_item(things, "recording", bad)
    with pytest.raises(UserError, match="expected VOICE/NAME.wav"):
        delete_item(things, "result", "alice/../alice/alice_0001.wav")
    outside = things.root.parent / "outside.wav"
    outside.write_bytes(b"not the workspace's")
    (things.results_dir("alice") / "link.wav").symlink_to(outside)
    with pytest.raises(UserError, match="not inside alice/"):
        delete_item(things, "result", "alice/link.wav")
    assert outside.read_bytes() == b"not the workspace's"
