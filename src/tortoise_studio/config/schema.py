"""The training configuration's schema: frozen dataclasses, the allowed values, dict in and out, and the one
type check (`build`, `coerce`) that makes settings dataclasses, training and generation alike, from plain data.

One set of dataclasses is the single source of truth for the Configure form, `tortoise-studio config
--set` and train.yaml. Keys are docs/design.md's "Training configuration keys".

Batch semantics: `batch_size` is the GLOBAL batch per optimizer step. Each step is split into
`gradient_accumulation x gpus x nodes` micro-batches (`gpus` is per node), so batch_size must divide
evenly; `micro_batch_size(cfg)` is what one process feeds forward at a time. An epoch is
`n_train_clips // batch_size` steps and the schedule spans `steps_per_epoch x epochs` steps
(see schedule.py, which the trainer also uses).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import UserError

SCHEDULERS = ("multistep", "cosine", "constant")
OPTIMIZERS = ("adamw", "adamw8bit")
PRECISIONS = ("fp32", "fp16", "bf16")
ATTENTIONS = ("sdpa", "eager")  # models/attention.py: the same function; sdpa keeps no attention matrices


@dataclass(frozen=True)
class ModelConfig:
    # "base" = <models_dir>/autoregressive.pth; else a path to a fine-tune .pth, a checkpoint's
    # model.pth or a checkpoint folder. Relative paths are taken from the workspace root.
    source: str = "base"
    models_dir: str = "models/tortoise"
    dropout: float | None = None  # None: TorToiSe's own
    gradient_checkpointing: bool = False
    attention: str = "sdpa"  # sdpa | eager: how GPT-2's attention is computed (same function, same weights)


@dataclass(frozen=True)
class SchedulerConfig:
    type: str = "multistep"  # multistep | cosine | constant
    # Multistep milestones in epochs; None = 50%, 75% and 90% of the epochs (scales with them).
    milestones: list[float] | None = None
    gamma: float = 0.5
    restarts: int = 4  # cosine: equal cycles over the whole run
    eta_min: float = 1e-8


@dataclass(frozen=True)
class OptimizerConfig:
    type: str = "adamw"  # adamw | adamw8bit (bitsandbytes)
    betas: list[float] = field(default_factory=lambda: [0.9, 0.96])
    weight_decay: float = 0.01


@dataclass(frozen=True)
class ValidationConfig:
    enabled: bool = True
    every_epochs: int = 5


@dataclass(frozen=True)
class EvaluationConfig:
    """Scoring checkpoints while the run trains (a process of its own; see docs/training.md)."""

    enabled: bool = True
    every_epochs: int | None = None  # None: each checkpoint the trainer saves
    sentences: list[str] | None = None  # None: up to 4 texts of validation.txt (else train.txt)
    preset: str = "ultra_fast"
    seed: int = 0  # sentence n is always sampled from seed + n, so checkpoints are comparable
    whisper_model: str | None = None  # None: the Whisper model in Settings, as Prepare uses
    device: str = "auto"  # auto | cpu | cuda | cuda:N


@dataclass(frozen=True)
class TrainingConfig:
    """Everything a run needs. batch_size is the global batch per optimizer step, split into
    gradient_accumulation x gpus x nodes equal micro-batches; an epoch is n_train_clips // batch_size
    steps; the lr schedule spans steps_per_epoch x epochs steps and max_steps only stops earlier."""

    dataset: str
    model: ModelConfig = field(default_factory=ModelConfig)
    tokenizer: str = "english"  # TorToiSe's own, or a name under models/tokenizers (tortoise-studio tokenizer train)
    epochs: int = 20
    max_steps: int | None = None  # optional cap: stop there with a checkpoint; not part of the schedule
    batch_size: int = 16  # global batch per optimizer step
    gradient_accumulation: int = 1
    learning_rate: float = 1e-5
    text_lr_weight: float = 0.01
    mel_lr_weight: float = 1.0
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    warmup_steps: int = 0
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    grad_clip: float = 4.0
    precision: str = "fp32"  # fp32 | fp16 | bf16
    seed: int = 1234
    save_every_epochs: int = 5
    keep_last: int = 3  # checkpoints kept; 0 keeps all
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    gpus: int = 1  # per node
    nodes: int = 1
    device: str = "auto"  # auto | cuda | cpu
    stall_seconds: float = 900.0  # no completed step for this long -> a "stalled" warning event


def world_size(cfg: TrainingConfig) -> int:
    return max(1, cfg.gpus) * max(1, cfg.nodes)


def micro_batch_size(cfg: TrainingConfig) -> int:
    """Clips one process feeds forward at once: batch_size / (gradient_accumulation x gpus x nodes)."""
    return cfg.batch_size // (max(1, cfg.gradient_accumulation) * world_size(cfg))


def default_run_name() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


# ---------------------------------------------------------------- dict in and out

def config_to_dict(cfg: TrainingConfig) -> dict[str, Any]:
    """Plain dict in field order (lists copied), ready for YAML."""
    return dataclasses.asdict(cfg)


def config_from_dict(data: dict[str, Any]) -> TrainingConfig:
    """Build a TrainingConfig, raising UserError naming the dotted key for unknown keys or wrong types."""
    return build(TrainingConfig, data, "")


def flat_fields(cls: type = None, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, type hint, default) for every leaf key, in YAML order: what a form is built from."""
    cls = cls or TrainingConfig
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            out += flat_fields(hint, f"{prefix}{f.name}.")
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        out.append((prefix + f.name, hint, default))
    return out


