"""Per-clip features computed once: the DVAE codes and the normalised mel (for conditioning crops).

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
CACHE_VERSION = "v1"
SAMPLE_RATE = 22050


@dataclass(frozen=True)
class ClipFeatures:
    codes: torch.Tensor  # int64 [frames // 4]
    mel: torch.Tensor    # float32 [80, frames]
    n_samples: int


class FeatureEncoder:
    """Audio -> (normalised mel, DVAE codes) with the frozen DVAE, on `device`."""

    def __init__(self, models_dir: Path, device: torch.device):
        from ..models import load_dvae
        self.device = device
        self.dvae = load_dvae(models_dir).to(device).eval()

    @torch.no_grad()
    def __call__(self, wav: torch.Tensor) -> ClipFeatures:
        from ..models import normalized_mel
        mel = normalized_mel(wav[None].to(self.device))
        codes = self.dvae.codes(mel)[0]
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
                     and mel.shape[1] == n // 256 + 1 and codes.numel() == mel.shape[1] // 4
                     and bool(torch.isfinite(mel).all()))
        except Exception:  # any unreadable or foreign file is just a miss: recompute it
            return None
        return ClipFeatures(codes=codes.long(), mel=mel.float(), n_samples=n) if valid else None

    def _store(self, path: Path, clip_sha: str, features: ClipFeatures) -> None:
        atomic_torch_save({"codes": features.codes.to(torch.int16),  # codes < 8192: half the size of int64
                           "mel": features.mel, "n_samples": features.n_samples,
                           "clip_sha": clip_sha, "dvae_sha": self.dvae_sha}, path)
