"""Training data in memory: tokenised text (by the configured tokenizer of the text package),
conditioning crops and batches.

The list files (train.txt / validation.txt) are read by dataset/lists.py's `read_list`, which returns
each unusable line as a `Skipped` with its reason, so the trainer reports it once and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..models.mel import CROP_FRAMES

# DLAS's text limit in tokens (its clip limit is audio.MAX_CLIP_SAMPLES, which prepare's slicing also
# keeps): longer lines are skipped with their reason.
MAX_TEXT_TOKENS = 200


@dataclass(frozen=True)
class Sample:
    """A clip ready to train on: text tokens, DVAE codes, its normalised mel and true length."""

    where: str
    tokens: torch.Tensor  # int64 [T], without start/stop tokens (UnifiedVoice adds them)
    codes: torch.Tensor   # int64 [n_samples // 1024 + 1]: every one is a target
    mel: torch.Tensor     # float32 [80, frames], for conditioning crops
    n_samples: int


@dataclass
class Batch:
    """A micro-batch padded to the widths of its whole optimizer step (see `step_widths`)."""

    cond_mels: torch.Tensor    # [B, 2, 80, CROP_FRAMES]
    text: torch.Tensor         # [B, T] padded with 0 (the stop token)
    text_lengths: torch.Tensor
    codes: torch.Tensor        # [B, C] padded; UnifiedVoice turns codes past each clip's n // 1024 + 1 into stop
    wav_lengths: torch.Tensor

    def __len__(self) -> int:
        return self.text.shape[0]

    def to(self, device: torch.device) -> "Batch":
        return Batch(*(t.to(device, non_blocking=True) for t in
                       (self.cond_mels, self.text, self.text_lengths, self.codes, self.wav_lengths)))


def _pad_stack(rows: Sequence[torch.Tensor], value: int, width: int) -> torch.Tensor:
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


def step_widths(samples: Sequence[Sample]) -> tuple[int, int]:
    """(text width, code width) of an optimizer step: its longest text and its longest clip's codes.

    Every micro-batch of the step is padded to these widths, so a clip gets the same inputs, the same
    targets and the same number of scored positions whichever micro-batch (or process) computes it:
    the step's loss is then the same for any gradient_accumulation and any number of processes.
    """
    return max(len(s.tokens) for s in samples), max(s.codes.numel() for s in samples)


def collate(samples: Sequence[Sample], crops: Sequence[tuple[int, int]], silence: torch.Tensor,
            widths: tuple[int, int]) -> Batch:
    """Stack samples into a batch padded to `widths` (text, codes); codes past a clip's own are never
    targets: UnifiedVoice replaces them with the stop token from the clip's wav length."""
    text_width, code_width = widths
    return Batch(
        cond_mels=torch.stack([conditioning(s.mel, c, silence) for s, c in zip(samples, crops)]),
        text=_pad_stack([s.tokens for s in samples], 0, text_width),
        text_lengths=torch.tensor([len(s.tokens) for s in samples], dtype=torch.long),
        codes=_pad_stack([s.codes for s in samples], 0, code_width),
        wav_lengths=torch.tensor([s.n_samples for s in samples], dtype=torch.long),
    )
