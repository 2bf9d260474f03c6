"""Conditioning latents: what a voice sounds like to the autoregressive and diffusion models.

A voice is either a folder of recordings (voices/<voice>/) or a prepared dataset's clips
(`dataset:<name>` -> training/<name>/audio/). Latents depend on the clips and on the two models'
weights, so they are cached under that exact key: in memory, and on disk in <workspace>/.cache/latents/
so a command-line run reuses them too. Changing any clip or either model file changes the key.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from ..dataset.audio import AUDIO_SUFFIXES, SAMPLE_RATE, load_audio, load_audio_with_rate
from ..errors import UserError
from ..fileio import atomic_torch_save
from ..hashes import file_sha256
from ..workspace import Workspace, safe_name

DATASET_PREFIX = "dataset:"
MAX_CLIPS = 8  # more clips add little to an averaged latent but cost time on big datasets
AR_COND_SAMPLES = 132300  # 6 s at 22050 Hz: tortoise.api.format_conditioning's length
DIFFUSION_RATE = 24000
DIFFUSION_COND_SAMPLES = 102400  # at 24 kHz: what tortoise.api.get_conditioning_latents pads/cuts to
CACHE_VERSION = 1
KEEP_PER_VOICE = 4  # cached entries kept per voice (e.g. base and a fine-tune for A/B)


@dataclass(frozen=True)
class VoiceClips:
    voice: str  # as the user named it: "alice" or "dataset:alice"
    name: str  # the bare name, used for results/<name>/
    files: tuple[Path, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (file name, why) of clips that could not be read

    def skipped_note(self) -> str:
        """A line for the page: which reference clips were left out and why ("" when none)."""
        if not self.skipped:
            return ""
        return "Skipped unreadable reference clips: " + "; ".join(f"{name} ({why})" for name, why in self.skipped)


@dataclass(frozen=True)
class ConditioningLatents:
    autoregressive: "torch.Tensor"  # noqa: F821  [1, model_dim]
    diffusion: "torch.Tensor"  # noqa: F821  [1, 2 * model_channels]
    key: str


def voice_clips(workspace: Workspace, voice: str) -> VoiceClips:
    """The clips that condition `voice`: voices/<voice>/* or, for `dataset:<name>` (or a name that is only
    a dataset), training/<name>/audio/*.wav. At most MAX_CLIPS, spread evenly over the sorted list."""
    if not isinstance(voice, str) or not voice.strip():
        raise UserError("voice: choose a voice (a folder under voices/ or a prepared dataset)")
    if voice.startswith(DATASET_PREFIX):
        name = safe_name(voice[len(DATASET_PREFIX):], what="voice")
        folder, pattern = workspace.dataset_dir(name) / "audio", "*.wav"
    else:
        name = safe_name(voice, what="voice")
        folder = workspace.voice_dir(name)
        pattern = "*"
        if not folder.is_dir() and (workspace.dataset_dir(name) / "audio").is_dir():
            folder, pattern = workspace.dataset_dir(name) / "audio", "*.wav"
    files = sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise UserError(f"voice {voice!r}: no audio files in {folder}")
    chosen, skipped = _readable_spread(files, MAX_CLIPS)
    if not chosen:
        reasons = "; ".join(f"{n}: {why}" for n, why in skipped[:3])
        raise UserError(f"voice {voice!r}: none of its {len(files)} audio files in {folder} is readable ({reasons})")
    return VoiceClips(voice, name, tuple(chosen), tuple(skipped))


def _readable_spread(files: list[Path], count: int) -> tuple[list[Path], list[tuple[str, str]]]:
    """Up to `count` files spread over the list, leaving out (like Prepare does) any that cannot be decoded."""
    skipped: list[tuple[str, str]] = []
    while True:
        chosen = _spread(files, count)
        broken = next(((f, why) for f in chosen if (why := _unreadable(f))), None)
        if broken is None:
            return chosen, skipped
        files = [f for f in files if f != broken[0]]
        skipped.append((broken[0].name, broken[1]))


def _unreadable(path: Path) -> str:
    """Why `path` cannot be used as a reference clip, or "" when it decodes."""
    try:
        load_audio_with_rate(path)
    except UserError as exc:
        text = str(exc)
        return text.split(": ", 1)[1] if text.startswith(f"{path}: ") else text
    return ""


def voice_choices(workspace: Workspace) -> list[tuple[str, str]]:
    """(label, value) for every voice folder, then every prepared dataset (value `dataset:<name>`)."""
    return [(v, v) for v in workspace.list_voices()] + \
        [(f"{d} (dataset clips)", f"{DATASET_PREFIX}{d}") for d in workspace.list_datasets()]


def _spread(items: list, count: int) -> list:
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def latents_key(clips: VoiceClips, autoregressive_sha: str, diffusion_sha: str) -> str:
    parts = {"version": CACHE_VERSION, "autoregressive": autoregressive_sha, "diffusion": diffusion_sha,
             "clips": [[f.name, file_sha256(f)] for f in clips.files]}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def compute_latents(clips: VoiceClips, autoregressive, diffusion, device, key: str = "") -> ConditioningLatents:
    """TorToiSe's get_conditioning_latents, deterministically: each clip's first 6 s (no random crop)."""
    import torch
    import torchaudio.functional as AF
    from tortoise.api import pad_or_truncate

    from ..models import normalized_mel

    waves = [torch.from_numpy(load_audio(f, SAMPLE_RATE)).unsqueeze(0) for f in clips.files]
    with torch.no_grad():
        ar_mels = [normalized_mel(pad_or_truncate(w, AR_COND_SAMPLES)) for w in waves]
        ar_latent = autoregressive.get_conditioning(torch.stack(ar_mels, dim=1).to(device))
        diffusion_mels = []
        for w in waves:
            w24 = pad_or_truncate(AF.resample(w, SAMPLE_RATE, DIFFUSION_RATE), DIFFUSION_COND_SAMPLES)
            diffusion_mels.append(_univnet_stft(str(device)).mel_spectrogram(w24.to(device)))
        diffusion_latent = diffusion.get_conditioning(torch.stack(diffusion_mels, dim=1))
    return ConditioningLatents(ar_latent, diffusion_latent, key)


@functools.lru_cache(maxsize=4)
def _univnet_stft(device: str):
    """The mel transform of tortoise.utils.audio.wav_to_univnet_mel (same sizes, no normalisation), made once:
    building it inverts a 1026 x 1024 Fourier basis, seconds of CPU that wav_to_univnet_mel spends per clip."""
    from tortoise.utils.audio import TacotronSTFT
    return TacotronSTFT(1024, 256, 1024, 100, 24000, 0, 12000).to(device)


class LatentsCache:
    """Latents per (clips, model files); `computed` counts real computations (the rest were cache hits)."""

    def __init__(self, workspace: Workspace):
        self.folder = workspace.root / ".cache" / "latents"
        self._memory: dict[str, ConditioningLatents] = {}
        self._lock = threading.Lock()
        self.computed = 0

    def get(self, clips: VoiceClips, autoregressive, diffusion, *, autoregressive_sha: str, diffusion_sha: str,
            device) -> ConditioningLatents:
        key = latents_key(clips, autoregressive_sha, diffusion_sha)
        with self._lock:
            if key in self._memory:
                return self._memory[key]
        path = self._path(clips, key)
        latents = self._read(path, key, device)
        if latents is None:
            latents = compute_latents(clips, autoregressive, diffusion, device, key)
            self.computed += 1
            self._write(path, latents)
        with self._lock:
            self._memory[key] = latents
        return latents

    def _path(self, clips: VoiceClips, key: str) -> Path:
        kind = "dataset" if clips.voice.startswith(DATASET_PREFIX) else "voice"
        return self.folder / f"{kind}-{clips.name}" / f"{key}.pt"

    @staticmethod
    def _read(path: Path, key: str, device) -> ConditioningLatents | None:
        import torch
        if not path.is_file():
            return None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
            return ConditioningLatents(data["autoregressive"].to(device), data["diffusion"].to(device), key)
        except Exception:  # a damaged cache entry is recomputed, never fatal
            return None

    @staticmethod
    def _write(path: Path, latents: ConditioningLatents) -> None:
        atomic_torch_save({"autoregressive": latents.autoregressive.cpu(), "diffusion": latents.diffusion.cpu()}, path)
        # Derived data only: keep the few newest entries of this voice, drop the rest.
        entries = sorted(path.parent.glob("*.pt"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[KEEP_PER_VOICE:]:
            old.unlink(missing_ok=True)
