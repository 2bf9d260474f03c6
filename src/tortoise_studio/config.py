"""The training configuration: dataclasses, YAML in and out, overrides, validation, suggestions.

One set of dataclasses is the single source of truth for the Configure form, `tortoise-studio config
--set` and train.yaml. Keys are DESIGN.md's "Training configuration keys".

Batch semantics: `batch_size` is the GLOBAL batch per optimizer step. Each step is split into
`gradient_accumulation x gpus x nodes` micro-batches (`gpus` is per node), so batch_size must divide
evenly; `micro_batch_size(cfg)` is what one process feeds forward at a time. An epoch is
`n_train_clips // batch_size` steps and the schedule spans `steps_per_epoch x epochs` steps
(see schedule.py, which the trainer also uses).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
import shlex
import shutil
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import UserError
from .schedule import milestone_epochs, steps_per_epoch, total_steps
from .workspace import Workspace, default_root

__all__ = [
    "ModelConfig", "SchedulerConfig", "OptimizerConfig", "ValidationConfig", "TrainingConfig",
    "Problem", "Suggestion", "DatasetStats", "SCHEDULERS", "OPTIMIZERS", "PRECISIONS", "DEVICES",
    "config_to_dict", "config_from_dict", "load_config", "save_config", "apply_overrides",
    "workspace_for_config", "resolve_paths", "validate_config", "errors_of", "check_config",
    "suggest_settings", "dataset_stats", "micro_batch_size", "world_size", "steps_per_epoch",
    "total_steps", "default_run_name", "flat_fields", "to_flat", "from_flat", "count_train_clips", "apply_suggestions", "config_yaml", "CONFIG_FILENAME",
]

SCHEDULERS = ("multistep", "cosine", "constant")
OPTIMIZERS = ("adamw", "adamw8bit")
PRECISIONS = ("fp32", "fp16", "bf16")
DEVICES = ("auto", "cuda", "cpu")
CONFIG_FILENAME = "train.yaml"
BASE_WEIGHTS = "autoregressive.pth"


@dataclass(frozen=True)
class ModelConfig:
    # "base" = <models_dir>/autoregressive.pth; else a path to a fine-tune .pth, a checkpoint's
    # model.pth or a checkpoint folder. Relative paths are taken from the workspace root.
    source: str = "base"
    models_dir: str = "models/tortoise"
    dropout: float | None = None  # None: TorToiSe's own
    gradient_checkpointing: bool = False


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
class TrainingConfig:
    """Everything a run needs. batch_size is the global batch per optimizer step, split into
    gradient_accumulation x gpus x nodes equal micro-batches; an epoch is n_train_clips // batch_size
    steps; the lr schedule spans steps_per_epoch x epochs steps and max_steps only stops earlier."""

    dataset: str
    model: ModelConfig = field(default_factory=ModelConfig)
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
    workers: int = 2
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


# ---------------------------------------------------------------- dict and YAML in and out

def config_to_dict(cfg: TrainingConfig) -> dict[str, Any]:
    """Plain dict in field order (lists copied), ready for YAML."""
    return dataclasses.asdict(cfg)


def config_from_dict(data: dict[str, Any]) -> TrainingConfig:
    """Build a TrainingConfig, raising UserError naming the dotted key for unknown keys or wrong types."""
    return _build(TrainingConfig, data, "")


def _build(cls: type, data: Any, prefix: str):
    if not isinstance(data, dict):
        raise UserError(f"{prefix.rstrip('.') or 'configuration'}: expected a mapping of keys, got {_show(data)}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known:
            raise UserError(f"{prefix}{key}: unknown key (known here: {', '.join(known)})")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _coerce(data[f.name], hints[f.name], f"{prefix}{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise UserError(f"{prefix}{f.name}: missing (required)")
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        hint = next(o for o in options if o is not type(None))
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".")
    if origin is list:
        if not isinstance(value, list):
            raise UserError(f"{key}: expected a list, got {_show(value)}")
        (item,) = typing.get_args(hint)
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{key}: expected true or false, got {_show(value)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise UserError(f"{key}: expected a whole number, got {_show(value)}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        # YAML 1.1 reads "1e-5" (no dot) as text; accept any text that is a plain number.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise UserError(f"{key}: expected a number, got {_show(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # a dataset named 2024 comes out of YAML as a number
        raise UserError(f"{key}: expected text, got {_show(value)}")
    raise TypeError(f"{key}: unsupported type {hint!r}")  # a programming error, not user input


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else type(value).__name__


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


def config_yaml(cfg: TrainingConfig, path: str | os.PathLike | None = None) -> str:
    """The YAML text save_config writes, with a header showing the command that runs it."""
    target = str(path) if path is not None else f"training/{cfg.dataset}/runs/<run>/{CONFIG_FILENAME}"
    header = (f"# Training configuration for dataset {cfg.dataset!r} (Tortoise Studio). Train with:\n"
              f"#   tortoise-studio train {shlex.quote(target) if path is not None else target}\n"
              "# Override any key with --set key=value. scheduler.milestones: null = 50%, 75%, 90% of epochs;\n"
              "# model.dropout: null = TorToiSe's own; max_steps: null = no cap; keep_last: 0 = keep all.\n")
    return header + yaml.dump(config_to_dict(cfg), Dumper=_Dumper, sort_keys=False, allow_unicode=True)


class _Dumper(yaml.SafeDumper):
    """Block-style mappings, one-line lists ([0.9, 0.96]): easy to read and to edit by hand."""


_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=True))


def load_config(path: str | os.PathLike) -> TrainingConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of configuration keys, got {_show(data)}")
    try:
        return config_from_dict(data)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from exc


def save_config(cfg: TrainingConfig, path: str | os.PathLike) -> Path:
    """Write `cfg` as YAML. An existing file is first copied to <name>.bak-<timestamp>."""
    path = Path(path)
    text = config_yaml(cfg, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        shutil.copy2(path, _backup_name(path))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # atomic: a crash never leaves half a configuration
    return path


def _backup_name(path: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.bak-{stamp}")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{n}")
        n += 1
    return candidate


def apply_overrides(cfg: TrainingConfig, overrides: list[str]) -> TrainingConfig:
    """Apply `dotted.key=value` strings; values are parsed as YAML scalars or lists (`[1, 2]`)."""
    data = config_to_dict(cfg)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. scheduler.type=cosine")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise UserError(f"{key}: cannot read value {raw!r} ({' '.join(str(exc).split())})") from exc
        _set_dotted(data, key, value)
    return config_from_dict(data)


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            raise UserError(f"{'.'.join(parts[:i + 1])}: unknown section (in --set {key})")
        node = child
    if parts[-1] not in node:
        raise UserError(f"{key}: unknown key")
    node[parts[-1]] = value


# ---------------------------------------------------------------- where things are

def workspace_for_config(config_path: str | os.PathLike) -> Workspace:
    """The workspace of a run's train.yaml (<root>/training/<dataset>/runs/<run>/train.yaml), else the default."""
    path = Path(config_path).expanduser().resolve()
    parents = path.parents
    if len(parents) > 4 and parents[1].name == "runs" and parents[3].name == "training":
        return Workspace(parents[4])
    return Workspace(default_root())