def to_flat(cfg: TrainingConfig) -> dict[str, Any]:
    """{dotted key: value} for every leaf key."""
    return {key: _get(cfg, key) for key, _, _ in flat_fields()}


def from_flat(values: dict[str, Any]) -> TrainingConfig:
    """A TrainingConfig from {dotted key: value}; missing keys take their defaults, errors name the key."""
    nested: dict[str, Any] = {}
    for key, value in values.items():
        *sections, name = key.split(".")
        node = nested
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    return config_from_dict(nested)


def _get(cfg: TrainingConfig, key: str) -> Any:
    value: Any = cfg
    for part in key.split("."):
        value = getattr(value, part)
    return value


# ---------------------------------------------------------------- the one type check
# Training settings (train.yaml, the form, --set) and generation settings (generate --set) are frozen
# dataclasses built from plain data here: every value is checked against its field's real annotation.

def build(cls: type, data: Any, prefix: str = ""):
    """An instance of dataclass `cls` from a dict, raising UserError naming the dotted key for unknown
    keys, missing required ones and wrong types."""
    if not isinstance(data, dict):
        raise UserError(f"{prefix.rstrip('.') or 'configuration'}: expected a mapping of keys, got {show(data)}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known:
            raise UserError(f"{prefix}{key}: unknown key (known here: {', '.join(known)})")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = coerce(data[f.name], hints[f.name], f"{prefix}{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise UserError(f"{prefix}{f.name}: missing (required)")
    return cls(**values)


def coerce(value: Any, hint: Any, key: str) -> Any:
    """`value` as type `hint` (bool, int, float, str, lists, nested dataclasses, `X | None`), or UserError."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        hint = next(o for o in options if o is not type(None))
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, key + ".")
    if origin is list:
        if not isinstance(value, list):
            raise UserError(f"{key}: expected a list, got {show(value)}")
        (item,) = typing.get_args(hint)
        return [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{key}: expected true or false, got {show(value)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise UserError(f"{key}: expected a whole number, got {show(value)}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        # YAML 1.1 reads "1e-5" (no dot) as text; accept any text that is a plain number.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise UserError(f"{key}: expected a number, got {show(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # a dataset named 2024 comes out of YAML as a number
        raise UserError(f"{key}: expected text, got {show(value)}")
    raise TypeError(f"{key}: unsupported type {hint!r}")  # a programming error, not user input


def show(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
