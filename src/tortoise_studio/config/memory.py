"""Peak training memory of a configuration, known before training starts.

peak = weights + gradients + optimizer state + activations of the longest micro-batch, where

- weights: 4 bytes per parameter (training keeps fp32 weights; fp16/bf16 run under autocast) plus the
  buffers; gradients: 4 bytes per trainable parameter; optimizer state: AdamW 8 bytes per parameter
  (two fp32 moments), 8-bit AdamW 2. The parameter count comes from building UnifiedVoice at the
  configured sizes on the "meta" device (shapes only, no memory, exact for any models.yaml).
- activations: the bytes autograd keeps for the backward pass, counted with
  torch.autograd.graph.saved_tensors_hooks. That count depends only on shapes and dtypes, so a CPU
  measurement holds on any device. It is measured, not modelled by hand:

  Method. A UnifiedVoice of the configured width, heads, attention, dropout, checkpointing and
  precision, but only 2 GPT-2 layers, runs training forwards of one clip at small lengths (text t,
  codes m, around 10 to 40 positions each) and the hook adds up the distinct storages it saves
  (parameters and buffers excluded; autocast's low-precision weight copies counted apart, as they do
  not grow with the batch). The same is repeated with the model cut to 1 layer. Per clip,

      saved(L, t, m) = C + e_t (t + 2) + e_m (m + 2) + L (a T + b T^2),   T = t + m + 5 positions

  (C: the conditioning encoder on its two fixed crops; e_t, e_m: embeddings, heads and losses per text
  and code position; a, b: one GPT-2 layer, b being the stored attention matrices that eager attention
  keeps and SDPA does not). Six measurements fit these five numbers by least squares (exactly, when the
  form holds), and they extrapolate to the real depth, the dataset's longest text and clip, and the
  micro-batch (saved bytes are per clip, so they scale with it).
  With gradient checkpointing GPT-2 keeps only each layer's input, and the backward pass recomputes one
  layer at a time: one full layer's activations are added for that.
- the backward pass starts by holding two logits-sized fp32 gradients (of the loss's log-softmax and of
  the mel logits: micro-batch x code positions x 8194 codes each) beside the activations; they are added.
- SDPA's fused kernels keep no attention matrices, but on the CPU no fused kernel takes attention
  dropout (TorToiSe's GPT-2 trains with 0.1), so there torch runs SDPA's plain path, which keeps them
  like eager attention does. CUDA's kernels take dropout. So the probe for a CUDA estimate turns the
  attention dropout off (what the fused kernel saves then is what it saves with dropout), and the CPU
  one keeps it.
- gradients and activations: with one micro-batch per step the gradients are made while the backward
  pass frees the activations, so the step peaks at the larger of the two (measured: the peak sits at
  the start of the backward pass when activations dominate); with several micro-batches the earlier
  ones' gradients are held beside the next one's activations, so both count.

The estimate is checked against measured peaks on the CPU (tests/test_memory.py) and against
torch.cuda.max_memory_allocated by bench/gpu_check.py on a GPU. A GPU run also needs the CUDA context
and room for the allocator's fragmentation, so a configuration "fits" below 90% of the GPU's memory.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

OPTIMIZER_BYTES = {"adamw": 8, "adamw8bit": 2}  # optimizer state per trainable parameter
SAMPLES_PER_CODE = 1024  # one DVAE code per 1024 samples (TorToiSe's mel_length_compression)
MAX_TEXT_TOKENS = 200
MAX_SAMPLES = 255995  # TorToiSe's longest clip (11.6 s); longer ones are sliced or skipped
FIT_FRACTION = 0.9  # of the device's memory: the rest for the CUDA context and fragmentation
GIB = 1024 ** 3
# The lengths measured (text, codes): small, distinct ratios, so the fit can tell the terms apart.
_PROBES = ((8, 12), (24, 12), (12, 36))
_PROBING = threading.RLock()  # the UI may ask from two handlers at once; the probe model is cut and restored
PROFILES_FILE = "memory-profiles.json"  # in <workspace>/.cache/: fitted profiles outlive the process


@dataclass(frozen=True)
class Longest:
    """The longest clip and the longest text of a dataset: what the longest micro-batch is padded to."""

    samples: int
    text_tokens: int

    @property
    def codes(self) -> int:
        return self.samples // SAMPLES_PER_CODE + 1  # n // 1024 + 1 codes (the stop token comes on top)


@dataclass(frozen=True)
class ActivationProfile:
    """Saved bytes of one configuration, as fitted from small measurements (see the module docstring)."""

    per_clip: float  # C
    per_text_position: float  # e_t
    per_code_position: float  # e_m
    per_layer_linear: float  # a (per layer and position)
    per_layer_quadratic: float  # b (per layer and position squared)
    weight_copies_base: float  # autocast's weight copies outside the GPT-2 layers (0 in fp32)
    weight_copies_per_layer: float
    recompute_linear: float = 0.0  # with checkpointing: one full layer, recomputed in the backward pass
    recompute_quadratic: float = 0.0
    backward_per_code_position: float = 0.0  # the two logits-sized gradients at the start of the backward pass

    def saved_bytes(self, *, layers: int, text: int, codes: int, clips: int) -> float:
        positions = text + codes + 5  # conditioning, start + text + stop, start + codes + stop
        per_clip = (self.per_clip + self.per_text_position * (text + 2) + self.per_code_position * (codes + 2)
                    + layers * (self.per_layer_linear * positions + self.per_layer_quadratic * positions ** 2))
        return clips * per_clip + self.weight_copies_base + layers * self.weight_copies_per_layer

    def backward_extra_bytes(self, *, text: int, codes: int, clips: int) -> float:
        """What the backward pass holds beside the saved tensors at its start."""
        positions = text + codes + 5
        recompute = self.recompute_linear * positions + self.recompute_quadratic * positions ** 2
        return clips * (recompute + self.backward_per_code_position * (codes + 2))


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes at the peak of a training step, by what holds them."""

    parameters: int
    weights: int
    gradients: int
    optimizer: int
    activations: int
    backward_extra: int
    micro_batch: int
    longest: Longest

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations + self.backward_extra

    def parts(self) -> dict[str, int]:
        return {"weights": self.weights, "gradients": self.gradients, "optimizer state": self.optimizer,
                "activations": self.activations + self.backward_extra}