def _from_root(value: str, workspace: Workspace) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else workspace.root / path


def resolve_paths(cfg: TrainingConfig, workspace: Workspace) -> tuple[Path, Path | None]:
    """(models_dir, weights to start from). Relative paths are taken from the workspace root;
    a checkpoint folder stands for its model.pth. The weights path is always set today."""
    models_dir = _from_root(cfg.model.models_dir, workspace)
    if cfg.model.source == "base":
        return models_dir, models_dir / BASE_WEIGHTS
    weights = _from_root(cfg.model.source, workspace)
    if weights.is_dir():
        weights = weights / "model.pth"
    return models_dir, weights


# ---------------------------------------------------------------- the dataset it trains on

@dataclass(frozen=True)
class DatasetStats:
    n_train: int
    n_validation: int
    train_minutes: float  # 0.0 when the clips cannot be read


def _list_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if "|" in line and line.strip()]


def count_train_clips(workspace: Workspace, dataset: str) -> int:
    """Lines of training/<dataset>/train.txt (0 when there is none)."""
    return len(_list_lines(workspace.dataset_dir(dataset) / "train.txt"))


def dataset_stats(workspace: Workspace, dataset: str) -> DatasetStats:
    """Clip counts from train.txt / validation.txt, minutes from the train clips' headers."""
    folder = workspace.dataset_dir(dataset)
    train = _list_lines(folder / "train.txt")
    seconds = 0.0
    import soundfile  # header reads only; cheap

    for line in train:
        try:
            info = soundfile.info(str(folder / line.split("|", 1)[0]))
            seconds += info.frames / info.samplerate
        except (RuntimeError, OSError, soundfile.LibsndfileError):
            continue
    return DatasetStats(len(train), len(_list_lines(folder / "validation.txt")), seconds / 60.0)


# ---------------------------------------------------------------- validation

