"""The optimizer as DLAS used it (AdamW, weight decay on weights only, not biases, norms, embeddings), its
learning-rate schedule, and the configuration's settings laid over a restored optimizer."""

from __future__ import annotations

import torch
from torch import nn

from ..config.schedule import lr_multiplier
from ..config.schema import TrainingConfig

_NO_DECAY_MODULES = (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.Embedding)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    seen = set()
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            if isinstance(module, _NO_DECAY_MODULES) or name.endswith("bias"):
                no_decay.append(param)
            else:
                decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, cfg: TrainingConfig):
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
