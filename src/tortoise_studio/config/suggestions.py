"""Suggested settings for a dataset, offered to the user and applied only when accepted."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..overrides import set_dotted
from .schema import TrainingConfig, config_from_dict, config_to_dict


@dataclass(frozen=True)
class Suggestion:
    field: str
    value: Any
    reason: str


# Largest micro-batch that fits comfortably: TorToiSe's 421 M-parameter model takes ~18-21 GB at
# batch 4 on CPU (measured), and a 24 GB GPU holds about 16 short clips in fp32.
_MICRO_BATCH = {"cuda": 16, "cpu": 2}
_GLOBAL_BATCH = {"cuda": 128, "cpu": 16}  # the predecessor's 128 on GPU; CPU steps are slow
_TARGET_STEPS = {"cuda": 1000, "cpu": 200}


def suggest_settings(n_clips: int, total_minutes: float, device: str) -> list[Suggestion]:
    """Batch size, gradient accumulation, epochs, save and validation frequency for a dataset."""
    kind = "cpu" if device == "cpu" else "cuda"
    n = max(1, n_clips)
    cap = _GLOBAL_BATCH[kind]
    batch = 2 ** int(math.log2(min(cap, n)))  # a power of two splits evenly into micro-batches
    accumulation = max(1, batch // _MICRO_BATCH[kind])
    per_epoch = max(1, n // batch)
    epochs = min(500, max(5, math.ceil(_TARGET_STEPS[kind] / per_epoch)))
    save_every = max(1, epochs // 5)
    validate_every = max(1, epochs // 10)
    where = "a GPU" if kind == "cuda" else "the CPU"
    return [
        Suggestion("batch_size", batch,
                   f"{n_clips} clips ({total_minutes:.1f} min): the largest power of two up to the clip count and "
                   f"{cap} on {where}, giving {per_epoch} full step(s) per epoch"),
        Suggestion("gradient_accumulation", accumulation,
                   f"splits each batch of {batch} into micro-batches of {batch // accumulation} "
                   f"(about {_MICRO_BATCH[kind]} fit in memory on {where})"),
        Suggestion("epochs", epochs,
                   f"{epochs * per_epoch} optimizer steps in total ({per_epoch} per epoch), aiming at about "
                   f"{_TARGET_STEPS[kind]} on {where}: enough to adapt TorToiSe without memorising a small dataset "
                   "(kept within 5 to 500 epochs)"),
        Suggestion("save_every_epochs", save_every, f"about 5 checkpoints over {epochs} epochs"),
        Suggestion("validation.every_epochs", validate_every,
                   f"about 10 validation points over {epochs} epochs, enough to see overfitting early"),
    ]


def apply_suggestions(cfg: TrainingConfig, values: dict[str, Any]) -> TrainingConfig:
    """`cfg` with dotted keys set from `values` (what the user accepted), type-checked like YAML."""
    data = config_to_dict(cfg)
    for key, value in values.items():
        set_dotted(data, key, value)
    return config_from_dict(data)
