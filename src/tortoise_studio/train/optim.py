"""The optimizer as DLAS used it: AdamW, weight decay on weights only (not biases, norms, embeddings)."""

from __future__ import annotations

import torch
from torch import nn

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


def build_optimizer(model: nn.Module, *, kind: str, learning_rate: float, betas, weight_decay: float):
    groups = param_groups(model, weight_decay)
    if kind == "adamw8bit":
        import bitsandbytes as bnb  # validate_config has checked it is installed
        return bnb.optim.AdamW8bit(groups, lr=learning_rate, betas=tuple(betas))
    # The fused kernel updates every tensor in one pass: the same AdamW, several times faster on CPU
    # (where the default is one small op per tensor), and deterministic, so exact resume still holds.
    return torch.optim.AdamW(groups, lr=learning_rate, betas=tuple(betas), fused=_can_fuse(model))


def _can_fuse(model: nn.Module) -> bool:
    return all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in model.parameters())
