"""Slicing on real speech with known pauses (word times written by hand, off the way Whisper's are), and the
train/validation split. Whisper itself runs in test_clean_cuts.py."""

from __future__ import annotations

import numpy as np
import pytest

from tortoise_studio.dataset.audio import MAX_CLIP_SECONDS, MAX_TEXT_CHARS, SAMPLE_RATE, load_audio, trim_silence
from tortoise_studio.dataset import ListEntry, plan_clips, split_entries
from tortoise_studio.dataset.pauses import EnergyTrack, edges_in_speech
from tortoise_studio.dataset.slicing import ends_sentence
from tortoise_studio.dataset.transcribe import Segment, Word


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SAMPLE_RATE)), dtype=np.float32)


@pytest.fixture(scope="module")
def speech(tortoise_voices) -> list[np.ndarray]:
    """Three real utterances with their own leading and trailing silence trimmed away."""
    names = ["rainbow/1.wav", "train_lescault/lescault_new3.wav", "applejack/1.wav"]
    # Trimmed where the level falls 30 dB under the loudest frame: what is left is audibly speech.
    return [trim_silence(load_audio(tortoise_voices / name), SAMPLE_RATE, threshold_db=-30.0, keep_seconds=0.0)
            for name in names]


def joined(*parts: np.ndarray) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The parts end to end, and where each part lies (seconds)."""
    spans, at = [], 0
    for part in parts:
        spans.append((at / SAMPLE_RATE, (at + len(part)) / SAMPLE_RATE))
        at += len(part)
    return np.concatenate(parts), spans


def words_over(start: float, end: float, texts: list[str], shift: float = 0.0) -> list[Word]:
    """Words spread evenly over [start, end], all moved by `shift` seconds (Whisper's times are often off)."""
    step = (end - start) / len(texts)
    return [Word(start + i * step + shift, start + (i + 1) * step - 0.02 + shift, " " + t) for i, t in enumerate(texts)]


def segment(words: list[Word]) -> Segment:
    return Segment(words[0].start, words[-1].end, "".join(w.word for w in words).strip(), tuple(words))


def clip_audio(audio: np.ndarray, clip) -> np.ndarray:
    return audio[int(clip.start * SAMPLE_RATE):int(round(clip.end * SAMPLE_RATE))]


def test_cut_moves_from_wrong_word_times_into_the_real_pause(speech):
    audio, spans = joined(silence(0.3), speech[0], silence(0.5), speech[1], silence(0.3))
    (_, _), (a_start, a_end), (gap_start, gap_end), (b_start, b_end), _ = spans
    first = words_over(a_start, a_end, [f"a{i}" for i in range(11)] + ["done."])
    first[-1] = Word(first[-1].start, first[-1].end + 0.2, first[-1].word)  # runs 0.2 s into the pause
    second = words_over(b_start, b_end, [f"b{i}" for i in range(9)] + ["end."], shift=-0.25)  # starts too early
    clips, dropped = plan_clips([segment(first), segment(second)], audio, SAMPLE_RATE,
                                max_seconds=max(a_end - a_start, b_end - b_start) + 0.5)
    assert dropped == [] and len(clips) == 2
    before, after = clips
    assert before.text == " ".join(w.word.strip() for w in first)
    assert after.text == " ".join(w.word.strip() for w in second)
    # Each clip keeps up to 0.15 s of the pause (10 ms frames: 0.17 s) and never reaches into the other's speech.
    assert gap_start + 0.1 <= before.end <= gap_start + 0.17
    assert gap_end - 0.17 <= after.start <= gap_end - 0.1
    assert a_start - 0.17 <= before.start <= a_start - 0.1 and b_end + 0.1 <= after.end <= b_end + 0.17
    assert [c.flags for c in clips] == [(), ()]
    assert not any(any(edges_in_speech(clip_audio(audio, c), SAMPLE_RATE)) for c in clips)


def test_pause_search_finds_the_quiet_stretch_and_nothing_inside_a_word(speech):
    audio, spans = joined(speech[0], silence(0.4), speech[1])
    gap_start, gap_end = spans[1]
    track = EnergyTrack(audio, SAMPLE_RATE)
    pause = track.pause_in(gap_start - 0.3, gap_end + 0.3)
    assert abs(pause.start - gap_start) <= 0.03 and abs(pause.end - gap_end) <= 0.03
    assert gap_start < pause.cut < gap_end
    loudest = int(np.argmax(np.abs(audio))) / SAMPLE_RATE  # the middle of a vowel
    assert track.pause_in(loudest - 0.03, loudest + 0.03).seconds < 0.08


def test_long_speech_is_cut_within_the_limits_keeping_every_word_in_order(speech):
    audio, spans = joined(*(speech * 2))  # about 35 s, no pause between the parts
    texts = [f"w{i}" for i in range(90)]
    clips, dropped = plan_clips([segment(words_over(0.0, spans[-1][1], texts))], audio, SAMPLE_RATE)
    assert dropped == [] and len(clips) >= 4
    assert " ".join(c.text for c in clips).split() == texts
    assert all(1.0 <= c.seconds <= MAX_CLIP_SECONDS + 1e-6 for c in clips)
    assert all(a.end <= b.start for a, b in zip(clips, clips[1:]))
    # Wherever a clip edge is still in speech, the clip says so.
    for clip in clips:
        assert bool(clip.flags) == any(edges_in_speech(clip_audio(audio, clip), SAMPLE_RATE))


def test_text_limit_splits_fast_speech(speech):
    audio, spans = joined(speech[0], silence(0.3), speech[2])
    words = words_over(0.0, spans[-1][1], ["abcdefghij"] * 40)  # 440 characters in 15 s
    clips, dropped = plan_clips([segment(words)], audio, SAMPLE_RATE)
    assert dropped == [] and len(clips) >= 3 and all(len(c.text) <= MAX_TEXT_CHARS for c in clips)


def test_a_recording_that_fits_is_one_clip_with_at_most_a_little_silence(speech):
    audio, spans = joined(silence(1.0), speech[1], silence(1.5))
    start, end = spans[1]
    clips, dropped = plan_clips([segment(words_over(start, end, ["one", "short", "recording."]))], audio, SAMPLE_RATE)
    assert dropped == [] and len(clips) == 1
    assert start - 0.17 <= clips[0].start <= start - 0.1 and end + 0.1 <= clips[0].end <= end + 0.17
    assert clips[0].text == "one short recording."


def test_isolated_fragment_too_short_for_a_clip_is_dropped_with_its_reason(speech):
    blip = speech[0][: int(0.2 * SAMPLE_RATE)]
    audio, spans = joined(speech[1], silence(4.0), blip, silence(4.0))
    words = [segment(words_over(*spans[0], ["a", "b", "c", "d."])), segment(words_over(*spans[2], ["hi."]))]
    clips, dropped = plan_clips(words, audio, SAMPLE_RATE)
    assert [c.text for c in clips] == ["a b c d."]
    assert len(dropped) == 1 and dropped[0].text == "hi." and dropped[0].reason.startswith("too short")


def test_a_word_without_duration_stays_with_its_sentence(speech):
    audio, spans = joined(silence(0.6), speech[1], silence(0.4), speech[0], silence(0.3))
    first = words_over(*spans[1], ["it", "was", "a", "risk."])
    second = words_over(*spans[3], ["really", "drink", "a", "lot."])
    zero = Word(first[-1].end, first[-1].end, " I")  # Whisper gave it no time, at the end of the word before
    start_zero = Word(0.0, 0.0, " So")  # ... or at the very start of the file
    segments = [segment([start_zero, *first, zero]), segment(second)]
    clips, _ = plan_clips(segments, audio, SAMPLE_RATE, max_seconds=spans[3][1] - spans[3][0] + 0.4)
    assert [c.text for c in clips] == ["So it was a risk.", "I really drink a lot."]
    assert clips[0].start >= spans[1][0] - 0.17  # not from 0: the leading silence is not kept whole


def test_empty_transcript_gives_nothing(speech):
    assert plan_clips([Segment(0.0, 2.0, "  ")], speech[0], SAMPLE_RATE) == ([], [])


def test_sentence_ends():
    assert ends_sentence("a very sophisticated guy.") and ends_sentence('she said "stop!"') and ends_sentence("why?")
    assert not ends_sentence("and then Mr.") and not ends_sentence("well,") and not ends_sentence("")


def entries(n: int) -> list[ListEntry]:
    return [ListEntry(f"audio/c_{i:04d}.wav", f"text {i}") for i in range(n)]


def test_split_is_seeded_random_and_never_empties_train():
    train, validation = split_entries(entries(100), 0.05, seed=1)
    assert len(validation) == 5 and len(train) == 95
    assert split_entries(entries(100), 0.05, seed=1) == (train, validation)
    assert split_entries(entries(100), 0.05, seed=2)[1] != validation
    # Not by text length or name order: the predecessor's mistake.
    assert [e.audio for e in validation] != [e.audio for e in entries(100)[-5:]]
    for n in (2, 3, 5):
        train, validation = split_entries(entries(n), 0.5, seed=0)
        assert len(validation) >= 1 and len(train) >= 1
    assert split_entries(entries(1), 0.5, seed=0) == (entries(1), [])
    assert len(split_entries(entries(2), 0.95, seed=0)[0]) == 1
