"""The mel spectrogram TorToiSe's DVAE and conditioning encoder were trained on (docs/design.md, "TorToiSe facts")."""

from __future__ import annotations

import functools

import torch

# Two ~2 s conditioning crops: 44000 samples at hop 256 is 172 mel frames (DLAS's conditioning_length).
CROP_FRAMES = 172


@functools.lru_cache(maxsize=1)
def _mel_transform():
    # TorchMelSpectrogram loads the packaged tortoise/data/mel_norms.pth: no download involved.
    from tortoise.models.arch_util import TorchMelSpectrogram
    return TorchMelSpectrogram()


def normalized_mel(wav: torch.Tensor) -> torch.Tensor:
    """wav [B, samples] float at 22050 Hz -> mel [B, 80, samples // 256 + 1], log and divided by mel_norms."""
    if wav.dim() != 2:
        raise ValueError(f"normalized_mel: expected wav of shape [batch, samples], got {tuple(wav.shape)}")
    return _mel_transform()(wav)
