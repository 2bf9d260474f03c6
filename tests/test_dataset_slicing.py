"""Slicing transcripts into clips and splitting clips into train/validation (pure functions)."""

from __future__ import annotations

from tortoise_studio.dataset.audio import MAX_CLIP_SECONDS, MAX_TEXT_CHARS, MIN_CLIP_SECONDS
from tortoise_studio.dataset import ListEntry, plan_clips, split_entries
from tortoise_studio.dataset.transcribe import Segment, Word


def segment_of_words(start: float, texts: list[str], word_seconds: float = 0.4) -> Segment:
    words = tuple(Word(start + i * word_seconds, start + (i + 1) * word_seconds - 0.05, " " + t)
                  for i, t in enumerate(texts))
    return Segment(start, words[-1].end, " ".join(texts), words)


def test_a_file_that_fits_is_one_clip():
    clips, dropped = plan_clips([segment_of_words(0.2, ["hello", "there"]), segment_of_words(1.2, ["friend"])], 3.0)
    assert [(c.start, c.end, c.text) for c in clips] == [(0.0, 3.0, "hello there friend")]
    assert dropped == []


def test_long_segment_is_split_at_words_within_limits_and_keeps_every_word():
    words = [f"w{i}" for i in range(80)]  # 32 s of speech in one segment
    clips, dropped = plan_clips([segment_of_words(1.0, words)], 40.0)
    assert dropped == [] and len(clips) == 3
    assert " ".join(c.text for c in clips).split() == words
    for clip in clips:
        assert MIN_CLIP_SECONDS <= clip.seconds <= MAX_CLIP_SECONDS
    assert all(a.end <= b.start for a, b in zip(clips, clips[1:]))  # padding never overlaps


def test_text_limit_splits_fast_speech():
    words = ["abcdefghij"] * 40  # 440 characters in 8 s
    clips, _ = plan_clips([segment_of_words(0.0, words, word_seconds=0.2)], 30.0)
    assert len(clips) >= 3 and all(len(c.text) <= MAX_TEXT_CHARS for c in clips)


def test_short_segment_merges_with_its_close_neighbour():
    segments = [segment_of_words(0.0, ["one", "two", "three", "four", "five", "six"]),
                segment_of_words(2.5, ["yes"]),  # 0.35 s: too short alone
                segment_of_words(20.0, ["far", "away", "and", "long", "enough"])]
    clips, dropped = plan_clips(segments, 30.0)
    assert [c.text for c in clips] == ["one two three four five six yes", "far away and long enough"]
    assert dropped == []


def test_isolated_short_segment_is_dropped_with_reason():
    clips, dropped = plan_clips([segment_of_words(5.0, ["hi"], word_seconds=0.25), segment_of_words(20.0, ["a", "b", "c", "d"])], 30.0)
    assert [c.text for c in clips] == ["a b c d"]
    assert len(dropped) == 1 and dropped[0].reason.startswith("too short")


def test_empty_transcript_gives_nothing():
    assert plan_clips([Segment(0.0, 2.0, "  ")], 2.0) == ([], [])


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