def gib(n: float) -> str:
    return f"{n / GIB:.2f} GB" if n < 10 * GIB else f"{n / GIB:.1f} GB"


# ---------------------------------------------------------------- the model's parameters

@functools.lru_cache(maxsize=16)
def _counts(sizes_key: tuple) -> tuple[int, int]:
    """(parameters, buffer bytes) of UnifiedVoice at these sizes, built on the meta device."""
    import torch
    from tortoise.models.autoregressive import UnifiedVoice
    with torch.device("meta"):
        model = UnifiedVoice(**dict(sizes_key))
    parameters = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    return parameters, buffers


def _key(sizes: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in sizes.items()))


# ---------------------------------------------------------------- measuring saved bytes

def count_saved_bytes(model, run) -> tuple[int, int]:
    """(activation bytes, autocast weight-copy bytes) autograd saves while `run()` builds its graph.

    Each distinct storage counts once; the model's own parameters and buffers are not activations.
    """
    import torch
    own = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    seen: dict[int, tuple[int, bool]] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in own and ptr not in seen:
            seen[ptr] = (storage.nbytes(), _is_weight_copy(tensor, own))
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run()
    activations = sum(n for n, copy in seen.values() if not copy)
    copies = sum(n for n, copy in seen.values() if copy)
    return activations, copies


def _is_weight_copy(tensor, own: set[int]) -> bool:
    """A cast of one of the model's parameters (autocast's low-precision weight): it does not grow with the batch."""
    base = tensor._base if tensor._base is not None else tensor  # a transposed view of the copy is what mm keeps
    fn = base.grad_fn
    if fn is None or type(fn).__name__ != "ToCopyBackward0":
        return False
    return any(hasattr(nxt, "variable") and nxt.variable.untyped_storage().data_ptr() in own
               for nxt, _ in fn.next_functions if nxt is not None)


