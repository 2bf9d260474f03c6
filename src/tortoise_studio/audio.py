"""Audio in and out: decode any format to float32 mono, resample, trim, write PCM16 wav.

TorToiSe works on 22050 Hz mono float audio in [-1, 1]; Whisper wants 16000 Hz. Everything that
reads a user's recording goes through `load_audio`, so every format, sample rate, channel count and
bit depth is handled in one place, and an unreadable file always becomes a `UserError` naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile

from .errors import UserError
from .fileio import atomic_path

SAMPLE_RATE = 22050
WHISPER_SAMPLE_RATE = 16000
MIN_CLIP_SECONDS = 0.6
MAX_CLIP_SAMPLES = 255995  # TorToiSe's longest training clip, about 11.6 s at 22050 Hz
MAX_CLIP_SECONDS = MAX_CLIP_SAMPLES / SAMPLE_RATE
MAX_TEXT_CHARS = 200

# Formats libsndfile decodes itself; anything else (m4a/aac, opus, video) goes through PyAV.
_SOUNDFILE_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".au", ".w64"}
AUDIO_SUFFIXES = _SOUNDFILE_SUFFIXES | {".m4a", ".aac", ".opus", ".webm", ".mp4", ".mkv", ".mov", ".wma", ".oga"}


def load_audio(path: str | os.PathLike, sample_rate: int | None = SAMPLE_RATE) -> np.ndarray:
    """Decode `path` to float32 mono in [-1, 1], resampled to `sample_rate` (None keeps the file's rate).

    Raises UserError naming the file when it is missing, empty or cannot be decoded as audio.
    """
    samples, rate = load_audio_with_rate(path)
    if sample_rate is not None and rate != sample_rate:
        samples = resample(samples, rate, sample_rate)
    return samples


def load_audio_with_rate(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode `path` to float32 mono at its own sample rate; returns (samples, rate)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: empty file (0 bytes)")
    try:
        channels, rate = _decode_soundfile(path)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as sf_error:
        try:
            channels, rate = _decode_pyav(path)
        except Exception as av_error:  # PyAV raises many error types; any of them means "not audio"
            raise UserError(f"{path}: not decodable as audio ({_first_line(sf_error)}; {_first_line(av_error)})") from av_error
    if channels.size == 0:
        raise UserError(f"{path}: contains no audio samples")
    mono = channels.mean(axis=0, dtype=np.float32) if channels.shape[0] > 1 else channels[0].astype(np.float32)
    if not np.all(np.isfinite(mono)):
        raise UserError(f"{path}: contains NaN or infinite samples")
    return np.clip(mono, -1.0, 1.0), int(rate)


def _decode_soundfile(path: Path) -> tuple[np.ndarray, int]:
    # soundfile scales every integer depth (8 to 32 bit) to float in [-1, 1).
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return data.T, rate


def _decode_pyav(path: Path) -> tuple[np.ndarray, int]:
    import av  # installed with faster-whisper; decodes without the ffmpeg program

    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        # Planar float keeps channels apart, so stereo is averaged here exactly as for soundfile input.
        resampler = av.AudioResampler(format="fltp")
        chunks = []
        rate = None
        for frame in container.decode(stream):
            for converted in resampler.resample(frame):
                rate = converted.sample_rate
                chunks.append(converted.to_ndarray())
        for converted in resampler.resample(None):  # flush
            chunks.append(converted.to_ndarray())
    if not chunks or rate is None:
        raise ValueError("no decodable audio frames")
    return np.concatenate(chunks, axis=1).astype(np.float32), int(rate)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality)."""
    if rate_in == rate_out:
        return samples.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(samples.astype(np.float32, copy=False), rate_in, rate_out, quality="HQ").astype(np.float32)


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono PCM16; via a temporary name in the same folder so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    with atomic_path(path) as tmp:
        soundfile.write(tmp, data, sample_rate, subtype="PCM_16", format="WAV")
    return path


def duration_seconds(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    return len(samples) / float(sample_rate)


def peak_dbfs(samples: np.ndarray) -> float:
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")


def frame_energy_db(samples: np.ndarray, sample_rate: int = SAMPLE_RATE, *, frame_seconds: float = 0.02) -> np.ndarray:
    """RMS level in dBFS of consecutive frames (the last partial frame is dropped)."""
    frame = max(1, int(sample_rate * frame_seconds))
    count = len(samples) // frame
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    frames = samples[: count * frame].reshape(count, frame).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return (20.0 * np.log10(np.maximum(rms, 1e-10))).astype(np.float32)


def trim_silence(samples: np.ndarray, sample_rate: int = SAMPLE_RATE, *, threshold_db: float = -40.0,
                 keep_seconds: float = 0.05) -> np.ndarray:
    """Cut leading and trailing stretches quieter than `threshold_db` below the clip's loudest frame.

    A little (`keep_seconds`) of the quiet edge is kept so word onsets and decays are not clipped.
    """
    frame_seconds = 0.02
    levels = frame_energy_db(samples, sample_rate, frame_seconds=frame_seconds)
    if levels.size == 0:
        return samples
    loud = np.flatnonzero(levels > levels.max() + threshold_db)
    if loud.size == 0:
        return samples
    frame = int(sample_rate * frame_seconds)
    keep = int(sample_rate * keep_seconds)
    start = max(0, loud[0] * frame - keep)
    end = min(len(samples), (loud[-1] + 1) * frame + keep)
    return samples[start:end]


def speech_regions(samples: np.ndarray, sample_rate: int, *, min_gap_seconds: float = 5.0,
                   pad_seconds: float = 0.5, relative_db: float = -45.0,
                   floor_db: float = -60.0) -> list[tuple[int, int]]:
    """Sample ranges that hold sound, split only at silences longer than `min_gap_seconds`.

    Whisper spends the same time on silence as on speech, so a recording with long pauses (a one-hour
    file that is mostly quiet) is transcribed region by region and the silence is never decoded.
    A frame is silent when it is quieter than both `floor_db` dBFS and `relative_db` below the loudest frame.
    """
    frame_seconds = 0.02
    levels = frame_energy_db(samples, sample_rate, frame_seconds=frame_seconds)
    if levels.size == 0:
        return []
    threshold = max(floor_db, float(levels.max()) + relative_db)
    loud = np.flatnonzero(levels > threshold)
    if loud.size == 0:
        return []
    frame = int(sample_rate * frame_seconds)
    gap_frames = int(min_gap_seconds / frame_seconds)
    breaks = np.flatnonzero(np.diff(loud) > gap_frames)
    starts = np.concatenate([[loud[0]], loud[breaks + 1]])
    ends = np.concatenate([loud[breaks], [loud[-1]]]) + 1
    pad = int(pad_seconds * sample_rate)
    return [(max(0, int(s) * frame - pad), min(len(samples), int(e) * frame + pad)) for s, e in zip(starts, ends)]
