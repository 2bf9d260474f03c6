"""Which device a piece of work runs on: the one place "auto", "cuda" and "cpu" are turned into a device."""

from __future__ import annotations

from .errors import UserError

DEVICES = ("auto", "cuda", "cpu")


def resolve_device(wanted: str = "auto") -> str:
    """"cuda" or "cpu": auto picks CUDA when PyTorch sees a GPU; asking for CUDA without one is an error."""
    if wanted not in DEVICES:
        raise UserError(f"device: {wanted!r} is not one of {', '.join(DEVICES)}")
    if wanted == "cpu":
        return "cpu"
    import torch  # only here: knowing whether CUDA exists needs it
    if torch.cuda.is_available():
        return "cuda"
    if wanted == "cuda":
        raise UserError("device: 'cuda' was chosen, but PyTorch sees no CUDA device here; use cpu or auto")
    return "cpu"


def torch_device(wanted: str = "auto"):
    """resolve_device as a torch.device."""
    import torch
    return torch.device(resolve_device(wanted))
