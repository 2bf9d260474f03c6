"""audio.py on real speech and on the formats, rates, depths and broken files users bring."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from tortoise_studio.dataset.audio import (SAMPLE_RATE, load_audio, load_audio_with_rate, speech_regions, trim_silence,
                                   write_wav)
from tortoise_studio.errors import UserError


def tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_real_clip_loads_as_22050_mono_float(real_clips):
    samples = load_audio(real_clips[0])
    info = soundfile.info(str(real_clips[0]))
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - round(info.frames * SAMPLE_RATE / info.samplerate)) <= 2
    assert 0.05 < np.abs(samples).max() <= 1.0


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_any_bit_depth_reads_to_the_same_level(tmp_path, subtype):
    path = tmp_path / f"t-{subtype}.wav"
    soundfile.write(path, tone(0.5, 16000), 16000, subtype=subtype)
    samples = load_audio(path, None)
    assert len(samples) == 8000
    assert abs(np.abs(samples).max() - 0.5) < 0.02


def test_96k_stereo_is_averaged_and_resampled(tmp_path):
    left, right = tone(1.0, 96000, amplitude=0.6), np.zeros(96000, dtype=np.float32)
    path = tmp_path / "st.wav"
    soundfile.write(path, np.stack([left, right], axis=1), 96000, subtype="PCM_24")
    samples = load_audio(path)
    assert len(samples) == SAMPLE_RATE
    assert abs(np.abs(samples[1000:-1000]).max() - 0.3) < 0.01  # (0.6 + 0) / 2


def test_m4a_and_opus_decode_through_pyav(tmp_path):
    import av
    for name, codec, rate in [("a.m4a", "aac", 44100), ("a.opus", "libopus", 48000)]:
        path = tmp_path / name
        with av.open(str(path), "w") as container:
            stream = container.add_stream(codec, rate=rate)
            stream.layout = "stereo"
            wave = tone(1.0, rate, amplitude=0.4)
            frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
            frame.sample_rate = rate
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                container.mux(packet)
        samples, got_rate = load_audio_with_rate(path)
        assert got_rate == rate
        assert 0.95 * rate <= len(samples) <= 1.1 * rate  # encoders add a little priming
        assert 0.3 < np.abs(samples).max() < 0.5


@pytest.mark.parametrize("content, reason", [(b"", "empty file"), (b"just some text\n", "not decodable"),
                                             (bytes(range(256)) * 20, "not decodable")])
def test_bad_files_raise_user_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(UserError, match=reason) as info:
        load_audio(path)
    assert str(path) in str(info.value)


def test_write_wav_is_pcm16_mono_and_leaves_no_temp_file(tmp_path):
    out = write_wav(tmp_path / "x.wav", tone(0.3, SAMPLE_RATE))
    info = soundfile.info(str(out))
    assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]


def test_trim_silence_and_speech_regions():
    rate = 16000
    silence = np.zeros(rate * 7, dtype=np.float32)
    audio = np.concatenate([silence, tone(1.0, rate), silence, tone(1.0, rate), silence[:rate]])
    regions = speech_regions(audio, rate)
    assert len(regions) == 2
    assert abs(regions[0][0] / rate - 6.5) < 0.05 and abs(regions[1][1] / rate - 16.5) < 0.05
    trimmed = trim_silence(np.concatenate([silence[:rate], tone(1.0, rate), silence[:rate]]), rate)
    assert 1.0 <= len(trimmed) / rate <= 1.15
