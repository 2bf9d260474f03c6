"""Clean cuts with real Whisper base: espeak-ng sentences of known text and real speech joined with pauses are
cut in the pauses, at sentence ends, with the words they hold; a clip that could only be cut in speech is
flagged in dataset.json and listed first for proofreading."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from tortoise_studio.dataset.audio import SAMPLE_RATE, WHISPER_SAMPLE_RATE, load_audio, resample
from tortoise_studio.dataset import PrepareOptions, load_clip_table, plan_clips, prepare_dataset
from tortoise_studio.dataset.pauses import edges_in_speech
from tortoise_studio.dataset.slicing import ends_sentence
from tortoise_studio.dataset.transcribe import load_transcriber
from tortoise_studio.evaluate.cer import edit_distance
from tortoise_studio.ui.context import AppContext
from tortoise_studio.ui.prepare_tab import clip_table

PAUSE = 0.4
SENTENCES = ["The old lighthouse keeper climbed the stairs every evening.",
             "Yes.",
             "He lit the lamp and watched the ships pass by in the dark.",
             "One winter the storm was so strong that the windows shook, the sea rose over the rocks, the boats in "
             "the harbour broke loose from their ropes, and the keeper stayed awake until morning, holding the lamp "
             "steady with both hands while the wind screamed around the tower.",
             "In the morning the sky was clear again."]


@pytest.fixture(scope="module")
def faster(whisper_base):
    return load_transcriber("faster-whisper", str(whisper_base))


def joined_with_pauses(pieces: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The pieces with PAUSE seconds of silence before, between and after them, and where each piece lies."""
    pause = np.zeros(int(PAUSE * SAMPLE_RATE), dtype=np.float32)
    parts, spans, at = [pause], [], len(pause)
    for piece in pieces:
        spans.append((at / SAMPLE_RATE, (at + len(piece)) / SAMPLE_RATE))
        parts += [piece, pause]
        at += len(piece) + len(pause)
    return np.concatenate(parts), spans


def speech_span(piece: np.ndarray, offset: float) -> tuple[float, float]:
    """Where the piece really speaks (espeak-ng's own files end with some silence)."""
    loud = np.flatnonzero(np.abs(piece) > 0.01)
    return offset + loud[0] / SAMPLE_RATE, offset + (loud[-1] + 1) / SAMPLE_RATE


def transcribe(faster, audio: np.ndarray):
    return faster.transcribe(resample(audio, SAMPLE_RATE, WHISPER_SAMPLE_RATE), language="en").segments


def clip_audio(audio: np.ndarray, clip) -> np.ndarray:
    return audio[int(clip.start * SAMPLE_RATE):int(round(clip.end * SAMPLE_RATE))]


