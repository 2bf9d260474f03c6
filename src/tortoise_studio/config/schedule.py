"""Counting the schedule's steps: steps per epoch, total steps, the multistep milestones in steps. The
learning-rate curve over those steps is train/optim.py's `lr_multiplier`, which the trainer steps with
and the Configure tab plots.

Counting (the same everywhere):
- `batch_size` is the global batch per optimizer step; an epoch is `n_train_clips // batch_size`
  optimizer steps (the incomplete last batch is dropped, so every step sees a full batch).
- The schedule spans `total_steps = steps_per_epoch * epochs`. `max_steps` only stops a run early;
  it never stretches or squeezes the schedule.
- Step index `i` is the number of optimizer steps already taken: the lr used by the (i+1)-th
  `optimizer.step()` is `learning_rate * lr_multiplier(cfg, steps_per_epoch)(i)` (train/optim.py). That
  is exactly how `torch.optim.lr_scheduler.LambdaLR` counts when `scheduler.step()` follows every `optimizer.step()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
