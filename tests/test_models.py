"""The model loader, the DVAE and the tiny model set, through the real TorToiSe classes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile as sf
import torch
import yaml

from tortoise_studio.errors import UserError
from tortoise_studio.models import (MODEL_FILES, DiscreteVAE, ModelFileError, build_autoregressive, check_models,
                                    load_autoregressive, load_clvp, load_diffusion, load_dvae, load_vocoder,
                                    make_tiny_models, model_sizes, normalized_mel)
from tortoise_studio.models.loader import load_strict

# The published dvae.pth's keys and shapes (tests/data/dvae_state_dict.tsv)
REFERENCE = Path(__file__).parent / "data" / "dvae_state_dict.tsv"


def reference_layout() -> dict[str, tuple[int, ...]]:
    rows = [line.split("\t") for line in REFERENCE.read_text().splitlines() if line and not line.startswith("#")]
    return {key: tuple(int(n) for n in shape.split("x")) for key, shape in rows}


def read_clip(path: Path) -> torch.Tensor:
    """A real clip as [1, samples] at 22050 Hz."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    wav = torch.from_numpy(data.mean(axis=1)).unsqueeze(0)
    if rate != 22050:
        import torchaudio
        wav = torchaudio.functional.resample(wav, rate, 22050)
    return wav


@pytest.fixture(scope="module")
def clip(real_clips) -> torch.Tensor:
    return read_clip(real_clips[0])[:, : 22050 * 4]  # 4 s keep the forward quick


def test_dvae_state_dict_layout_equals_reference():
    layout = {k: tuple(v.shape) for k, v in DiscreteVAE().state_dict().items()}
    assert layout == reference_layout()
    assert sum(map(lambda s: torch.Size(s).numel(), layout.values())) == 59_963_984


@pytest.mark.slow
def test_full_size_dvae_random_state_loads_strictly_and_a_wrong_shape_names_the_key():
    torch.manual_seed(0)
    state = {k: torch.randn(shape) for k, shape in reference_layout().items()}
    model = DiscreteVAE()
    load_strict(model, state, "dvae.pth")
    assert torch.equal(model.codebook.embed, state["codebook.embed"])

    state["encoder.2.net.2.weight"] = torch.randn(1024, 1024, 5)
    with pytest.raises(ModelFileError) as err:
        load_strict(DiscreteVAE(), state, "dvae.pth")
    message = str(err.value)
    assert "dvae.pth" in message and "encoder.2.net.2.weight is 1024x1024x5, expected 1024x1024x3" in message
    assert "download-models" in message


def test_missing_and_unexpected_keys_are_named(tiny_models, tmp_path):
    state = torch.load(tiny_models / "dvae.pth")
    del state["codebook.cluster_size"]
    state["codebook.extra"] = torch.zeros(1)
    folder = tmp_path / "models"
    shutil.copytree(tiny_models, folder)
    torch.save(state, folder / "dvae.pth")
    with pytest.raises(ModelFileError, match=r"dvae\.pth.*missing codebook\.cluster_size; unexpected codebook\.extra"):
        load_dvae(folder)


def test_model_sizes_default_to_published_and_follow_models_yaml(tmp_path, tiny_models):
    published = model_sizes(tmp_path)
    assert published["autoregressive"]["layers"] == 30 and published["autoregressive"]["model_dim"] == 1024
    assert published["dvae"]["codebook_dim"] == 512 and published["diffusion"]["in_latent_channels"] == 1024
    tiny = model_sizes(tiny_models)
    ar = tiny["autoregressive"]
    assert (ar["number_text_tokens"], ar["start_text_token"], ar["max_mel_tokens"], ar["max_text_tokens"]) == (
        255, 255, 604, 402)
    assert (ar["number_mel_codes"], ar["start_mel_token"], ar["stop_mel_token"]) == (8194, 8192, 8193)
    assert tiny["diffusion"]["in_latent_channels"] == ar["model_dim"]
    assert tiny["dvae"]["num_tokens"] == 8192


def test_tiny_set_files_are_small_and_deterministic(tiny_models, tmp_path):
    again = make_tiny_models(tmp_path / "again")
    names = sorted(p.name for p in tiny_models.iterdir())
    assert names == sorted([*MODEL_FILES.values(), "models.yaml"])
    assert sum(p.stat().st_size for p in tiny_models.iterdir()) < 12_000_000
    for name in names:
        assert (again / name).read_bytes() == (tiny_models / name).read_bytes(), name
    assert set(torch.load(tiny_models / "vocoder.pth")) == {"model_g"}  # the published vocoder layout


