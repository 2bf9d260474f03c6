"""A tiny TorToiSe model set: the real classes at small sizes with random weights, for tests and the demo.

Only widths and depths shrink. Everything that fixes a file format or a token layout stays as published:
the text and mel vocabularies (255/256 text tokens, 8192 mel codes plus start 8192 and stop 8193), the
positions for 11.6 s clips (604 mel, 402 text tokens), two conditioning inputs, 1024 samples per code,
the 100-band mel of the diffusion model and vocoder, and the vocoder's hop of 256 (8 x 8 x 4).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import UserError
from ..fileio import atomic_torch_save, atomic_write_text
from .files import MODEL_FILES, SIZES_FILE

HEADER = "# Tiny random TorToiSe model set made by `tortoise-studio make-tiny-models`: it speaks noise.\n"
SEED = 1234
AR_DIM = 32

TINY_SIZES: dict[str, dict] = {
    "autoregressive": dict(layers=2, model_dim=AR_DIM, heads=2, max_mel_tokens=604, max_text_tokens=402,
                           max_conditioning_inputs=2, mel_length_compression=1024, number_text_tokens=255,
                           start_text_token=255, number_mel_codes=8194, start_mel_token=8192, stop_mel_token=8193,
                           checkpointing=False, train_solo_embeddings=False),
    # in_latent_channels must equal the autoregressive model_dim: the diffusion model reads its latents
    "diffusion": dict(model_channels=32, num_layers=1, in_channels=100, out_channels=200,
                      in_latent_channels=AR_DIM, in_tokens=8193, dropout=0, use_fp16=False, num_heads=2,
                      layer_drop=0, unconditioned_percentage=0),
    "clvp": dict(dim_text=32, dim_speech=32, dim_latent=32, num_text_tokens=256, text_enc_depth=1,
                 text_seq_len=350, text_heads=2, num_speech_tokens=8192, speech_enc_depth=1, speech_heads=2,
                 speech_seq_len=430, use_xformers=True),
    "vocoder": dict(noise_dim=16, channel_size=4, dilations=[1, 3], strides=[8, 8, 4], lReLU_slope=0.2,
                    kpnet_conv_size=3, hop_length=256, n_mel_channels=100),
    "dvae": dict(channels=80, num_tokens=8192, codebook_dim=16, hidden_dim=16, num_layers=2,
                 num_resnet_blocks=1, kernel_size=3),
}


def make_tiny_models(folder: str | Path) -> Path:
    """Write the tiny set (five .pth files and models.yaml) into `folder`; same bytes on every call."""
    import yaml

    folder = Path(folder)
    _refuse_real_weights(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for index, kind in enumerate(MODEL_FILES):
        state = _random_state(kind, seed=SEED + index)
        _save(state, folder / MODEL_FILES[kind])
    atomic_write_text(folder / SIZES_FILE, HEADER + yaml.safe_dump(TINY_SIZES, sort_keys=False))
    return folder


def is_tiny_set(folder: str | Path) -> bool:
    path = Path(folder) / SIZES_FILE
    return path.is_file() and path.read_text().startswith(HEADER)


def _refuse_real_weights(folder: Path) -> None:
    """Never overwrite somebody's weights: only an empty folder or an earlier tiny set may be written."""
    present = [name for name in MODEL_FILES.values() if (folder / name).exists()]
    if present and not is_tiny_set(folder):
        raise UserError(f"{folder}: already holds {', '.join(present)} that are not a tiny set; "
                        "choose an empty folder for make-tiny-models")


def _random_state(kind: str, *, seed: int) -> dict:
    # A private RNG stream: the weights depend on the seed only, and callers' random state is untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _build(kind)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return {"model_g": state} if kind == "vocoder" else state  # the published vocoder.pth layout


def _build(kind: str) -> nn.Module:
    sizes = TINY_SIZES[kind]
    if kind == "autoregressive":
        from tortoise.models.autoregressive import UnifiedVoice
        return UnifiedVoice(**sizes)
    if kind == "diffusion":
        from tortoise.models.diffusion_decoder import DiffusionTts
        return DiffusionTts(**sizes)
    if kind == "clvp":
        from tortoise.models.clvp import CLVP
        return CLVP(**sizes)
    if kind == "vocoder":
        from .loader import quiet_weight_norm
        from tortoise.models.vocoder import UnivNetGenerator
        with quiet_weight_norm():
            return UnivNetGenerator(**sizes)
    return _tiny_dvae(sizes)


def _tiny_dvae(sizes: dict) -> nn.Module:
    """A random DVAE whose codes still follow the mel: with default init every frame maps to one or two codes
    (the encoder's output is dominated by its last bias, the codebook's norms decide). Zeroing that bias and
    shrinking the codebook makes the nearest code depend on the direction of each frame's encoding instead."""
    from .dvae import DiscreteVAE
    model = DiscreteVAE(**sizes)
    with torch.no_grad():
        model.encoder[-1].bias.zero_()
        model.codebook.embed.mul_(0.1)
        model.codebook.embed_avg.copy_(model.codebook.embed)
    return model


def _save(obj, path: Path) -> None:
    atomic_torch_save(obj, path)  # a half-written file never carries the real name
