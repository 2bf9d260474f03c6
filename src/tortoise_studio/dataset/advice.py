"""How much speech a dataset holds against what a voice fine-tune needs (docs/prepare.md, "How much speech").

The thresholds are guidance, not a law: see the docs for where they come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FAR_TOO_LITTLE_MINUTES = 1.0  # below: a fine-tune learns nothing a few reference clips would not give
ENOUGH_MINUTES = 10.0  # from here a fine-tune is worth trying
GOOD_MINUTES = 30.0  # from here the voice is steady
DOCS = 'docs/prepare.md, "How much speech"'


@dataclass(frozen=True)
class SpeechAdvice:
    level: str  # "far too little", "little", "enough" or "good"
    minutes: float
    clips: int
    message: str  # Markdown, one paragraph

    @property
    def warning(self) -> bool:
        return self.level == "far too little"


def speech_advice(seconds: float, clips: int) -> SpeechAdvice:
    minutes = seconds / 60.0
    amount = f"{minutes:.1f} minutes of speech in {clips} clips"
    if minutes < FAR_TOO_LITTLE_MINUTES:
        return SpeechAdvice("far too little", minutes, clips, (
            f"⚠️ **Far too little speech to fine-tune: {amount}.** A voice fine-tune needs at least "
            f"{ENOUGH_MINUTES:.0f} minutes, better {GOOD_MINUTES:.0f} or more; with under "
            f"{FAR_TOO_LITTLE_MINUTES:.0f} minute it only memorises these clips. Add recordings, or use them as "
            f"reference clips in Generate without training. ({DOCS})"))
    if minutes < ENOUGH_MINUTES:
        return SpeechAdvice("little", minutes, clips, (
            f"**Little speech: {amount}.** A voice fine-tune needs at least {ENOUGH_MINUTES:.0f} minutes, better "
            f"{GOOD_MINUTES:.0f} or more. It will overfit quickly: keep the epochs low and watch the validation "
            f"loss. ({DOCS})"))
    if minutes < GOOD_MINUTES:
        return SpeechAdvice("enough", minutes, clips, (
            f"**{amount[0].upper()}{amount[1:]}**: enough to fine-tune; {GOOD_MINUTES:.0f} minutes or more give a "
            f"steadier voice. ({DOCS})"))
    return SpeechAdvice("good", minutes, clips, f"**{amount[0].upper()}{amount[1:]}**: a good amount for a voice "
                                                f"fine-tune. ({DOCS})")


def dataset_advice(dataset_dir: Path) -> SpeechAdvice:
    """The advice for a prepared dataset as it is now: the clips in train.txt and validation.txt."""
    from .proofread import load_clip_table
    rows = load_clip_table(dataset_dir)
    return speech_advice(sum(r.seconds for r in rows), len(rows))