@functools.lru_cache(maxsize=1)  # one model size at a time (the fitted profiles stay cached)
def _probe_model(sizes_key: tuple, dropout: float | None):
    """UnifiedVoice at these sizes with 2 GPT-2 layers, random weights, the trainer's GELU."""
    import torch
    from tortoise.models.autoregressive import UnifiedVoice
    from ..models.loader import fuse_gelu, set_dropout
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = UnifiedVoice(**{**dict(sizes_key), "layers": 2, "checkpointing": False})
    if dropout is not None:
        set_dropout(model, dropout)
    return fuse_gelu(model).train()


def _measure(model, *, text: int, codes: int, dtype) -> tuple[int, int]:
    import torch
    from ..models.mel import CROP_FRAMES
    g = torch.Generator().manual_seed(text * 1000 + codes)
    cond = torch.randn(1, 2, 80, CROP_FRAMES, generator=g)
    tokens = torch.randint(1, 255, (1, text), generator=g)
    mel_codes = torch.randint(0, 8192, (1, codes), generator=g)
    wav_lengths = torch.tensor([codes * SAMPLES_PER_CODE])  # every code is a real one

    def run():
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            latent = model.get_conditioning(cond)
            model(latent, tokens, torch.tensor([text]), mel_codes, wav_lengths, clip_inputs=False)

    return count_saved_bytes(model, run)


@functools.lru_cache(maxsize=32)
def activation_profile(sizes_key: tuple, *, attention: str = "sdpa", checkpointing: bool = False,
                       precision: str = "fp32", dropout: float | None = None,
                       device: str = "cpu") -> ActivationProfile:
    """Fit the saved-bytes form (module docstring) from measurements of a 2- and a 1-layer model."""
    with _PROBING:
        return _fit_profile(sizes_key, attention=attention, checkpointing=checkpointing, precision=precision,
                            dropout=dropout, device=device)


def _fit_profile(sizes_key: tuple, *, attention: str, checkpointing: bool, precision: str, dropout: float | None,
                 device: str) -> ActivationProfile:
    import numpy as np
    import torch
    from ..models.attention import set_attention
    model = _probe_model(sizes_key, dropout)
    layers_all = model.gpt.h
    set_attention(model, attention)
    model.gpt.gradient_checkpointing = checkpointing
    fused = attention == "sdpa" and device == "cuda"  # CUDA's SDPA kernels take dropout; CPU's do not
    attn_dropout = {block: block.attn.attn_dropout.p for block in layers_all}
    # fp16 and bf16 tensors have the same size; CPU autocast measures both as bf16.
    dtype = None if precision == "fp32" else torch.bfloat16
    rows, values, copies = [], [], {}
    try:
        for block in layers_all:
            block.attn.attn_dropout.p = 0.0 if fused else attn_dropout[block]
        for layers in (2, 1):
            model.gpt.h = layers_all[:layers]
            for text, codes in _PROBES:
                saved, copied = _measure(model, text=text, codes=codes, dtype=dtype)
                positions = text + codes + 5
                rows.append([1, text + 2, codes + 2, layers * positions, layers * positions ** 2])
                values.append(saved)
                copies[layers] = copied
    finally:
        model.gpt.h = layers_all
        model.gpt.gradient_checkpointing = False
        for block in layers_all:
            block.attn.attn_dropout.p = attn_dropout[block]
    c, e_t, e_m, a, b = np.linalg.lstsq(np.array(rows, float), np.array(values, float), rcond=None)[0]
    recompute = (0.0, 0.0)
    if checkpointing:  # the backward pass recomputes one layer at a time, with everything it saves
        full = activation_profile(sizes_key, attention=attention, checkpointing=False, precision=precision,
                                  dropout=dropout, device=device)
        recompute = (full.per_layer_linear, full.per_layer_quadratic)
    codes_vocabulary = int(dict(sizes_key).get("number_mel_codes", 8194))
    return ActivationProfile(per_clip=float(c), per_text_position=float(e_t), per_code_position=float(e_m),
                             per_layer_linear=float(a), per_layer_quadratic=max(0.0, float(b)),
                             weight_copies_base=float(2 * copies[1] - copies[2]),
                             weight_copies_per_layer=float(copies[2] - copies[1]),
                             recompute_linear=recompute[0], recompute_quadratic=recompute[1],
                             backward_per_code_position=2 * 4.0 * codes_vocabulary)


