"""GPT-2 attention through scaled_dot_product_attention: the same function as transformers' eager code.

Each comparison runs one model twice, switching only the attention class in between, so the weights
are the very same tensors.
"""

from __future__ import annotations

import copy

import pytest
import torch
from tortoise.models.autoregressive import UnifiedVoice

from tortoise_studio import config as C
from tortoise_studio.models import attention_of, build_autoregressive, load_autoregressive, set_attention
from tortoise_studio.models.attention import causal_attention
from tortoise_studio.models.files import PUBLISHED_SIZES

MID = {**PUBLISHED_SIZES["autoregressive"], "layers": 6, "model_dim": 512, "heads": 8}  # bench's mid size


@pytest.fixture(scope="module")
def mid_model() -> UnifiedVoice:
    torch.manual_seed(0)
    return UnifiedVoice(**MID)


def model_for(size: str, tiny_models, mid_model) -> UnifiedVoice:
    if size == "tiny":
        return load_autoregressive(tiny_models, dropout=0.0)
    return copy.deepcopy(mid_model)


def batch(seed: int = 0, b: int = 3):
    g = torch.Generator().manual_seed(seed)
    text_lengths = torch.tensor([40, 23, 31][:b])
    code_lengths = torch.tensor([70, 52, 61][:b])
    text = torch.randint(1, 255, (b, 40), generator=g)
    codes = torch.randint(0, 8192, (b, 70), generator=g)
    cond = torch.randn(b, 2, 80, 172, generator=g)
    return cond, text, text_lengths, codes, code_lengths * 1024


def losses_and_grads(model, attention: str, data, *, train: bool):
    set_attention(model, attention)
    model.train(train)
    model.zero_grad(set_to_none=True)
    cond, text, text_lengths, codes, wav_lengths = data
    torch.manual_seed(1)
    loss_text, loss_mel, logits = model(model.get_conditioning(cond), text, text_lengths, codes.clone(), wav_lengths)
    (0.01 * loss_text + loss_mel).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return loss_text.item(), loss_mel.item(), logits.detach(), grads


@pytest.mark.parametrize("size", ["tiny", "mid"])
def test_training_forward_and_backward_match_eager(size, tiny_models, mid_model):
    model = model_for(size, tiny_models, mid_model)
    from tortoise_studio.models.loader import set_dropout
    set_dropout(model, 0.0)  # dropout masks are random draws: compare the function itself
    data = batch()
    eager = losses_and_grads(model, "eager", data, train=True)
    sdpa = losses_and_grads(model, "sdpa", data, train=True)
    assert attention_of(model) == "sdpa"
    for a, b in zip(eager[:2], sdpa[:2]):
        assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), (a, b)
    torch.testing.assert_close(sdpa[2], eager[2], rtol=1e-4, atol=1e-4)
    assert eager[3].keys() == sdpa[3].keys() and len(eager[3]) > 0
    for name in eager[3]:
        torch.testing.assert_close(sdpa[3][name], eager[3][name], rtol=1e-3, atol=1e-5, msg=name)


def test_eval_latents_match_eager(tiny_models):
    """The conditioning-free latent path generation uses (return_latent, clip_inputs=False)."""
    model = load_autoregressive(tiny_models).eval()
    cond, text, text_lengths, codes, wav_lengths = batch(b=2)
    out = {}
    with torch.no_grad():
        for attention in ("eager", "sdpa"):
            set_attention(model, attention)
            out[attention] = model(model.get_conditioning(cond), text, text_lengths, codes, wav_lengths,
                                   return_latent=True, clip_inputs=False)
    torch.testing.assert_close(out["sdpa"], out["eager"], rtol=1e-5, atol=1e-5)


def test_bf16_autocast_stays_close_to_eager(tiny_models):
    model = load_autoregressive(tiny_models, dropout=0.0).eval()
    data = batch(b=2)
    losses = {}
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for attention in ("eager", "sdpa"):
            set_attention(model, attention)
            cond, text, text_lengths, codes, wav_lengths = data
            losses[attention] = model(model.get_conditioning(cond), text, text_lengths, codes.clone(), wav_lengths)[1].item()
    assert abs(losses["sdpa"] - losses["eager"]) <= 2e-2 * abs(losses["eager"])