@dataclass(frozen=True)
class Problem:
    field: str  # dotted key
    message: str  # names the field, the value and what is allowed
    severity: Literal["error", "warning"] = "error"
    suggestion: dict[str, Any] | None = None  # values to offer the user; never applied silently


def errors_of(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def check_config(cfg: TrainingConfig, workspace: Workspace) -> list[Problem]:
    """validate_config, raising UserError with every error's message when there is any; returns warnings."""
    problems = validate_config(cfg, workspace)
    errors = errors_of(problems)
    if errors:
        raise UserError("; ".join(p.message for p in errors))
    return problems


def validate_config(cfg: TrainingConfig, workspace: Workspace) -> list[Problem]:
    """Every problem with `cfg` for this workspace: errors block saving, warnings do not."""
    problems: list[Problem] = []
    problems += _check_names(cfg)
    problems += _check_ranges(cfg)
    problems += _check_dataset_and_batch(cfg, workspace)
    problems += _check_schedule(cfg)
    problems += _check_model(cfg, workspace)
    problems += _check_hardware(cfg)
    return problems


def _error(field: str, message: str, suggestion: dict | None = None) -> Problem:
    return Problem(field, message, "error", suggestion)


def _warning(field: str, message: str, suggestion: dict | None = None) -> Problem:
    return Problem(field, message, "warning", suggestion)


def _check_names(cfg: TrainingConfig) -> list[Problem]:
    out = []
    for key, value, allowed in (("scheduler.type", cfg.scheduler.type, SCHEDULERS),
                                ("optimizer.type", cfg.optimizer.type, OPTIMIZERS),
                                ("precision", cfg.precision, PRECISIONS),
                                ("device", cfg.device, DEVICES)):
        if value not in allowed:
            out.append(_error(key, f"{key}: {value!r} is not one of {', '.join(allowed)}"))
    return out


# (dotted key, lowest allowed, whether the lowest is allowed itself, what to say)
_LOWER_BOUNDS = [
    ("epochs", 1, True, "at least 1"),
    ("batch_size", 1, True, "at least 1"),
    ("gradient_accumulation", 1, True, "at least 1"),
    ("learning_rate", 0, False, "above 0"),
    ("text_lr_weight", 0, True, "0 or more"),
    ("mel_lr_weight", 0, True, "0 or more"),
    ("scheduler.gamma", 0, False, "above 0 (0.5 halves the lr at each milestone)"),
    ("scheduler.restarts", 1, True, "at least 1"),
    ("scheduler.eta_min", 0, True, "0 or more"),
    ("warmup_steps", 0, True, "0 or more"),
    ("optimizer.weight_decay", 0, True, "0 or more"),
    ("grad_clip", 0, False, "above 0"),
    ("save_every_epochs", 1, True, "at least 1"),
    ("keep_last", 0, True, "0 (keep all) or more"),
    ("validation.every_epochs", 1, True, "at least 1"),
    ("workers", 0, True, "0 or more"),
    ("gpus", 1, True, "at least 1"),
    ("nodes", 1, True, "at least 1"),
    ("seed", 0, True, "0 or more"),
    ("stall_seconds", 0, False, "above 0"),
]


def _get(cfg: TrainingConfig, key: str) -> Any:
    value: Any = cfg
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _check_ranges(cfg: TrainingConfig) -> list[Problem]:
    out = []
    for key, low, inclusive, allowed in _LOWER_BOUNDS:
        value = _get(cfg, key)
        if isinstance(value, float) and not math.isfinite(value):
            out.append(_error(key, f"{key}: {value} is not a finite number; must be {allowed}"))
        elif value < low or (value == low and not inclusive):
            out.append(_error(key, f"{key}: {value} is not allowed; must be {allowed}"))
    if cfg.max_steps is not None and cfg.max_steps < 1:
        out.append(_error("max_steps", f"max_steps: {cfg.max_steps} is not allowed; must be at least 1, or empty for no cap"))
    if cfg.text_lr_weight == 0 and cfg.mel_lr_weight == 0:
        out.append(_error("mel_lr_weight", "mel_lr_weight: 0 together with text_lr_weight 0 leaves nothing to learn; "
                                           "set mel_lr_weight to 1.0", {"mel_lr_weight": 1.0}))
    if cfg.model.dropout is not None and not 0 <= cfg.model.dropout < 1:
        out.append(_error("model.dropout", f"model.dropout: {cfg.model.dropout} is not allowed; must be from 0 up to "
                                           "(not including) 1, or empty for TorToiSe's own"))
    betas = cfg.optimizer.betas
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        out.append(_error("optimizer.betas", f"optimizer.betas: {betas} is not allowed; must be two numbers from 0 "
                                             "up to (not including) 1, e.g. [0.9, 0.96]", {"optimizer.betas": [0.9, 0.96]}))
    if 1 < cfg.scheduler.gamma:
        out.append(_warning("scheduler.gamma", f"scheduler.gamma: {cfg.scheduler.gamma} raises the learning rate at "
                                               "each milestone; values below 1 lower it (0.5 halves it)"))
    return out


def _round_batch(n: int, unit: int) -> int:
    """The largest multiple of `unit` that is at most n (at least `unit`)."""
    return max(unit, n // unit * unit)


def _check_dataset_and_batch(cfg: TrainingConfig, workspace: Workspace) -> list[Problem]:
    out = []
    unit = max(1, cfg.gradient_accumulation) * world_size(cfg)
    if cfg.batch_size >= 1 and cfg.batch_size % unit:
        out.append(_error("batch_size", f"batch_size: {cfg.batch_size} does not split into gradient_accumulation "
                                        f"x gpus x nodes = {unit} equal micro-batches; use a multiple of {unit}",
                          {"batch_size": _round_batch(cfg.batch_size, unit)}))
    try:
        folder = workspace.dataset_dir(cfg.dataset)
    except UserError as exc:
        return out + [_error("dataset", str(exc))]  # safe_name's message already starts with "dataset"
    train_txt = folder / "train.txt"
    if not train_txt.is_file():
        where = "does not exist" if not folder.is_dir() else "has no train.txt"
        return out + [_error("dataset", f"dataset: {cfg.dataset!r} {where} in {workspace.training}; "
                                        "prepare it first (a train.txt of `audio/<file>.wav|<text>` lines)")]
    n_train = len(_list_lines(train_txt))
    if n_train == 0:
        return out + [_error("dataset", f"dataset: {cfg.dataset!r} has an empty train.txt ({train_txt}); "
                                        "it needs at least one `audio/<file>.wav|<text>` line")]
    if cfg.batch_size > n_train:
        suggestion = {"batch_size": n_train // unit * unit} if n_train >= unit else {"batch_size": n_train, "gradient_accumulation": 1, "gpus": 1, "nodes": 1}
        out.append(_error("batch_size", f"batch_size: {cfg.batch_size} is more than the {n_train} training clips of "
                                        f"{cfg.dataset!r}; must be at most {n_train} (an epoch drops the incomplete batch)",
                          suggestion))
    if cfg.validation.enabled and not _list_lines(folder / "validation.txt"):
        out.append(_warning("validation.enabled", f"validation.enabled: true, but {cfg.dataset!r} has no validation "
                                                  "clips (validation.txt is missing or empty); validation will be skipped",
                            {"validation.enabled": False}))
    if 0 < cfg.batch_size <= n_train and cfg.epochs > 0:
        steps = total_steps(cfg, n_train)
        if cfg.warmup_steps >= steps > 0:
            out.append(_warning("warmup_steps", f"warmup_steps: {cfg.warmup_steps} is not shorter than the whole run "
                                                f"({steps} steps); the lr never reaches learning_rate"))
        if cfg.max_steps is not None and cfg.max_steps > steps:
            out.append(_warning("max_steps", f"max_steps: {cfg.max_steps} is beyond the run's {steps} steps "
                                             f"({cfg.epochs} epochs); training ends at step {steps}"))
    return out


def _check_schedule(cfg: TrainingConfig) -> list[Problem]:
    milestones = cfg.scheduler.milestones
    if milestones is None or cfg.scheduler.type != "multistep":
        return []
    out = []
    outside = [m for m in milestones if not 0 <= m <= cfg.epochs]
    if outside:
        out.append(_error("scheduler.milestones", f"scheduler.milestones: {outside} outside 0..{cfg.epochs} (epochs); "
                                                  "each milestone must be an epoch from 0 to epochs",
                          {"scheduler.milestones": None}))
    elif any(b <= a for a, b in zip(milestones, milestones[1:])):
        out.append(_error("scheduler.milestones", f"scheduler.milestones: {milestones} are not increasing; list each "
                                                  "epoch once, smallest first",
                          {"scheduler.milestones": sorted(set(milestones))}))
    if not out and milestones and cfg.epochs >= 8 and milestones[0] < 0.25 * cfg.epochs:
        auto = milestone_epochs(dataclasses.replace(cfg, scheduler=dataclasses.replace(cfg.scheduler, milestones=None)))
        out.append(_warning("scheduler.milestones", f"scheduler.milestones: {milestones} start decaying the lr in the "
                                                    f"first quarter of {cfg.epochs} epochs; empty means {auto}",
                            {"scheduler.milestones": None}))
    return out


def _check_model(cfg: TrainingConfig, workspace: Workspace) -> list[Problem]:
    models_dir, weights = resolve_paths(cfg, workspace)
    if weights is not None and not weights.is_file():
        what = f"base model {weights}" if cfg.model.source == "base" else str(weights)
        hint = ("put TorToiSe's weights there (tortoise-studio download-models) or set model.models_dir"
                if cfg.model.source == "base" else "give a fine-tune .pth, a checkpoint's model.pth, or 'base'")
        return [_error("model.source", f"model.source: {cfg.model.source!r}: {what} not found; {hint}")]
    return []


def _check_hardware(cfg: TrainingConfig) -> list[Problem]:
    out = []
    if cfg.optimizer.type == "adamw8bit" and importlib.util.find_spec("bitsandbytes") is None:
        out.append(_error("optimizer.type", "optimizer.type: 'adamw8bit' needs bitsandbytes, which is not installed; "
                                            "use adamw (or pip install bitsandbytes on a CUDA machine)",
                          {"optimizer.type": "adamw"}))
    if cfg.device == "cpu" and cfg.precision == "fp16":
        out.append(_error("precision", "precision: 'fp16' is not supported with device 'cpu'; use fp32 (or bf16)",
                          {"precision": "fp32"}))
    if cfg.device == "cpu" and cfg.precision == "bf16":
        out.append(_warning("precision", "precision: 'bf16' on device 'cpu' works but is usually slower than fp32"))
    if cfg.device == "cpu" and cfg.optimizer.type == "adamw8bit":
        out.append(_error("optimizer.type", "optimizer.type: 'adamw8bit' needs a CUDA device, not device 'cpu'",
                          {"optimizer.type": "adamw"}))
    return out


# ---------------------------------------------------------------- suggestions

@dataclass(frozen=True)
class Suggestion:
    field: str
    value: Any
    reason: str


# Largest micro-batch that fits comfortably: TorToiSe's 421 M-parameter model takes ~18-21 GB at
# batch 4 on CPU (measured), and a 24 GB GPU holds about 16 short clips in fp32.
_MICRO_BATCH = {"cuda": 16, "cpu": 2}
_GLOBAL_BATCH = {"cuda": 128, "cpu": 16}  # the predecessor's 128 on GPU; CPU steps are slow
_TARGET_STEPS = {"cuda": 1000, "cpu": 200}


def suggest_settings(n_clips: int, total_minutes: float, device: str) -> list[Suggestion]:
    """Batch size, gradient accumulation, epochs, save and validation frequency for a dataset."""
    kind = "cpu" if device == "cpu" else "cuda"
    n = max(1, n_clips)
    cap = _GLOBAL_BATCH[kind]
    batch = 2 ** int(math.log2(min(cap, n)))  # a power of two splits evenly into micro-batches
    accumulation = max(1, batch // _MICRO_BATCH[kind])
    per_epoch = max(1, n // batch)
    epochs = min(500, max(5, math.ceil(_TARGET_STEPS[kind] / per_epoch)))
    save_every = max(1, epochs // 5)
    validate_every = max(1, epochs // 10)
    where = "a GPU" if kind == "cuda" else "the CPU"
    return [
        Suggestion("batch_size", batch,
                   f"{n_clips} clips ({total_minutes:.1f} min): the largest power of two up to the clip count and "
                   f"{cap} on {where}, giving {per_epoch} full step(s) per epoch"),
        Suggestion("gradient_accumulation", accumulation,
                   f"splits each batch of {batch} into micro-batches of {batch // accumulation} "
                   f"(about {_MICRO_BATCH[kind]} fit in memory on {where})"),
        Suggestion("epochs", epochs,
                   f"{epochs * per_epoch} optimizer steps in total ({per_epoch} per epoch), aiming at about "
                   f"{_TARGET_STEPS[kind]} on {where}: enough to adapt TorToiSe without memorising a small dataset "
                   "(kept within 5 to 500 epochs)"),
        Suggestion("save_every_epochs", save_every, f"about 5 checkpoints over {epochs} epochs"),
        Suggestion("validation.every_epochs", validate_every,
                   f"about 10 validation points over {epochs} epochs, enough to see overfitting early"),
    ]


def apply_suggestions(cfg: TrainingConfig, values: dict[str, Any]) -> TrainingConfig:
    """`cfg` with dotted keys set from `values` (what the user accepted), type-checked like YAML."""
    data = config_to_dict(cfg)
    for key, value in values.items():
        _set_dotted(data, key, value)
    return config_from_dict(data)