# ---------------------------------------------------------------- fitted profiles kept on disk

def profiles_file(workspace) -> Path:
    return workspace.root / ".cache" / PROFILES_FILE


@functools.lru_cache(maxsize=32)
def stored_profile(sizes_key: tuple, store: Path | None, **options) -> ActivationProfile:
    """activation_profile(sizes_key, **options), kept in the JSON file `store` between processes: a fresh UI
    server's first estimate at TorToiSe's own sizes measures the model for 12.6 CPU-s in fp32, 83 in bf16,
    and the UI is restarted more often than its models change. An entry is keyed by the options and by the
    versions of what the measurement depends on (torch, transformers, TorToiSe, this module's code), so any
    change measures anew. A store that cannot be read or written only costs the measurement."""
    return _stored(store, [sizes_key, sorted(options.items())], lambda: activation_profile(sizes_key, **options),
                   read=lambda value: ActivationProfile(**value), written=dataclasses.asdict)


@functools.lru_cache(maxsize=16)
def stored_counts(sizes_key: tuple, store: Path | None) -> tuple[int, int]:
    """_counts(sizes_key), kept in `store` beside the profiles: building TorToiSe's own model on the meta
    device to count it costs a fresh UI server's first estimate about a CPU-s (more on a busy machine)."""
    return _stored(store, ["counts", sizes_key], lambda: _counts(sizes_key),
                   read=lambda value: tuple(map(int, value)))


def _stored(store: Path | None, entry: list, compute, *, read, written=lambda value: value):
    """compute(), or the value an earlier process stored under `entry` (and the versions the value depends on)
    in the JSON file `store`; `read` and `written` turn the stored form into the value and back."""
    if store is None:
        return compute()
    key = json.dumps([*entry, _measured_with()], default=str)
    with _PROBING:  # one measurement and one write at a time in this process
        try:
            return read(_read_store(store)[key])
        except (KeyError, TypeError, ValueError):  # not stored yet, or stored by a version with another form
            pass
        value = compute()
        stored = _read_store(store)
        stored[key] = written(value)
        try:
            from ..fileio import atomic_write_json
            atomic_write_json(store, stored)
        except OSError:
            pass
    return value


def _read_store(store: Path) -> dict:
    """The stored profiles and parameter counts by key; {} when the file is missing or unreadable."""
    try:
        stored = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


@functools.lru_cache(maxsize=1)
def _measured_with() -> tuple:
    import importlib.metadata

    import torch
    import transformers
    try:
        tortoise = importlib.metadata.version("tortoise-tts")
    except importlib.metadata.PackageNotFoundError:
        tortoise = "unknown"
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return torch.__version__, transformers.__version__, tortoise, code


# ---------------------------------------------------------------- the estimate

