"""Corrections survive preparing again: real speech, real Whisper base, real files."""

from __future__ import annotations

import json
import shutil

import pytest

from tortoise_studio.dataset import PrepareOptions, load_clip_table, prepare_dataset, read_list, save_clip_table
from tortoise_studio.dataset.corrections import (CORRECTIONS_FILE, ClipKey, Correction, load_corrections,
                                                 record_corrections, save_corrections)
from tortoise_studio.dataset.proofread import ClipRow
from tortoise_studio.errors import UserError
from tortoise_studio.dataset.transcribe import load_transcriber

OPTIONS = PrepareOptions(language="en", validation_fraction=0.25, seed=1)


@pytest.fixture(scope="module")
def faster(whisper_base):
    return load_transcriber("faster-whisper", str(whisper_base))


def voice_with(workspace, clips, names):
    folder = workspace.voices / "v"
    folder.mkdir(parents=True, exist_ok=True)
    for clip, name in zip(clips, names):
        shutil.copy(clip, folder / name)
    return folder


def clips_by_span(dataset_dir) -> dict[tuple[str, float], tuple[str, str]]:
    """(recording, start) -> (split, text) of every clip in the lists, read with dataset.json's clip_spans."""
    spans = json.loads((dataset_dir / "dataset.json").read_text())["clip_spans"]
    lists = {e.audio: (split, e.text) for split in ("train", "validation")
             for e in read_list(dataset_dir / f"{split}.txt")[0]}
    return {(spans[clip]["source"], round(spans[clip]["start"], 1)): lists[clip] for clip in spans if clip in lists}


@pytest.mark.slow
def test_edits_drops_and_split_survive_preparing_again(workspace, real_clips, faster):
    # 14.2 s and 12.5 s (two clips each) and 7.4 s (one clip) of real speech
    voice_with(workspace, [real_clips[0], real_clips[1], real_clips[3]], ["a.wav", "b.wav", "c.wav"])
    first = prepare_dataset(workspace, "v", OPTIONS, transcriber=faster)
    dataset = workspace.dataset_dir("v")
    assert first.corrections == {"file": CORRECTIONS_FILE, "kept": 0, "unplaced": []}
    spans = json.loads((dataset / "dataset.json").read_text())["clip_spans"]
    assert {s["source"] for s in spans.values()} == {"a.wav", "b.wav", "c.wav"} and len(spans) == first.clips >= 4
    assert all(s["end"] > s["start"] >= 0 and s["split"] in ("train", "validation") for s in spans.values())
    before = clips_by_span(dataset)

    # The user corrects two transcripts, drops a clip and moves one to the other split.
    rows = {(spans[r.clip]["source"], round(spans[r.clip]["start"], 1)): r for r in load_clip_table(dataset)}
    edit_a, edit_b, drop, move = sorted(rows)[:4]
    moved_to = "validation" if rows[move].split == "train" else "train"
    changes = {edit_a: ("My own words for A.", None), edit_b: ("Corrected text for B.", None),
               drop: (None, "drop"), move: (None, moved_to)}
    changed = [ClipRow(r.clip, r.seconds, changes.get(k, (None, None))[0] or r.text,
                       changes.get(k, (None, None))[1] or r.split) for k, r in rows.items()]
    assert any(r.split == "train" for r in changed)
    save_clip_table(dataset, changed)
    stored = {(c.key.source, round(c.key.start, 1)): c for c in load_corrections(dataset)}
    assert set(stored) == {edit_a, edit_b, drop, move}
    assert stored[edit_a].text == "My own words for A." and stored[edit_a].transcribed == before[edit_a][1]
    assert stored[drop].split == "drop" and stored[move].split == moved_to

    # A new recording arrives; preparing again keeps every correction and the split of the known clips.
    shutil.copy(real_clips[4], workspace.voices / "v" / "d.wav")
    second = prepare_dataset(workspace, "v", OPTIONS, transcriber=faster)
    after = clips_by_span(dataset)
    assert second.transcribed == 1  # only the new file went to Whisper
    assert after[edit_a] == (before[edit_a][0], "My own words for A.")
    assert after[edit_b] == (before[edit_b][0], "Corrected text for B.")
    assert drop not in after  # still dropped
    assert after[move] == (moved_to, before[move][1])
    for key in set(before) - {edit_a, edit_b, drop, move}:
        assert after[key] == before[key]  # untouched clips keep their split and text
    assert any(source == "d.wav" for source, _ in after) and second.clips == len(before) - 1 + 1
    saved = json.loads((dataset / "dataset.json").read_text())
    assert saved["corrections"]["kept"] == 4 and saved["corrections"]["unplaced"] == []

    # A recording that is gone: its corrections cannot be placed, are counted, and stay in the file.
    gone = edit_a[0]
    shutil.move(workspace.voices / "v" / gone, workspace.root / gone)
    third = prepare_dataset(workspace, "v", OPTIONS, transcriber=faster)
    lost = [k for k in (edit_a, edit_b, drop, move) if k[0] == gone]
    assert third.corrections["kept"] == 4 - len(lost)
    assert sorted(c["source"] for c in third.corrections["unplaced"]) == [gone] * len(lost)
    assert gone in {c.key.source for c in load_corrections(dataset)}


