"""The optimizer as DLAS used it (AdamW, weight decay on weights only, not biases, norms, embeddings), its
learning-rate schedule (the curve the Configure tab plots is the one the trainer steps with), and the
configuration's settings laid over a restored optimizer.

torch is imported where it is used: the Configure tab plots the curve without loading torch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from ..config.schedule import milestone_steps
from ..config.schema import TrainingConfig

if TYPE_CHECKING:
    import torch
    from torch import nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    from torch import nn
    no_decay_modules = (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.Embedding)
    decay, no_decay = [], []
    seen = set()
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            if isinstance(module, no_decay_modules) or name.endswith("bias"):
                no_decay.append(param)
            else:
                decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, cfg: TrainingConfig):
    import torch
    settings = cfg.optimizer
    groups = param_groups(model, settings.weight_decay)
    if settings.type == "adamw8bit":
        import bitsandbytes as bnb  # validate_config has checked it is installed
        return bnb.optim.AdamW8bit(groups, lr=cfg.learning_rate, betas=tuple(settings.betas))
    # The fused kernel updates every tensor in one pass: the same AdamW, several times faster on CPU
    # (where the default is one small op per tensor), and deterministic, so exact resume still holds.
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=tuple(settings.betas), fused=_can_fuse(model))


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainingConfig, steps_per_epoch: int):
    """A LambdaLR over `lr_multiplier`; call `scheduler.step()` once after every optimizer step.

    The optimizer's param groups should start at cfg.learning_rate (cosine's eta_min is absolute).
    Its state_dict is what a resume restores (last_epoch = steps taken).
    """
    import torch
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_multiplier(cfg, steps_per_epoch))


def apply_settings(optimizer: torch.optim.Optimizer, scheduler, cfg: TrainingConfig) -> None:
    """The configuration's lr, betas and weight decay over restored ones (they differ only after a
    --force resume with changed settings; otherwise this recomputes the very same values)."""
    scheduler.base_lrs = [cfg.learning_rate for _ in optimizer.param_groups]
    multipliers = [f(scheduler.last_epoch) for f in scheduler.lr_lambdas]
    for group, decay, multiplier in zip(optimizer.param_groups, (cfg.optimizer.weight_decay, 0.0), multipliers):
        group["initial_lr"] = cfg.learning_rate
        group["lr"] = cfg.learning_rate * multiplier
        group["betas"] = tuple(cfg.optimizer.betas)
        group["weight_decay"] = decay
    scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]


def _can_fuse(model: nn.Module) -> bool:
    return all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in model.parameters())


# ---------------------------------------------------------------- the learning-rate curve

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
