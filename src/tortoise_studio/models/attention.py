"""GPT-2's attention through torch's scaled_dot_product_attention: the same function, the same weights.

transformers 4.31 computes GPT-2 attention eagerly: it builds every (T x T) score matrix, masks it,
takes the softmax and keeps the result for the backward pass (30 layers x 16 heads x T^2 values per
clip at TorToiSe's size). torch.nn.functional.scaled_dot_product_attention computes the same
softmax(Q K^T * scale + mask) V with fused kernels (flash or memory-efficient ones on GPUs, a fused one
on CPUs) that never store that matrix.

`set_attention(model, "sdpa")` switches every GPT2Attention inside a model (UnifiedVoice's `gpt`, which its
KV-cached inference model shares) to the class below, in place: parameters, buffers and state-dict
keys stay exactly as they were, so published weights load and fine-tunes load back.

What the eager code does, and how this matches it:
- scale: 1/sqrt(head_dim) when `scale_attn_weights` (GPT-2's default), times 1/(layer + 1) when
  `scale_attn_by_inverse_layer_idx`; passed to SDPA as `scale`.
- causal mask: `bias[K-Q:K, :K]`, a lower triangle aligned to the bottom right (a cached step's
  query sees every earlier key). SDPA's `is_causal` aligns to the top left, so it is used only when
  Q == K (training, uncached generation); a one-token cached step needs no mask; anything else gets the
  explicit bottom-right triangle.
- attention_mask: GPT2Model turns a 0/1 padding mask into additive 0 / dtype-min values, added to the
  scores. UnifiedVoice's training forward passes none (inputs_embeds only); generation passes an
  all-ones mask (its pad token is the stop token, so nothing is padding). It is still honoured: added
  to the scores, combined with the causal triangle.
- dropout on the attention weights: SDPA's `dropout_p`, the module's own `attn_dropout.p` in training
  mode (so models.set_dropout still governs it). The masks are drawn differently from the eager ones,
  so with dropout on, a step matches eager in distribution, not bit for bit.
- anything the fast path does not cover (attention weights asked for, head masks, cross-attention,
  `reorder_and_upcast_attn`) runs the eager code unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.gpt2.modeling_gpt2 import GPT2Attention

ATTENTIONS = ("sdpa", "eager")


def causal_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, *,
                     attention_mask: torch.Tensor | None = None, dropout_p: float = 0.0,
                     scale: float | None = None) -> torch.Tensor:
    """softmax(query key^T * scale + causal mask + attention_mask) value, for (B, heads, T, head_dim) inputs.

    The causal triangle is aligned to the last key (the query positions are the last Q of K), as GPT-2's is.
    """
    q_len, k_len = query.shape[-2], key.shape[-2]
    is_causal = False
    if attention_mask is None:
        mask = None
        is_causal = q_len == k_len and q_len > 1  # SDPA's own triangle (top-left) equals GPT-2's here
        if q_len != k_len and q_len > 1:
            mask = _bottom_right_triangle(q_len, k_len, query.device)
    else:
        mask = attention_mask
        if q_len > 1:  # as eager: dtype-min where the triangle hides a key, plus the additive mask (-inf where both)
            hidden = ~_bottom_right_triangle(q_len, k_len, query.device)
            mask = mask + torch.zeros_like(hidden, dtype=mask.dtype).masked_fill(hidden, torch.finfo(mask.dtype).min)
        if mask.dtype != query.dtype:  # SDPA takes the query's dtype; dtype-min must not become -inf there
            mask = mask.clamp(min=torch.finfo(query.dtype).min).to(query.dtype)
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout_p,
                                          is_causal=is_causal, scale=scale)


def _bottom_right_triangle(q_len: int, k_len: int, device) -> torch.Tensor:
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(k_len - q_len)


class SdpaGPT2Attention(GPT2Attention):
    """GPT2Attention whose score-softmax-value product is one scaled_dot_product_attention call."""

    def forward(self, hidden_states, layer_past=None, attention_mask=None, head_mask=None,
                encoder_hidden_states=None, encoder_attention_mask=None, use_cache=False, output_attentions=False):
        if output_attentions or head_mask is not None or encoder_hidden_states is not None or self.reorder_and_upcast_attn:
            return super().forward(hidden_states, layer_past, attention_mask, head_mask, encoder_hidden_states,
                                   encoder_attention_mask, use_cache, output_attentions)
        query, key, value = self.c_attn(hidden_states).split(self.split_size, dim=2)
        query = self._split_heads(query, self.num_heads, self.head_dim)
        key = self._split_heads(key, self.num_heads, self.head_dim)
        value = self._split_heads(value, self.num_heads, self.head_dim)
        if layer_past is not None:
            past_key, past_value = layer_past
            key = torch.cat((past_key, key), dim=-2)
            value = torch.cat((past_value, value), dim=-2)
        present = (key, value) if use_cache is True else None
        output = causal_attention(query, key, value, attention_mask=attention_mask,
                                  dropout_p=self.attn_dropout.p if self.training else 0.0,
                                  scale=gpt2_scale(self, value.size(-1)))
        output = self.c_proj(self._merge_heads(output, self.num_heads, self.head_dim))
        return self.resid_dropout(output), present


def gpt2_scale(attention: nn.Module, head_dim: int) -> float:
    """The factor GPT2Attention multiplies its scores by."""
    scale = head_dim ** -0.5 if attention.scale_attn_weights else 1.0
    if attention.scale_attn_by_inverse_layer_idx:
        scale /= float(attention.layer_idx + 1)
    return scale


def set_attention(model: nn.Module, attention: str) -> nn.Module:
    """Switch every GPT-2 attention in `model` to "sdpa" or back to "eager", in place; returns `model`.

    Only the class of each attention module changes: its parameters, buffers and keys stay.
    """
    if attention not in ATTENTIONS:
        raise ValueError(f"attention {attention!r} is not one of {', '.join(ATTENTIONS)}")
    target = SdpaGPT2Attention if attention == "sdpa" else GPT2Attention
    for module in model.modules():
        if isinstance(module, GPT2Attention) and not module.is_cross_attention:
            module.__class__ = target
    return model


def attention_of(model: nn.Module) -> str | None:
    """"sdpa" or "eager" when every GPT-2 attention in `model` is of that kind, None when it has none."""
    kinds = {"sdpa" if isinstance(m, SdpaGPT2Attention) else "eager" for m in model.modules()
             if isinstance(m, GPT2Attention)}
    if len(kinds) > 1:
        raise ValueError("the model mixes eager and SDPA attention")
    return kinds.pop() if kinds else None
