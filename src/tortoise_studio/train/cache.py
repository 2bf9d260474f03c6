"""Per-clip features computed once: the DVAE codes and the normalised mel (for conditioning crops).

A clip of n samples gets n // 1024 + 1 codes, computed from the clip followed by silence. TorToiSe's
UnifiedVoice keeps position n // 1024 as a target ("predict a token past the actual last token"), and
DLAS made its codes from clips zero-padded to 255995 samples, so that last code is a code of the clip's
tail and silence, never a pad value. TAIL_SILENCE is wider than the DVAE's reach to the right (27 mel
frames of hop 256 plus half an FFT window), so the codes equal those of the fully padded clip.

Entries live in training/<dataset>/cache/<version>-<dvae hash>/<clip hash>.pt, so a changed clip or a
different DVAE file simply has no entry yet. An entry is written to a temporary file and renamed (a
kill never leaves half of one); an entry that does not load or does not match its key is recomputed,
never trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..fileio import atomic_torch_save
from ..hashes import file_sha256

# Bump when what an entry holds or how it is computed changes: old entries are then ignored.
CACHE_VERSION = "v2"  # v2: n // 1024 + 1 codes from the clip followed by silence
SAMPLE_RATE = 22050
SAMPLES_PER_CODE = 1024  # one DVAE code per 4 mel frames of hop 256
TAIL_SILENCE = 16 * SAMPLES_PER_CODE


def code_count(n_samples: int) -> int:
    """Codes a clip of `n_samples` trains on: TorToiSe's targets run to position n // 1024 inclusive."""
    return n_samples // SAMPLES_PER_CODE + 1


@dataclass(frozen=True)
class ClipFeatures:
    codes: torch.Tensor  # int64 [code_count(n_samples)]
    mel: torch.Tensor    # float32 [80, frames]
    n_samples: int


class FeatureEncoder:
    """Audio -> (normalised mel, DVAE codes) with the frozen DVAE, on `device`."""

    def __init__(self, dvae: torch.nn.Module, device: torch.device):
        self.device = device
        self.dvae = dvae.to(device).eval()

    @classmethod
    def from_models(cls, models_dir: Path, device: torch.device) -> "FeatureEncoder":
        from ..models import load_dvae
        return cls(load_dvae(models_dir), device)

    @torch.no_grad()
    def __call__(self, wav: torch.Tensor) -> ClipFeatures:
        from ..models import normalized_mel
        wav = wav.to(self.device)
        mel = normalized_mel(wav[None])  # of the clip alone: conditioning crops come from it
        padded = torch.nn.functional.pad(wav, (0, TAIL_SILENCE))
        codes = self.dvae.codes(normalized_mel(padded[None]))[0, :code_count(wav.shape[0])]
        return ClipFeatures(codes=codes.long().cpu(), mel=mel[0].float().cpu(), n_samples=int(wav.shape[0]))


class FeatureCache:
    """Load-or-compute of ClipFeatures, keyed by the clip's and the DVAE file's content hashes."""

    def __init__(self, folder: Path, dvae_file: Path):
        if not dvae_file.is_file():
            from ..errors import UserError
            from ..models.files import HOW_TO_GET
            raise UserError(f"{dvae_file}: DVAE file not found (training needs it to compute speech codes); {HOW_TO_GET}")
        self.dvae_sha = file_sha256(dvae_file)
        self.folder = Path(folder) / f"{CACHE_VERSION}-{self.dvae_sha[:16]}"
        self.computed = 0  # entries (re)computed by this object, for the log and the tests

    def entry_path(self, clip_sha: str) -> Path:
        return self.folder / f"{clip_sha[:32]}.pt"

    def get(self, clip: Path, encoder_factory) -> ClipFeatures:
        """The clip's features from the cache, else computed (by `encoder_factory()`'s encoder) and stored.

        Raises UserError (from load_audio) when the clip is missing or unreadable.
        """
        from ..audio import load_audio
        from ..errors import UserError
        if not clip.is_file():
            raise UserError(f"{clip}: no such audio file")
        clip_sha = file_sha256(clip)
        path = self.entry_path(clip_sha)
        cached = self._load(path, clip_sha)
        if cached is not None:
            return cached
        wav = torch.from_numpy(load_audio(clip, SAMPLE_RATE))
        features = encoder_factory()(wav)
        self._store(path, clip_sha, features)
        self.computed += 1
        return features

    def _load(self, path: Path, clip_sha: str) -> ClipFeatures | None:
        if not path.is_file():
            return None
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
            codes, mel, n = entry["codes"], entry["mel"], int(entry["n_samples"])
            valid = (entry["clip_sha"] == clip_sha and entry["dvae_sha"] == self.dvae_sha
                     and codes.dim() == 1 and mel.dim() == 2 and mel.shape[0] == 80
                     and mel.shape[1] == n // 256 + 1 and codes.numel() == code_count(n)
                     and bool(torch.isfinite(mel).all()))
        except Exception:  # any unreadable or foreign file is just a miss: recompute it
            return None
        return ClipFeatures(codes=codes.long(), mel=mel.float(), n_samples=n) if valid else None

    def _store(self, path: Path, clip_sha: str, features: ClipFeatures) -> None:
        atomic_torch_save({"codes": features.codes.to(torch.int16),  # codes < 8192: half the size of int64
                           "mel": features.mel, "n_samples": features.n_samples,
                           "clip_sha": clip_sha, "dvae_sha": self.dvae_sha}, path)