@pytest.mark.parametrize("size", ["tiny", "mid"])
@pytest.mark.parametrize("kv_cache", [True, False])
def test_generated_codes_are_the_same_under_a_fixed_seed(size, kv_cache, tiny_models, mid_model):
    model = model_for(size, tiny_models, mid_model).eval()
    model.post_init_gpt2_config(kv_cache=kv_cache)
    cond, text, *_ = batch(b=1)
    codes = {}
    with torch.no_grad():
        latent = model.get_conditioning(cond)
        for attention in ("eager", "sdpa"):
            set_attention(model, attention)
            assert attention_of(model.inference_model) == attention  # the inference model shares the blocks
            torch.manual_seed(7)
            codes[attention] = model.inference_speech(latent, text[:, :20], do_sample=True, top_p=0.8, temperature=0.8,
                                                      num_return_sequences=2, max_generate_length=24)
    assert codes["eager"].shape[1] > 1
    assert torch.equal(codes["sdpa"], codes["eager"])


def test_state_dict_keys_and_tensors_do_not_change(tiny_models):
    eager = build_autoregressive(tiny_models, attention="eager")
    sdpa = build_autoregressive(tiny_models, attention="sdpa")
    assert attention_of(eager) == "eager" and attention_of(sdpa) == "sdpa"
    assert list(eager.state_dict()) == list(sdpa.state_dict())
    assert {k: v.shape for k, v in eager.state_dict().items()} == {k: v.shape for k, v in sdpa.state_dict().items()}
    model = load_autoregressive(tiny_models)  # the default is sdpa, and the file loads strictly into it
    assert attention_of(model) == "sdpa"
    before = {k: v.clone() for k, v in model.state_dict().items()}
    set_attention(model, "eager")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="attention 'flash' is not one of sdpa, eager"):
        set_attention(model, "flash")


def test_gradient_checkpointing_with_sdpa_gives_the_same_loss(tiny_models):
    data = batch(b=2)
    results = []
    for checkpointing in (False, True):
        model = load_autoregressive(tiny_models, dropout=0.0, checkpointing=checkpointing).train()
        results.append(losses_and_grads(model, "sdpa", data, train=True))
    assert abs(results[0][1] - results[1][1]) <= 1e-6
    for name, grad in results[0][3].items():
        torch.testing.assert_close(results[1][3][name], grad, rtol=1e-4, atol=1e-6, msg=name)


def reference_attention(q, k, v, mask, scale):
    """GPT-2's eager formula, written out: bottom-right causal triangle, additive mask, softmax."""
    scores = q @ k.transpose(-1, -2) * scale
    q_len, k_len = q.shape[-2], k.shape[-2]
    triangle = torch.ones(q_len, k_len, dtype=torch.bool).tril(k_len - q_len)
    scores = scores.masked_fill(~triangle, torch.finfo(scores.dtype).min)
    if mask is not None:
        scores = scores + mask
    return scores.softmax(-1) @ v


@pytest.mark.parametrize("q_len,k_len", [(9, 9), (1, 9), (4, 9)])
@pytest.mark.parametrize("padded", [False, True])
def test_causal_attention_matches_the_formula_for_cached_and_padded_shapes(q_len, k_len, padded):
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 3, n, 8, generator=g) for n in (q_len, k_len, k_len))
    mask = None
    if padded:  # GPT2Model's additive form of a 0/1 mask; the second row has 2 padded keys at the start
        keep = torch.ones(2, k_len)
        keep[1, :2] = 0
        mask = ((1.0 - keep) * torch.finfo(torch.float32).min)[:, None, None, :]
    got = causal_attention(q, k, v, attention_mask=mask, scale=8 ** -0.5)
    torch.testing.assert_close(got, reference_attention(q, k, v, mask, 8 ** -0.5), rtol=1e-5, atol=1e-6)


def test_config_key_defaults_to_sdpa_and_names_the_field_when_wrong(workspace):
    cfg = C.TrainingConfig(dataset="x")
    assert cfg.model.attention == "sdpa"
    bad = C.apply_overrides(cfg, ["model.attention=flash"])
    messages = [p.message for p in C.validate_config(bad, workspace) if p.field == "model.attention"]
    assert messages == ["model.attention: 'flash' is not one of sdpa, eager"]
