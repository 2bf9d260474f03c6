"""Training data in memory: tokenised text, conditioning crops and batches.

The list files (train.txt / validation.txt) are read by dataset/lists.py's `read_list`, which returns
each unusable line as a `Skipped` with its reason, so the trainer reports it once and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

# Two ~2 s conditioning crops: 44000 samples at hop 256 is 172 mel frames (DLAS's conditioning_length).
CROP_FRAMES = 172
SAMPLES_PER_CODE = 1024  # one DVAE code per 4 mel frames of hop 256


@dataclass(frozen=True)
class Sample:
    """A clip ready to train on: text tokens, DVAE codes, its normalised mel and true length."""

    where: str
    tokens: torch.Tensor  # int64 [T], without start/stop tokens (UnifiedVoice adds them)
    codes: torch.Tensor   # int64 [C]
    mel: torch.Tensor     # float32 [80, frames], for conditioning crops
    n_samples: int


@dataclass
class Batch:
    """A micro-batch cut to its longest clip and longest text."""

    cond_mels: torch.Tensor    # [B, 2, 80, CROP_FRAMES]
    text: torch.Tensor         # [B, T] padded with 0 (the stop token)
    text_lengths: torch.Tensor
    codes: torch.Tensor        # [B, C] padded; UnifiedVoice sets codes past each clip's end to stop
    wav_lengths: torch.Tensor

    def __len__(self) -> int:
        return self.text.shape[0]

    def to(self, device: torch.device) -> "Batch":
        return Batch(*(t.to(device, non_blocking=True) for t in
                       (self.cond_mels, self.text, self.text_lengths, self.codes, self.wav_lengths)))


class TextTokenizer:
    """TorToiSe's BPE tokenizer (the packaged tokenizer.json), loaded once."""

    def __init__(self):
        from tortoise.utils.tokenizer import VoiceBpeTokenizer
        self._bpe = VoiceBpeTokenizer()

    def encode(self, text: str) -> torch.Tensor:
        return torch.tensor(self._bpe.encode(text), dtype=torch.long)


def _pad_stack(rows: Sequence[torch.Tensor], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


def conditioning(mel: torch.Tensor, starts: tuple[int, int], silence: torch.Tensor) -> torch.Tensor:
    """Two crops [2, 80, CROP_FRAMES] of a clip's mel; a short clip is padded with the mel of silence
    (TorToiSe pads short reference audio with zeros before taking its mel)."""
    crops = []
    for start in starts:
        crop = mel[:, start:start + CROP_FRAMES]
        if crop.shape[1] < CROP_FRAMES:
            pad = silence[:, None].expand(-1, CROP_FRAMES - crop.shape[1])
            crop = torch.cat([crop, pad], dim=1)
        crops.append(crop)
    return torch.stack(crops)


def collate(samples: Sequence[Sample], crops: Sequence[tuple[int, int]], silence: torch.Tensor) -> Batch:
    """Stack samples into a batch padded only to its own longest text and clip."""
    return Batch(
        cond_mels=torch.stack([conditioning(s.mel, c, silence) for s, c in zip(samples, crops)]),
        text=_pad_stack([s.tokens for s in samples], 0),
        text_lengths=torch.tensor([len(s.tokens) for s in samples], dtype=torch.long),
        codes=_pad_stack([s.codes for s in samples], 0),
        wav_lengths=torch.tensor([s.n_samples for s in samples], dtype=torch.long),
    )
