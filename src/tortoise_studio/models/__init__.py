"""TorToiSe's models: sizes, loading (strict), the DVAE, the mel, the tiny set, and the file check.

Names load from their submodule on first use (PEP 562), so importing `models.files` (no torch) from the
UI does not pull in torch at start-up.
"""

from __future__ import annotations

import importlib

_SOURCES = {
    "ModelStatus": "check", "check_models": "check",
    "attention_of": "attention", "set_attention": "attention",
    "DiscreteVAE": "dvae",
    "MODEL_FILES": "files", "PUBLISHED_SIZES": "files", "ModelFileError": "files", "model_sizes": "files",
    "build_autoregressive": "loader", "fuse_gelu": "loader", "load_autoregressive": "loader", "load_clvp": "loader",
    "load_diffusion": "loader", "load_dvae": "loader", "load_vocoder": "loader",
    "normalized_mel": "mel",
    "TINY_SIZES": "tiny", "make_tiny_models": "tiny",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str):
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)
    globals()[name] = value  # next time without this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))
