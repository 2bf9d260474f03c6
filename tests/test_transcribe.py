"""Both Whisper backends through their real code paths: real Whisper base on real speech, and
openai-whisper on a small random checkpoint (timestamps asserted, not text)."""

from __future__ import annotations

import re
import subprocess

import pytest

from tortoise_studio.evaluate.cer import edit_distance
from tortoise_studio.dataset.audio import WHISPER_SAMPLE_RATE, load_audio
from tortoise_studio.errors import UserError
from tortoise_studio.dataset.transcribe import load_transcriber

SENTENCES = ["The quick brown fox jumps over the lazy dog.",
             "She sells sea shells by the sea shore.",
             "Please call me tomorrow morning at the office.",
             "We walked home through the park after dinner."]


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """Levenshtein distance over words, divided by the reference length."""
    return edit_distance(reference, hypothesis) / max(len(reference), 1)


def words_of(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def test_word_error_rate_helper():
    assert word_error_rate(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert word_error_rate(["a", "b", "c", "d"], ["a", "x", "c"]) == 0.5


@pytest.fixture(scope="module")
def faster(whisper_base):
    return load_transcriber("faster-whisper", str(whisper_base))


@pytest.mark.slow
def test_faster_whisper_base_transcribes_espeak_sentences(faster, tmp_path):
    reference, hypothesis = [], []
    for i, sentence in enumerate(SENTENCES):
        path = tmp_path / f"s{i}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), sentence], check=True, capture_output=True)
        transcript = faster.transcribe(load_audio(path, WHISPER_SAMPLE_RATE), language="en")
        reference += words_of(sentence)
        hypothesis += words_of(transcript.text)
    assert word_error_rate(reference, hypothesis) <= 0.25, (reference, hypothesis)


@pytest.mark.slow
def test_faster_whisper_base_on_real_voice_clips_has_word_timestamps(faster, real_clips):
    for clip in real_clips[:2]:
        audio = load_audio(clip, WHISPER_SAMPLE_RATE)
        duration = len(audio) / WHISPER_SAMPLE_RATE
        transcript = faster.transcribe(audio, language="en")
        assert transcript.model.startswith("faster-whisper:") and transcript.language == "en"
        assert len(words_of(transcript.text)) >= 3
        words = [w for s in transcript.segments for w in s.words]
        assert len(words) >= 3
        assert all(0 <= w.start <= w.end <= duration + 0.1 for w in words)
        assert all(a.start <= b.start for a, b in zip(words, words[1:]))


def test_named_model_offline_says_to_pass_a_local_path(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="to a local path") as caught:
        load_transcriber("faster-whisper", "tiny")
    message = str(caught.value)
    # whole sentences: what is missing, then both ways out (download in Settings, or a local folder)
    assert message.startswith("model: the faster-whisper model 'tiny' is not on this machine")
    assert "press Download in the Settings tab" in message and "CTranslate2 Whisper folder" in message
    assert message.endswith("in models/whisper-base.") and "(…" not in message and "and);" not in message


@pytest.mark.parametrize("backend, model, message", [
    ("whisperx", "base", "backend: 'whisperx' is not one of"),
    ("faster-whisper", "/no/such/model", "no such file or folder"),
    ("faster-whisper", "huge", "not a Whisper model name"),
])
def test_bad_backend_or_model_is_a_user_error(backend, model, message):
    with pytest.raises(UserError, match=message):
        load_transcriber(backend, model)


@pytest.fixture(scope="module")
def random_openai_checkpoint(tmp_path_factory):
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    # Audio context stays 1500 (30 s of mel); the text context is small so random decoding stops early.
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                           n_vocab=51865, n_text_ctx=64, n_text_state=64, n_text_head=2, n_text_layer=2)
    model = Whisper(dims)
    with torch.no_grad():
        model.decoder.positional_embedding.normal_(0, 0.02)  # allocated with torch.empty: uninitialised
    path = tmp_path_factory.mktemp("openai-whisper") / "random.pt"
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, path)
    return path


@pytest.mark.slow
def test_openai_whisper_backend_runs_on_a_random_checkpoint(random_openai_checkpoint, real_clips):
    import torch
    torch.set_num_threads(1)
    transcriber = load_transcriber("openai-whisper", str(random_openai_checkpoint),
                                   decode_options={"temperature": 0.0})
    assert transcriber.model_id == f"openai-whisper:{random_openai_checkpoint}"
    audio = load_audio(real_clips[0], WHISPER_SAMPLE_RATE)[: 3 * WHISPER_SAMPLE_RATE]
    transcript = transcriber.transcribe(audio, language="en")
    assert transcript.segments and transcript.language == "en"
    for segment in transcript.segments:
        assert 0.0 <= segment.start <= segment.end <= 3.0 + 0.5
        assert all(segment.start - 0.5 <= w.start <= w.end <= segment.end + 0.5 for w in segment.words)
    assert any(segment.words for segment in transcript.segments)


def test_openai_whisper_rejects_a_file_that_is_not_a_checkpoint(tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="model"):
        load_transcriber("openai-whisper", str(bad))