def test_make_tiny_models_never_overwrites_real_weights(tmp_path):
    folder = tmp_path / "real"
    folder.mkdir()
    (folder / "autoregressive.pth").write_bytes(b"somebody's weights")
    with pytest.raises(UserError, match="autoregressive.pth"):
        make_tiny_models(folder)
    assert (folder / "autoregressive.pth").read_bytes() == b"somebody's weights"


def test_check_models_loads_every_tiny_file(tiny_models):
    statuses = check_models(tiny_models)
    assert [s.file for s in statuses] == list(MODEL_FILES.values())
    assert [s.status for s in statuses] == ["ok"] * 5, statuses


def test_check_models_reports_missing_and_broken_files(tiny_models, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(tiny_models, folder)
    (folder / "clvp2.pth").unlink()
    (folder / "vocoder.pth").write_bytes(b"not a checkpoint")
    by_file = {s.file: s for s in check_models(folder)}
    assert by_file["clvp2.pth"].status == "missing"
    assert by_file["vocoder.pth"].status == "error" and "vocoder.pth" in by_file["vocoder.pth"].detail
    assert by_file["autoregressive.pth"].status == "ok"


def test_weights_at_other_sizes_fail_naming_file_and_shapes(tiny_models, tmp_path):
    folder = tmp_path / "wider"
    shutil.copytree(tiny_models, folder)
    sizes = yaml.safe_load((folder / "models.yaml").read_text())
    sizes["autoregressive"]["model_dim"] = 48
    (folder / "models.yaml").write_text(yaml.safe_dump(sizes))
    with pytest.raises(ModelFileError) as err:
        load_autoregressive(folder, tiny_models / "autoregressive.pth")
    message = str(err.value)
    assert str(tiny_models / "autoregressive.pth") in message
    assert "wrong shape: conditioning_encoder.init.weight is 32x80x1, expected 48x80x1" in message
    assert "models.yaml" in message


def test_bad_models_yaml_names_the_file(tiny_models, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(tiny_models, folder)
    (folder / "models.yaml").write_text("autoregressive: {layers: 2, wings: 3}\n")
    with pytest.raises(ModelFileError, match=r"models\.yaml: autoregressive: .*wings"):
        load_autoregressive(folder)
    (folder / "models.yaml").write_text("autoregresive: {}\n")
    with pytest.raises(ModelFileError, match="unknown model kind 'autoregresive'"):
        model_sizes(folder)


def test_fine_tune_state_dict_loads_back_and_legacy_gpt2_buffers_are_accepted(tiny_models, tmp_path):
    model = load_autoregressive(tiny_models)
    with torch.no_grad():
        model.text_head.bias.add_(1.0)  # a "fine-tune"
    state = model.state_dict()
    state["gpt.h.0.attn.bias"] = torch.ones(1, 1, 4, 4, dtype=torch.bool)  # as old transformers saved it
    state["gpt.h.0.attn.masked_bias"] = torch.tensor(-1e4)
    torch.save(state, tmp_path / "finetune.pth")
    loaded = load_autoregressive(tiny_models, tmp_path / "finetune.pth")
    assert torch.equal(loaded.text_head.bias, model.text_head.bias)


def test_dropout_setting_reaches_every_dropout(tiny_models):
    default = build_autoregressive(tiny_models)
    assert {m.p for m in default.modules() if isinstance(m, torch.nn.Dropout)} == {0.1}  # GPT-2's own
    off = build_autoregressive(tiny_models, dropout=0.0)
    assert {m.p for m in off.modules() if isinstance(m, torch.nn.Dropout)} == {0.0}
    assert off.gpt.config.attn_pdrop == off.gpt.config.resid_pdrop == off.gpt.config.embd_pdrop == 0.0


def test_mel_of_a_real_clip_has_tortoise_shape(clip):
    mel = normalized_mel(clip)
    assert mel.shape == (1, 80, clip.shape[1] // 256 + 1)
    assert torch.isfinite(mel).all() and mel.std() > 0.1


def test_dvae_encodes_a_real_clip(tiny_models, clip):
    dvae = load_dvae(tiny_models)
    assert not dvae.training and not any(p.requires_grad for p in dvae.parameters())
    mel = normalized_mel(clip)
    codes = dvae.codes(mel)
    assert codes.dtype == torch.long and codes.shape == (1, mel.shape[-1] // 4)
    assert 0 <= codes.min() and codes.max() < 8192
    assert codes.unique().numel() >= 5  # even the random tiny DVAE's codes follow the sound
    assert torch.equal(dvae.codes(torch.cat([mel, mel])), torch.cat([codes, codes]))  # batched = one by one
    assert dvae.decode(codes).shape == (1, 80, codes.shape[1] * 4)


@pytest.mark.slow
def test_training_forward_on_a_real_clip_gives_finite_losses(tiny_models, clip):
    from tortoise.utils.tokenizer import VoiceBpeTokenizer
    torch.manual_seed(0)
    model = load_autoregressive(tiny_models, dropout=0.0)
    mel = normalized_mel(clip)
    codes = load_dvae(tiny_models).codes(mel)
    text = torch.tensor([VoiceBpeTokenizer().encode("Hello there, this is a real clip.")], dtype=torch.long)
    cond = torch.stack([mel[:, :, :172], mel[:, :, 100:272]], dim=1)  # two ~2 s crops
    latent = model.get_conditioning(cond)
    loss_text, loss_mel, logits = model(latent, text, torch.tensor([text.shape[1]]), codes,
                                        torch.tensor([clip.shape[1]]))
    assert torch.isfinite(loss_text) and torch.isfinite(loss_mel)
    assert 3.0 < loss_text.item() < 9.0 and 5.0 < loss_mel.item() < 13.0  # near ln(256), ln(8194) at random init
    assert logits.shape[1] == 8194
    (0.01 * loss_text + loss_mel).backward()
    assert model.mel_head.weight.grad is not None and torch.isfinite(model.mel_head.weight.grad).all()


@pytest.mark.slow
def test_diffusion_and_vocoder_turn_latents_into_a_waveform(tiny_models, clip):
    # The sampler as tortoise/api.py sets it up, without importing tortoise.api (wav2vec, seconds of start-up).
    from tortoise.utils.diffusion import SpacedDiffusion, get_named_beta_schedule, space_timesteps
    torch.manual_seed(0)
    model = load_autoregressive(tiny_models).eval()
    mel = normalized_mel(clip)
    codes = load_dvae(tiny_models).codes(mel)
    text = torch.tensor([[20, 30, 40, 50]])
    with torch.no_grad():
        latent = model.get_conditioning(mel[:, :, :172].unsqueeze(1))
        latents = model(latent, text, torch.tensor([4]), codes, torch.tensor([clip.shape[1]]), return_latent=True)
    assert latents.shape == (1, codes.shape[1], model.model_dim)

    diffusion, vocoder = load_diffusion(tiny_models), load_vocoder(tiny_models)
    sampler = SpacedDiffusion(use_timesteps=space_timesteps(4000, [2]), model_mean_type="epsilon",
                              model_var_type="learned_range", loss_type="mse",
                              betas=get_named_beta_schedule("linear", 4000), conditioning_free=True,
                              conditioning_free_k=1)
    frames = latents.shape[1] * 4 * 24000 // 22050  # 22 kHz codes -> 24 kHz spectrogram frames
    with torch.no_grad():
        # A 100-band conditioning mel stands in for the voice's (tortoise's univnet mel needs librosa's JIT: slow)
        diffusion_cond = diffusion.get_conditioning(torch.randn(1, 100, 400))
        aligned = diffusion.timestep_independent(latents, diffusion_cond, frames, False)
        spec = sampler.p_sample_loop(diffusion, (1, 100, frames), noise=torch.randn(1, 100, frames),
                                     model_kwargs={"precomputed_aligned_embeddings": aligned}, progress=False)
        audio = vocoder.inference(spec)
    assert spec.shape == (1, 100, frames)
    assert audio.shape == (1, 1, frames * 256)  # 24 kHz samples
    assert torch.isfinite(audio).all() and audio.abs().max() <= 1.0 and audio.std() > 0


def test_clvp_scores_text_against_codes(tiny_models):
    clvp = load_clvp(tiny_models)
    with torch.no_grad():
        score = clvp(torch.tensor([[5, 6, 7, 8]]), torch.randint(0, 8192, (1, 40)), return_loss=False)
    assert score.shape == (1,) and torch.isfinite(score).all()


def test_fused_gelu_keeps_the_weights_and_the_outputs(tiny_models):
    from transformers.activations import NewGELUActivation
    from tortoise_studio.models import fuse_gelu, load_autoregressive
    torch.manual_seed(0)
    model = load_autoregressive(tiny_models, dropout=0.0).eval()
    text = torch.randint(1, 255, (2, 12))
    codes = torch.randint(0, 8192, (2, 20))
    cond = torch.randn(2, 2, 80, 172)
    args = (text, torch.tensor([12, 9]), codes, torch.tensor([20 * 1024, 15 * 1024]))
    with torch.no_grad():
        before = model(model.get_conditioning(cond), *args)[:2]
        state = {k: v.clone() for k, v in model.state_dict().items()}
        fuse_gelu(model)
        after = model(model.get_conditioning(cond), *args)[:2]
    assert not any(isinstance(m, NewGELUActivation) for m in model.modules())
    assert sum(isinstance(m, torch.nn.GELU) for m in model.modules()) == len(model.gpt.h)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    for a, b in zip(before, after):
        assert abs(a.item() - b.item()) <= 1e-5 * abs(a.item())
