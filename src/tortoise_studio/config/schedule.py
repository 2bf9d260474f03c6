"""The learning-rate schedule: one function the trainer steps with (train/optim.py wraps it in torch's
LambdaLR) and the Configure tab plots.

Counting (the same everywhere):
- `batch_size` is the global batch per optimizer step; an epoch is `n_train_clips // batch_size`
  optimizer steps (the incomplete last batch is dropped, so every step sees a full batch).
- The schedule spans `total_steps = steps_per_epoch * epochs`. `max_steps` only stops a run early;
  it never stretches or squeezes the schedule.
- Step index `i` is the number of optimizer steps already taken: the lr used by the (i+1)-th
  `optimizer.step()` is `learning_rate * lr_multiplier(cfg, steps_per_epoch)(i)`. That is exactly how
  `torch.optim.lr_scheduler.LambdaLR` counts when `scheduler.step()` follows every `optimizer.step()`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .schema import TrainingConfig

# Default multistep milestones, as fractions of the epochs: decay late, after most of the run,
# unlike the predecessor's fixed [2, 4, 9, ...] epochs that reached 1/8 of the lr by epoch 10.
DEFAULT_MILESTONE_FRACTIONS = (0.5, 0.75, 0.9)


def steps_per_epoch(n_train_clips: int, batch_size: int) -> int:
    """Optimizer steps in one epoch: full global batches only (the remainder is dropped)."""
    if batch_size <= 0:
        return 0
    return max(0, n_train_clips) // batch_size


def total_steps(cfg: "TrainingConfig", n_train_clips: int) -> int:
    """Optimizer steps the schedule spans: steps_per_epoch x epochs (max_steps is not part of it)."""
    return steps_per_epoch(n_train_clips, cfg.batch_size) * max(0, cfg.epochs)


def milestone_epochs(cfg: "TrainingConfig") -> list[float]:
    """The multistep milestones in epochs; `None` in the config means 50%, 75% and 90% of the epochs."""
    if cfg.scheduler.milestones is None:
        return [round(f * cfg.epochs, 2) for f in DEFAULT_MILESTONE_FRACTIONS]
    return [float(m) for m in cfg.scheduler.milestones]


def milestone_steps(cfg: "TrainingConfig", steps_per_epoch: int) -> list[int]:
    """Milestones converted to optimizer steps with round(epochs x steps_per_epoch)."""
    return [round(m * steps_per_epoch) for m in milestone_epochs(cfg)]


def lr_multiplier(cfg: "TrainingConfig", steps_per_epoch: int) -> Callable[[int], float]:
    """Multiplier of `learning_rate` for step index i (steps already taken).

    - warmup: linear, (i + 1) / warmup_steps for the first warmup_steps steps, multiplied onto the
      schedule below (the schedule itself still counts from step 0).
    - multistep: gamma ** (number of milestone steps <= i).
    - cosine: `restarts` equal cycles over total_steps (DLAS's CosineAnnealingLR_Restart with equal
      periods and restart weights 1): each cycle anneals from learning_rate down to eta_min along
      half a cosine, then jumps back to learning_rate.
    - constant: 1.
    """
    kind = cfg.scheduler.type
    warmup = max(0, cfg.warmup_steps)
    if kind == "multistep":
        base = _multistep(milestone_steps(cfg, steps_per_epoch), cfg.scheduler.gamma)
    elif kind == "cosine":
        period = max(1, steps_per_epoch * cfg.epochs) / max(1, cfg.scheduler.restarts)
        floor = cfg.scheduler.eta_min / cfg.learning_rate if cfg.learning_rate > 0 else 0.0
        base = _cosine(period, floor)
    elif kind == "constant":
        base = _constant
    else:
        raise ValueError(f"scheduler.type: unknown schedule {kind!r}")

    def multiplier(i: int) -> float:
        value = base(i)
        if i < warmup:
            value *= (i + 1) / warmup
        return value

    return multiplier


def _multistep(milestones: list[int], gamma: float) -> Callable[[int], float]:
    return lambda i: gamma ** sum(1 for m in milestones if m <= i)


def _cosine(period: float, floor: float) -> Callable[[int], float]:
    def value(i: int) -> float:
        t = math.fmod(i, period)
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t / period))
    return value


def _constant(i: int) -> float:
    return 1.0


def learning_rates(cfg: "TrainingConfig", steps_per_epoch: int, n_steps: int) -> list[float]:
    """The lr in effect at optimizer steps 0..n_steps-1 (for the plot)."""
    multiplier = lr_multiplier(cfg, steps_per_epoch)
    return [cfg.learning_rate * multiplier(i) for i in range(max(0, n_steps))]
