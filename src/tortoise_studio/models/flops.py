"""Model FLOPs of UnifiedVoice's training steps, and the machine's matmul rate to hold them against.

Model FLOPs utilisation (MFU) = the FLOPs the model's arithmetic needs per step / step time / the rate
torch.matmul reaches on the same device, dtype and thread count. Counted: every matrix product of the
GPT-2 layers (QKV, attention scores and values over the full T x T square, output projection, MLP),
the text and mel heads, and the conditioning encoder (its 1x1 convolutions and attention) on its two
crops; a training step is 3x the forward (the backward pass computes two products per forward one).
Recomputation under gradient checkpointing is not counted: it is the model's work, not the hardware's.
"""

from __future__ import annotations

import time

COND_BLOCKS = 6  # UnifiedVoice's ConditioningEncoder: 6 attention blocks
MEL_CHANNELS = 80


def forward_flops(sizes: dict, *, clips: int, text: int, codes: int, cond_frames: int = 172, crops: int = 2) -> float:
    """FLOPs of one forward of `clips` clips padded to `text` tokens and `codes` codes (UnifiedVoice adds
    start and stop tokens to each, and one conditioning position)."""
    d = int(sizes.get("model_dim", 512))
    layers = int(sizes.get("layers", 8))
    text_positions, code_positions = text + 2, codes + 2
    positions = 1 + text_positions + code_positions
    gpt = layers * (2 * 12 * d * d * positions + 2 * 2 * positions * positions * d)
    heads = (2 * d * (int(sizes.get("number_text_tokens", 256)) + 1) * text_positions
             + 2 * d * int(sizes.get("number_mel_codes", 8194)) * code_positions)
    frames = cond_frames
    block = 2 * 3 * d * d * frames + 2 * d * d * frames + 2 * 2 * frames * frames * d
    conditioning = crops * (2 * MEL_CHANNELS * d * frames + COND_BLOCKS * block)
    return float(clips * (gpt + heads + conditioning))


def training_flops(sizes: dict, **batch) -> float:
    return 3 * forward_flops(sizes, **batch)


def matmul_rate(dtype: str = "fp32", *, device: str = "cpu", n: int = 1024, seconds: float = 1.0,
                clock=time.perf_counter) -> float:
    """FLOP/s of torch.matmul on n x n matrices, in this process (its thread count), best of a few repeats.
    `clock=time.process_time` counts this process's CPU seconds: on a shared machine, the rate per CPU second."""
    import torch
    kind = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    a = torch.randn(n, n, device=device).to(kind)
    b = torch.randn(n, n, device=device).to(kind)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.matmul(a, b)
    sync()
    best = 0.0
    deadline = clock() + seconds
    while clock() < deadline:
        reps = 4 if device == "cpu" else 50
        started = clock()
        for _ in range(reps):
            torch.matmul(a, b)
        sync()
        best = max(best, reps * 2 * n ** 3 / max(clock() - started, 1e-9))
    return best


class FlopCounter:
    """Adds up training_flops of every training-mode forward of a UnifiedVoice, from its arguments'
    shapes (a forward pre-hook: the model runs unchanged). `remove()` detaches it."""

    def __init__(self, model, sizes: dict, cond_frames: int = 172):
        self.sizes, self.cond_frames, self.total = sizes, cond_frames, 0.0
        self._handle = model.register_forward_pre_hook(self._count)

    def _count(self, module, args):
        if module.training and len(args) >= 4:
            _, text, _, codes = args[:4]
            self.total += training_flops(self.sizes, clips=text.shape[0], text=text.shape[1], codes=codes.shape[1],
                                         cond_frames=self.cond_frames)

    def remove(self) -> None:
        self._handle.remove()
