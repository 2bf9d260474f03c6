"""Voice similarity: cosine similarity of speaker embeddings between a sample and the voice's own clips.

The embeddings come from Resemblyzer's pretrained voice encoder (a 3-layer LSTM trained on thousands of
speakers for speaker verification). Its weights ship inside the package's wheel, so it works offline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..dataset.audio import load_audio, resample
from ..errors import UserError

ENCODER_RATE = 16000
MIN_SAMPLES = ENCODER_RATE // 2  # under half a second of speech left after trimming: embed the whole sample


class VoiceSimilarity:
    def __init__(self, device: str = "cpu"):
        try:
            from resemblyzer import VoiceEncoder
        except ImportError as exc:
            raise UserError("voice similarity needs the resemblyzer package, which is not installed here: "
                            "pip install resemblyzer==0.1.4") from exc
        self.encoder = VoiceEncoder("cuda" if device.startswith("cuda") else "cpu", verbose=False)

    def embed(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """A unit-length embedding of one utterance (volume normalised, long silences shortened)."""
        from resemblyzer import preprocess_wav
        wav = resample(np.asarray(audio, dtype=np.float32), sample_rate, ENCODER_RATE)
        # no source_sr: the audio is at the encoder's rate already, and naming one makes Resemblyzer call
        # librosa's resample, whose import alone costs an evaluator about 2 CPU-s
        trimmed = preprocess_wav(wav) if len(wav) >= MIN_SAMPLES else wav
        return self.encoder.embed_utterance(trimmed if len(trimmed) >= MIN_SAMPLES else wav)

    def reference(self, files: list[Path] | tuple[Path, ...]) -> np.ndarray:
        """The voice's embedding: the mean of its clips' embeddings, made unit length again."""
        if not files:
            raise UserError("voice similarity: the voice has no clips to compare with")
        embeddings = [self.embed(load_audio(f, ENCODER_RATE), ENCODER_RATE) for f in files]
        mean = np.mean(embeddings, axis=0)
        return mean / np.linalg.norm(mean)

    def score(self, audio: np.ndarray, sample_rate: int, reference: np.ndarray) -> float:
        """Cosine similarity with `reference`, from -1 to 1 (same speaker: usually above 0.75)."""
        embedding = self.embed(audio, sample_rate)
        return float(np.dot(embedding, reference) / (np.linalg.norm(embedding) * np.linalg.norm(reference)))
