"""The samples a checkpoint is judged by: the same sentences, voice and seeds for every checkpoint.

Each sentence is spoken on its own by the Synthesizer that Generate uses, from seed + n for sentence n,
so two checkpoints differ only in their weights. The voice is the dataset's own clips.
"""

from __future__ import annotations

from pathlib import Path

from ..config import TrainingConfig
from ..generate.latents import DATASET_PREFIX, VoiceClips, voice_clips
from ..generate.synthesizer import GenerationSettings, Speech, Synthesizer
from ..workspace import Workspace

DEFAULT_SENTENCES = 4
CODES_PER_SECOND = 20  # the autoregressive model's speech codes (one per 1024 samples at 22050 Hz)
CHARACTERS_PER_SECOND = 14  # ordinary speech; a sample may take twice as long before it is cut
MIN_SECONDS = 3.0


def evaluation_sentences(workspace: Workspace, cfg: TrainingConfig) -> list[str]:
    """evaluation.sentences, else the first texts of validation.txt (texts the model never trains on),
    else of train.txt."""
    if cfg.evaluation.sentences:
        return [s.strip() for s in cfg.evaluation.sentences]
    folder = workspace.dataset_dir(cfg.dataset)
    for name in ("validation.txt", "train.txt"):
        texts = _texts(folder / name)
        if texts:
            return texts[:DEFAULT_SENTENCES]
    return []


def _texts(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [text.strip() for _, sep, text in (line.partition("|") for line in lines) if sep and text.strip()]


def evaluation_voice(workspace: Workspace, cfg: TrainingConfig) -> VoiceClips:
    """The clips that condition the samples and that similarity compares with: the dataset's own."""
    return voice_clips(workspace, f"{DATASET_PREFIX}{cfg.dataset}")


def sample_settings(cfg: TrainingConfig, text: str, index: int) -> GenerationSettings:
    """The evaluation preset with sentence `index`'s fixed seed, cut at twice the sentence's expected
    length: a checkpoint that babbles costs a few seconds, not the 25 s of the longest generation."""
    seconds = max(MIN_SECONDS, 2 * len(text) / CHARACTERS_PER_SECOND)
    return GenerationSettings.from_preset(cfg.evaluation.preset, seed=cfg.evaluation.seed + index,
                                          max_mel_tokens=min(500, int(seconds * CODES_PER_SECOND)))


class Sampler:
    """Speaks the evaluation sentences with given autoregressive weights."""

    def __init__(self, workspace: Workspace, cfg: TrainingConfig, models_dir: Path, *, device: str):
        self.workspace, self.cfg, self.models_dir = workspace, cfg, models_dir
        self.synth = Synthesizer(workspace, device=device)
        self.voice = evaluation_voice(workspace, cfg)

    def speak(self, text: str, index: int, weights: Path) -> Speech:
        return self.synth.generate(text=text, voice=self.voice.voice, models_dir=self.models_dir,
                                   autoregressive=weights, settings=sample_settings(self.cfg, text, index))