def estimate_memory(sizes: dict, *, micro_batch: int, longest: Longest, optimizer: str = "adamw",
                    precision: str = "fp32", attention: str = "sdpa", checkpointing: bool = False,
                    dropout: float | None = None, accumulating: bool = False,
                    device: str = "cpu", profiles: Path | None = None) -> MemoryEstimate:
    """Peak bytes of a training step of UnifiedVoice at `sizes` on micro-batches of `micro_batch` clips
    padded to `longest`, on a "cpu" or "cuda" device. `accumulating`: more than one micro-batch per
    step (on this process), so the earlier ones' gradients are held during the next one. `profiles`: a
    file that keeps the fitted activation profiles between processes (stored_profile)."""
    if optimizer not in OPTIMIZER_BYTES:
        raise ValueError(f"optimizer {optimizer!r} is not one of {', '.join(OPTIMIZER_BYTES)}")
    key = _key(sizes)
    parameters, buffers = stored_counts(key, profiles)
    profile = stored_profile(key, profiles, attention=attention, checkpointing=checkpointing,
                             precision=precision, dropout=dropout, device=device)
    text = min(longest.text_tokens, MAX_TEXT_TOKENS)
    layers = int(sizes.get("layers", 8))
    activations = int(profile.saved_bytes(layers=layers, text=text, codes=longest.codes, clips=micro_batch))
    extra = int(profile.backward_extra_bytes(text=text, codes=longest.codes, clips=micro_batch))
    gradients = 4 * parameters
    if not accumulating:  # the larger of the two holds the peak (module docstring)
        if activations + extra >= gradients:
            gradients = 0
        else:
            activations = extra = 0
    return MemoryEstimate(parameters=parameters, weights=4 * parameters + buffers, gradients=gradients,
                          optimizer=OPTIMIZER_BYTES[optimizer] * parameters, activations=activations,
                          backward_extra=extra, micro_batch=micro_batch, longest=longest)


# ---------------------------------------------------------------- a configuration, a dataset, a device

