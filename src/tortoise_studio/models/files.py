"""What a models folder holds: TorToiSe's five weight files and, optionally, a models.yaml of sizes."""

from __future__ import annotations

import copy
from pathlib import Path

from ..errors import UserError

MODEL_FILES = {
    "autoregressive": "autoregressive.pth",
    "diffusion": "diffusion_decoder.pth",
    "clvp": "clvp2.pth",
    "vocoder": "vocoder.pth",
    "dvae": "dvae.pth",
}
SIZES_FILE = "models.yaml"
HOW_TO_GET = ("get TorToiSe's files with `tortoise-studio download-models DIR`, "
              "or make a tiny test set with `tortoise-studio make-tiny-models DIR`")

# Constructor arguments exactly as tortoise/api.py (tortoise-tts 3.0.0) builds the published models;
# the DVAE's come from the header of tests/data/dvae_state_dict.tsv.
PUBLISHED_SIZES: dict[str, dict] = {
    "autoregressive": dict(max_mel_tokens=604, max_text_tokens=402, max_conditioning_inputs=2, layers=30,
                           model_dim=1024, heads=16, number_text_tokens=255, start_text_token=255,
                           checkpointing=False, train_solo_embeddings=False),
    "diffusion": dict(model_channels=1024, num_layers=10, in_channels=100, out_channels=200,
                      in_latent_channels=1024, in_tokens=8193, dropout=0, use_fp16=False, num_heads=16,
                      layer_drop=0, unconditioned_percentage=0),
    "clvp": dict(dim_text=768, dim_speech=768, dim_latent=768, num_text_tokens=256, text_enc_depth=20,
                 text_seq_len=350, text_heads=12, num_speech_tokens=8192, speech_enc_depth=20, speech_heads=12,
                 speech_seq_len=430, use_xformers=True),
    "vocoder": dict(),  # UnivNetGenerator's defaults are the published sizes
    "dvae": dict(channels=80, num_tokens=8192, codebook_dim=512, hidden_dim=512, num_layers=2,
                 num_resnet_blocks=3, kernel_size=3),
}


class ModelFileError(UserError):
    """A model file that is missing or does not match the model it should load into."""


def model_sizes(models_dir: str | Path) -> dict[str, dict]:
    """Constructor keyword arguments per model kind: models_dir/models.yaml where present, else published sizes.

    A models.yaml lists, per kind, the full set of arguments; kinds it leaves out keep the published sizes.
    """
    sizes = copy.deepcopy(PUBLISHED_SIZES)
    path = Path(models_dir) / SIZES_FILE
    if not path.is_file():
        return sizes
    import yaml
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ModelFileError(f"{path}: not readable as YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: expected a mapping of model kind to sizes, got {type(data).__name__}")
    for kind, kwargs in data.items():
        if kind not in MODEL_FILES:
            raise ModelFileError(f"{path}: unknown model kind {kind!r} (known: {', '.join(MODEL_FILES)})")
        if not isinstance(kwargs, dict):
            raise ModelFileError(f"{path}: {kind}: expected a mapping of constructor arguments")
        sizes[kind] = dict(kwargs)
    return sizes


def sizes_origin(models_dir: str | Path) -> str:
    """Where the sizes of models_dir come from, for error messages."""
    path = Path(models_dir) / SIZES_FILE
    return f"the sizes in {path}" if path.is_file() else "TorToiSe's published sizes (no models.yaml there)"