@pytest.mark.slow
def test_a_hand_edit_of_train_txt_is_kept_and_an_undone_edit_is_forgotten(workspace, real_clips, faster):
    voice_with(workspace, [real_clips[3]], ["a.wav"])
    prepare_dataset(workspace, "v", PrepareOptions(language="en", validation_fraction=0), transcriber=faster)
    dataset = workspace.dataset_dir("v")
    train = dataset / "train.txt"
    original = train.read_text()
    lines = original.splitlines()
    clip = lines[0].split("|")[0]
    train.write_text("\n".join([f"{clip}|Typed by hand."] + lines[1:]) + "\n")
    prepare_dataset(workspace, "v", PrepareOptions(language="en", validation_fraction=0), transcriber=faster)
    assert f"|Typed by hand." in train.read_text()
    assert len(load_corrections(dataset)) == 1
    train.write_text(original)  # the user puts Whisper's text back
    assert record_corrections(dataset) == []
    assert json.loads((dataset / CORRECTIONS_FILE).read_text())["corrections"] == []


def test_an_unreadable_corrections_file_stops_prepare_and_is_kept(workspace, real_clips):
    voice_with(workspace, real_clips[:1], ["a.wav"])
    dataset = workspace.dataset_dir("v")
    dataset.mkdir(parents=True)
    (dataset / CORRECTIONS_FILE).write_text("{half a file")
    with pytest.raises(UserError, match="corrections.json: not readable as corrections"):
        prepare_dataset(workspace, "v", OPTIONS)
    assert (dataset / CORRECTIONS_FILE).read_text() == "{half a file"


def test_corrections_file_round_trip_and_span_tolerance(tmp_path):
    one = Correction(ClipKey("a.wav", 1.0, 4.0), "text", None, "whisper")
    two = Correction(ClipKey("b/c.flac", 0.0, 2.5), None, "drop", "x")
    save_corrections(tmp_path, [two, one])
    assert load_corrections(tmp_path) == [one, two]  # sorted by recording and start
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    assert ClipKey("a.wav", 1.0, 4.0).distance(ClipKey("a.wav", 1.2, 3.9)) == pytest.approx(0.2)
    assert ClipKey("a.wav", 1.0, 4.0).distance(ClipKey("a.wav", 1.5, 4.0)) is None
    assert ClipKey("a.wav", 1.0, 4.0).distance(ClipKey("b.wav", 1.0, 4.0)) is None


@pytest.mark.slow
def test_prepare_tab_refuses_to_lose_unsaved_edits_and_reports_corrections(workspace, real_clips, whisper_base):
    from tortoise_studio.ui.context import AppContext
    from tortoise_studio.ui.prepare_tab import clip_table, prepare_handler, save_table_handler
    voice_with(workspace, [real_clips[3], real_clips[4]], ["a.wav", "b.wav"])
    ctx = AppContext(workspace)
    args = ("v", "faster-whisper", str(whisper_base), "en", 0.0, 0, False, False)
    assert prepare_handler(ctx, *args)[0].startswith("Prepared **v**")
    table = clip_table(ctx, "v")
    edited = table.copy()
    edited.loc[0, "text"] = "Typed, not saved."
    status = prepare_handler(ctx, *args, table=edited)[0]
    assert status == ("**Prepare failed:** clips: 1 edited row(s) in the clip table are not saved; press Save "
                      "corrections first (or choose the voice again to discard them)")
    save_table_handler(ctx, "v", edited)
    status = prepare_handler(ctx, *args, table=clip_table(ctx, "v"))[0]
    assert status.endswith("Kept 1 of your corrections.")
    assert "Typed, not saved." in set(clip_table(ctx, "v")["text"])


@pytest.mark.slow
def test_renaming_a_recording_keeps_its_corrections_and_transcript(workspace, real_clips, faster):
    from tortoise_studio.manage import rename_item
    voice_with(workspace, [real_clips[3], real_clips[4]], ["a.wav", "b.wav"])
    options = PrepareOptions(language="en", validation_fraction=0)
    prepare_dataset(workspace, "v", options, transcriber=faster)
    dataset = workspace.dataset_dir("v")
    rows = load_clip_table(dataset)
    spans = json.loads((dataset / "dataset.json").read_text())["clip_spans"]
    target = next(r for r in rows if spans[r.clip]["source"] == "a.wav")
    save_clip_table(dataset, [ClipRow(r.clip, r.seconds, "Renamed but mine.", r.split) if r is target else r
                              for r in rows])
    assert rename_item(workspace, "recording", "v/a.wav", "intro") == "v/intro.wav"
    assert [c.key.source for c in load_corrections(dataset)] == ["intro.wav"]
    again = prepare_dataset(workspace, "v", options, transcriber=faster)
    assert again.transcribed == 0  # the cached transcript followed the file
    assert again.corrections["kept"] == 1 and again.corrections["unplaced"] == []
    assert "Renamed but mine." in {e.text for e in read_list(dataset / "train.txt")[0]}