def dataset_longest(list_file: str | Path) -> Longest | None:
    """The longest clip (samples at 22050 Hz) and text (tokens) of a train.txt; None when it has no readable clip."""
    path = Path(list_file)
    if not path.is_file():
        return None
    stat = path.stat()
    return _dataset_longest(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _dataset_longest(path: str, mtime_ns: int, size: int) -> Longest | None:
    import soundfile
    from tortoise.utils.tokenizer import VoiceBpeTokenizer
    folder = Path(path).parent
    tokenizer = VoiceBpeTokenizer()  # what the trainer's TextTokenizer uses
    samples = text = 0
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        audio, sep, words = line.partition("|")
        if not sep or not words.strip():
            continue
        try:
            info = soundfile.info(str(folder / audio.strip()))
        except (RuntimeError, OSError, soundfile.LibsndfileError):
            continue
        samples = max(samples, min(MAX_SAMPLES, info.frames * 22050 // max(1, info.samplerate)))
        text = max(text, min(MAX_TEXT_TOKENS, len(tokenizer.encode(words.strip()))))
    return Longest(samples, text) if samples else None


@dataclass(frozen=True)
class DeviceMemory:
    kind: str  # "cuda" | "cpu"
    total: int  # bytes
    name: str  # "NVIDIA ... (GPU 0)" or "RAM"

    @property
    def usable(self) -> int:
        return int(self.total * FIT_FRACTION) if self.kind == "cuda" else self.total


def device_memory(device: str = "auto") -> DeviceMemory:
    """The memory training would use: GPU 0's for cuda (and auto with a GPU), else the machine's RAM."""
    import torch
    if device != "cpu" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return DeviceMemory("cuda", int(props.total_memory), f"{props.name} (GPU 0)")
    return DeviceMemory("cpu", _ram_bytes(), "RAM")


def _ram_bytes() -> int:
    try:
        text = Path("/proc/meminfo").read_text()
        return int(re.search(r"MemTotal:\s+(\d+) kB", text).group(1)) * 1024
    except (OSError, AttributeError):
        import os
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def estimate_for_config(cfg, workspace, device: DeviceMemory) -> MemoryEstimate | None:
    """The estimate for a TrainingConfig on `device`; None when its dataset has no readable clip yet."""
    from .. import config as C
    from ..models.files import model_sizes
    longest = dataset_longest(workspace.dataset_dir(cfg.dataset) / "train.txt")
    if longest is None:
        return None
    models_dir, _ = C.resolve_paths(cfg, workspace)
    sizes = model_sizes(models_dir)["autoregressive"]
    micro = max(1, C.micro_batch_size(cfg))
    return estimate_memory(sizes, micro_batch=micro, longest=longest, optimizer=cfg.optimizer.type,
                           precision=cfg.precision, attention=cfg.model.attention,
                           checkpointing=cfg.model.gradient_checkpointing, dropout=cfg.model.dropout,
                           accumulating=cfg.batch_size // C.world_size(cfg) > micro, device=device.kind,
                           profiles=profiles_file(workspace))


def summary(estimate: MemoryEstimate, device: DeviceMemory) -> str:
    """One paragraph for the Configure section."""
    seconds = estimate.longest.samples / 22050
    parts = ", ".join(f"{name} {gib(n)}" for name, n in estimate.parts().items())
    verdict = "fits" if estimate.total <= device.usable else "**will not fit**"
    room = f" ({FIT_FRACTION:.0%} of it usable)" if device.kind == "cuda" else ""
    return (f"Estimated peak memory: **{gib(estimate.total)}** of {gib(device.total)} {device.name}{room}: "
            f"{verdict}. {parts}; micro-batch of {estimate.micro_batch} clips padded to the dataset's longest "
            f"clip ({seconds:.1f} s, {estimate.longest.codes} codes) and text ({estimate.longest.text_tokens} tokens).")


def memory_problems(cfg, workspace, device: DeviceMemory) -> list:
    """A warning with settings that fit when the configuration's estimate exceeds the device's memory."""
    from .. import config as C
    estimate = estimate_for_config(cfg, workspace, device)
    if estimate is None or estimate.total <= device.usable:
        return []
    message = (f"batch_size: the estimated peak memory of {gib(estimate.total)} will not fit in the "
               f"{gib(device.usable)} usable of {device.name}")
    fix = fitting_settings(cfg, workspace, device)
    if fix is None:
        return [C.Problem("batch_size", message + "; nothing tried fits (lower batch_size or use a larger device)",
                          "warning")]
    changes, fitted = fix
    shown = ", ".join(f"{k}: {v}" for k, v in changes.items())
    return [C.Problem("batch_size", f"{message}; with {shown} it is {gib(fitted.total)}", "warning", changes)]


def fitting_settings(cfg, workspace, device: DeviceMemory):
    """(changed keys, estimate) of the least invasive change that fits, or None.

    Tried in order: smaller micro-batches through gradient_accumulation (the same training, a little
    slower), then gradient checkpointing (about a third more compute), then 8-bit AdamW and bf16 on a
    GPU (less exact); each with the largest micro-batch that fits.
    """
    from .. import config as C
    per_process = cfg.batch_size // C.world_size(cfg)
    toggles = [{}, {"model.gradient_checkpointing": True}]
    if device.kind == "cuda":
        toggles += [{**toggles[-1], "optimizer.type": "adamw8bit"},
                    {**toggles[-1], "optimizer.type": "adamw8bit", "precision": "bf16"}]
    else:
        toggles += [{**toggles[-1], "precision": "bf16"}]
    for toggle in toggles:
        for accumulation in [n for n in range(1, per_process + 1) if per_process % n == 0]:
            if accumulation < cfg.gradient_accumulation:
                continue
            changes = {"gradient_accumulation": accumulation, **toggle}
            changes = {k: v for k, v in changes.items() if C.to_flat(cfg)[k] != v}
            if not changes:
                continue
            candidate = C.apply_suggestions(cfg, changes)
            estimate = estimate_for_config(candidate, workspace, device)
            if estimate is not None and estimate.total <= device.usable:
                return changes, estimate
    return None


# ---------------------------------------------------------------- measuring a real peak

class PeakMeter:
    """Peak memory of what runs between start() and peak(): torch.cuda.max_memory_allocated on CUDA;
    on the CPU the process's resident-set high-water mark (reset through /proc/self/clear_refs) above
    what was resident at start(). Run CPU measurements with MALLOC_MMAP_THRESHOLD_=65536 in the
    environment, so that freed blocks go back to the system and resident memory follows live memory."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self.base = 0

    def start(self) -> None:
        import gc
        import torch
        gc.collect()
        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident size
            self.base = _status_bytes("VmRSS")

    def peak(self) -> int:
        """Bytes above start() at the highest point since."""
        import torch
        if self.device == "cuda":
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated() - self.base
        return _status_bytes("VmHWM") - self.base


def _status_bytes(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", text).group(1)) * 1024