def words_of(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


@pytest.mark.slow
def test_espeak_sentences_become_clips_of_whole_sentences(faster, tmp_path):
    pieces = []
    for i, sentence in enumerate(SENTENCES):
        subprocess.run(["espeak-ng", "-w", str(tmp_path / f"{i}.wav"), sentence], check=True, capture_output=True)
        pieces.append(load_audio(tmp_path / f"{i}.wav", SAMPLE_RATE))
    audio, spans = joined_with_pauses(pieces)
    clips, dropped = plan_clips(transcribe(faster, audio), audio, SAMPLE_RATE)

    assert dropped == [] and all(c.flags == () for c in clips)
    assert not any(any(edges_in_speech(clip_audio(audio, c), SAMPLE_RATE)) for c in clips)
    assert all(c.seconds >= 1.0 for c in clips)  # "Yes." was merged with a neighbour
    # Every clip ends in the pause after a sentence, except the one cut inside the sentence too long for a clip.
    spoken = [speech_span(piece, start) for piece, (start, _) in zip(pieces, spans)]
    after_last = (len(audio) / SAMPLE_RATE, 0.0)
    pauses = [(end, next_start) for (_, end), (next_start, _) in zip(spoken, spoken[1:] + [after_last])]
    at_sentence_end = [any(lo - 0.02 <= c.end <= hi + 0.02 for lo, hi in pauses) for c in clips]
    long_start, long_end = spoken[3]
    assert at_sentence_end.count(False) == 1
    inside = clips[at_sentence_end.index(False)]
    assert long_start < inside.end < long_end
    assert sum(ends_sentence(c.text) for c in clips) == len(clips) - 1
    # The texts are the words each clip holds: together they are the sentences, in order.
    reference = words_of(" ".join(SENTENCES))
    assert edit_distance(reference, words_of(" ".join(c.text for c in clips))) <= 0.15 * len(reference)


@pytest.fixture(scope="module")
def real_joined(tortoise_voices, faster):
    """Three real utterances joined with pauses, and Whisper base's transcript of them."""
    names = ["rainbow/1.wav", "tom/3.wav", "train_kennard/2.wav"]
    audio, spans = joined_with_pauses([load_audio(tortoise_voices / name, SAMPLE_RATE) for name in names])
    return audio, spans, transcribe(faster, audio)


@pytest.mark.slow
def test_real_speech_is_cut_in_its_pauses_and_keeps_every_word(real_joined):
    audio, _, segments = real_joined
    clips, dropped = plan_clips(segments, audio, SAMPLE_RATE)
    assert dropped == [] and len(clips) >= 2
    assert all(c.flags == () and c.seconds >= 1.0 for c in clips)
    assert not any(any(edges_in_speech(clip_audio(audio, c), SAMPLE_RATE)) for c in clips)
    assert " ".join(c.text for c in clips).split() == " ".join(s.text for s in segments).split()
    # Clips never overlap, and the audio between two clips is the pause the cut was made in: quiet.
    for before, after in zip(clips, clips[1:]):
        assert before.end <= after.start
        between = audio[int(before.end * SAMPLE_RATE):int(after.start * SAMPLE_RATE)]
        assert between.size == 0 or np.sqrt(np.mean(between ** 2)) < 0.1 * np.sqrt(np.mean(audio ** 2))


@pytest.mark.slow
def test_clips_that_must_be_cut_in_speech_are_flagged_with_the_reason(real_joined):
    audio, _, segments = real_joined
    clips, _ = plan_clips(segments, audio, SAMPLE_RATE, max_seconds=1.8)  # too short for the phrases: cuts in words
    flagged = [c for c in clips if c.flags]
    assert flagged
    for clip in clips:
        starts, ends = edges_in_speech(clip_audio(audio, clip), SAMPLE_RATE)
        assert [f.split(":")[0] for f in clip.flags] == (["starts inside speech"] if starts else []) + \
            (["ends inside speech"] if ends else [])
    assert any("no pause before \u201c" in f or "no pause after \u201c" in f for c in flagged for f in c.flags)


@pytest.mark.slow
def test_prepare_flags_a_recording_cut_inside_speech_and_lists_it_first(workspace, tortoise_voices, faster):
    voice = workspace.voice_dir("mixed")
    voice.mkdir()
    shutil.copy(tortoise_voices / "rainbow" / "1.wav", voice / "a_clean.wav")
    speech = load_audio(tortoise_voices / "tom" / "3.wav", SAMPLE_RATE)
    frame = int(0.01 * SAMPLE_RATE)
    power = np.mean(speech[: len(speech) // frame * frame].reshape(-1, frame) ** 2, axis=1)
    loud = np.flatnonzero(power > 2 * np.median(power))  # in the middle of words
    soundfile.write(voice / "b_cut.wav", speech[loud[3] * frame:loud[-3] * frame], SAMPLE_RATE)

    prepare_dataset(workspace, "mixed", PrepareOptions(language="en"), transcriber=faster)
    dataset = workspace.dataset_dir("mixed")
    report = json.loads((dataset / "dataset.json").read_text())
    spans = report["clip_spans"]  # where each clip was cut from: what corrections are keyed on
    assert {s["source"] for s in spans.values()} == {"a_clean.wav", "b_cut.wav"}
    for clip, span in spans.items():
        assert abs((span["end"] - span["start"]) - report["clip_seconds"][clip]) < 0.01
    flagged = report["flagged"]
    assert flagged and all(spans[clip]["source"] == "b_cut.wav" for clip in flagged)
    assert any("the recording itself starts there" in reason for reason in flagged.values())

    rows = load_clip_table(dataset)
    assert [bool(r.flag) for r in rows] == sorted((bool(r.flag) for r in rows), reverse=True)
    assert rows[0].clip in flagged and rows[0].flag == flagged[rows[0].clip]
    table = clip_table(AppContext(workspace), "mixed")
    assert table.iloc[0]["flag"] == rows[0].flag and table.iloc[0]["clip"] == rows[0].clip
