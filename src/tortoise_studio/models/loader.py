"""Builds TorToiSe's models at the sizes of a models folder and loads their weights strictly.

Every failure to load becomes a ModelFileError naming the file, the first keys or shapes that do not
match, and how to get the right file.
"""

from __future__ import annotations

import contextlib
import pickle
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from .dvae import DiscreteVAE
from .files import HOW_TO_GET, MODEL_FILES, ModelFileError, model_sizes, sizes_origin

# Causal-mask buffers that transformers before 4.31 saved with GPT-2 weights (the published
# autoregressive.pth has them); today they are rebuilt at construction and are not part of the state.
_LEGACY_GPT2_BUFFERS = re.compile(r"^gpt\.h\.\d+\.attn\.(bias|masked_bias)$")
_SHOWN = 3  # how many mismatching keys a message lists


def model_path(models_dir: str | Path, kind: str) -> Path:
    return Path(models_dir) / MODEL_FILES[kind]


def read_state_dict(path: str | Path, *, map_location="cpu", key: str | None = None) -> dict[str, torch.Tensor]:
    """A plain state dict from `path` (tensors only: nothing in the file can run code)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found; {HOW_TO_GET}")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{path}: not a readable PyTorch weights file ({first_line}); {HOW_TO_GET}") from exc
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            raise ModelFileError(f"{path}: expected the weights under a {key!r} key; {HOW_TO_GET}")
        data = data[key]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelFileError(f"{path}: not a state dict (a mapping of names to tensors); {HOW_TO_GET}")
    return data


def load_strict(model: nn.Module, state: dict[str, torch.Tensor], path: str | Path, sizes_from: str = "") -> None:
    """load_state_dict(strict=True), but a mismatch names the file and the first differing keys and shapes."""
    problem = describe_mismatch(model.state_dict(), state)
    if problem:
        built = f" (the model was built with {sizes_from})" if sizes_from else ""
        raise ModelFileError(f"{path}: does not match {type(model).__name__}{built}: {problem}; {HOW_TO_GET}")
    model.load_state_dict(state, strict=True)


def describe_mismatch(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> str:
    """'' when keys and shapes agree, else the first few missing, unexpected and wrongly shaped keys."""
    parts = []
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [(k, tuple(expected[k].shape), tuple(found[k].shape))
              for k in expected if k in found and expected[k].shape != found[k].shape]
    if missing:
        parts.append(f"missing {_first(missing)}")
    if unexpected:
        parts.append(f"unexpected {_first(unexpected)}")
    if shapes:
        shown = ", ".join(f"{k} is {_shape(f)}, expected {_shape(e)}" for k, e, f in shapes[:_SHOWN])
        more = f" (and {len(shapes) - _SHOWN} more)" if len(shapes) > _SHOWN else ""
        parts.append(f"wrong shape: {shown}{more}")
    return "; ".join(parts)


def _first(keys: list[str]) -> str:
    more = f" (and {len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "scalar"


def _construct(cls, kind: str, models_dir: str | Path, **overrides) -> nn.Module:
    kwargs = {**model_sizes(models_dir)[kind], **overrides}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # an argument the class does not take: a bad models.yaml
        raise ModelFileError(f"{Path(models_dir) / 'models.yaml'}: {kind}: {exc}") from exc


def build_autoregressive(models_dir: str | Path, *, dropout: float | None = None,
                         checkpointing: bool = False, attention: str = "sdpa") -> nn.Module:
    """UnifiedVoice with random weights at the sizes of models_dir.

    dropout=None keeps TorToiSe's own dropout (GPT-2's 0.1); a number sets every dropout in the model.
    attention: "sdpa" computes GPT-2's attention with torch's fused kernel (models/attention.py: the same
    function and weights, without storing the attention matrices), "eager" keeps transformers' own code.
    """
    from tortoise.models.autoregressive import UnifiedVoice
    from .attention import set_attention
    model = _construct(UnifiedVoice, "autoregressive", models_dir, checkpointing=checkpointing)
    if dropout is not None:
        set_dropout(model, dropout)
    return set_attention(model, attention)


def set_dropout(model: nn.Module, p: float) -> None:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout {p} is outside [0, 1)")
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = p
    config = getattr(getattr(model, "gpt", None), "config", None)
    if config is not None:  # keep GPT-2's config truthful for anything that reads it later
        config.attn_pdrop = config.resid_pdrop = config.embd_pdrop = p


def fuse_gelu(model: nn.Module) -> nn.Module:
    """Swap GPT-2's Python tanh-GELU ("gelu_new") for PyTorch's one-kernel version of the same formula.

    The two agree to within 3e-7 and the weights do not change, but the fused kernel runs forward and
    backward several times faster on CPU; for training that is about a tenth of every step.
    """
    from transformers.activations import NewGELUActivation
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, NewGELUActivation):
                setattr(module, name, nn.GELU(approximate="tanh"))
    return model


def load_autoregressive(models_dir: str | Path, weights: str | Path | None = None, *, dropout: float | None = None,
                        checkpointing: bool = False, attention: str = "sdpa", map_location="cpu") -> nn.Module:
    """UnifiedVoice at the sizes of models_dir with the weights of `weights` (default models_dir/autoregressive.pth).

    `weights` may be a fine-tune or a training checkpoint's model.pth (plain state dicts). Returned in train
    mode on the CPU; call .eval() (and TorToiSe's post_init_gpt2_config) to generate: its KV-cached inference
    model shares the GPT-2 blocks, so it runs the same `attention`.
    """
    path = Path(weights) if weights is not None else model_path(models_dir, "autoregressive")
    state = read_state_dict(path, map_location=map_location)
    state = {k: v for k, v in state.items() if not _LEGACY_GPT2_BUFFERS.match(k)}
    model = build_autoregressive(models_dir, dropout=dropout, checkpointing=checkpointing, attention=attention)
    load_strict(model, state, path, sizes_origin(models_dir))
    return model


def _load_published(cls, kind: str, models_dir: str | Path) -> nn.Module:
    """`cls` at the sizes of models_dir with the weights of its file for `kind`, strictly, in eval mode."""
    path = model_path(models_dir, kind)
    state = read_state_dict(path)
    model = _construct(cls, kind, models_dir)
    load_strict(model, state, path, sizes_origin(models_dir))
    return model.eval()


def load_dvae(models_dir: str | Path) -> DiscreteVAE:
    """The DVAE of models_dir, in eval mode with every parameter frozen."""
    return _load_published(DiscreteVAE, "dvae", models_dir).requires_grad_(False)


def load_diffusion(models_dir: str | Path) -> nn.Module:
    """TorToiSe's DiffusionTts in eval mode."""
    from tortoise.models.diffusion_decoder import DiffusionTts
    return _load_published(DiffusionTts, "diffusion", models_dir)


def load_clvp(models_dir: str | Path) -> nn.Module:
    """TorToiSe's CLVP in eval mode."""
    from tortoise.models.clvp import CLVP
    return _load_published(CLVP, "clvp", models_dir)


def load_vocoder(models_dir: str | Path) -> nn.Module:
    """The UnivNet vocoder, ready for inference (eval mode, weight norm folded in, as tortoise/api.py does)."""
    from tortoise.models.vocoder import UnivNetGenerator
    path = model_path(models_dir, "vocoder")
    state = read_state_dict(path, key="model_g")  # the published file also holds training state beside it
    with quiet_weight_norm():
        model = _construct(UnivNetGenerator, "vocoder", models_dir)
    load_strict(model, state, path, sizes_origin(models_dir))
    model.eval(inference=True)
    return model


@contextlib.contextmanager
def quiet_weight_norm():
    """UnivNet uses torch's old weight_norm, which warns on every layer; the layout must stay for the files."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*weight_norm.*", category=FutureWarning)
        yield


LOADERS = {
    "autoregressive": load_autoregressive,
    "diffusion": load_diffusion,
    "clvp": load_clvp,
    "vocoder": load_vocoder,
    "dvae": load_dvae,
}
