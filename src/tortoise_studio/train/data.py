"""Training data in memory: the list files (train.txt / validation.txt) and batches (text is tokenised by
the configured tokenizer of the text package).

A list line is `audio/<file>.wav|<text>`, the path relative to the dataset folder. A line that cannot
be used is returned as a `Skipped` with its reason, so the trainer reports it once and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

# Two ~2 s conditioning crops: 44000 samples at hop 256 is 172 mel frames (DLAS's conditioning_length).
CROP_FRAMES = 172
SAMPLES_PER_CODE = 1024  # one DVAE code per 4 mel frames of hop 256


@dataclass(frozen=True)
class ListEntry:
    """One usable-looking line: where it came from, the clip, the transcript."""

    where: str  # "train.txt:12"
    audio: Path
    text: str


@dataclass(frozen=True)
class Skipped:
    """A line or clip left out, and why (reported once as a "skipped" event)."""

    where: str
    reason: str


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


def read_list(path: Path, dataset_dir: Path) -> tuple[list[ListEntry], list[Skipped]]:
    """Parse a list file; blank lines are ignored, broken ones come back as Skipped."""
    entries, skipped = [], []
    root = dataset_dir.resolve()
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        where = f"{path.name}:{number}"
        if not line.strip():
            continue
        audio, sep, text = line.partition("|")
        text = text.strip()
        if not sep:
            skipped.append(Skipped(where, "no '|' between the audio path and the text"))
        elif not audio.strip():
            skipped.append(Skipped(where, "empty audio path"))
        elif not text:
            skipped.append(Skipped(where, f"{audio.strip()}: empty text"))
        elif not (root / audio.strip()).resolve().is_relative_to(root):
            skipped.append(Skipped(where, f"{audio.strip()}: path leads outside the dataset folder"))
        else:
            entries.append(ListEntry(where, root / audio.strip(), text))
    return entries, skipped


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
