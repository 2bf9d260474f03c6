"""TorToiSe's models: sizes, loading (strict), the DVAE, the mel, the tiny set, and the file check."""

from .check import ModelStatus, check_models
from .dvae import DiscreteVAE
from .files import MODEL_FILES, PUBLISHED_SIZES, ModelFileError, model_sizes
from .loader import (build_autoregressive, load_autoregressive, load_clvp, load_diffusion, load_dvae,
                     load_vocoder)
from .mel import normalized_mel
from .tiny import TINY_SIZES, make_tiny_models

__all__ = [
    "MODEL_FILES", "PUBLISHED_SIZES", "TINY_SIZES", "DiscreteVAE", "ModelFileError", "ModelStatus",
    "build_autoregressive", "check_models", "load_autoregressive", "load_clvp", "load_diffusion", "load_dvae",
    "load_vocoder", "make_tiny_models", "model_sizes", "normalized_mel",
]
