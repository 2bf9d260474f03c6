"""Validation of a training configuration against its workspace: every problem names the field, the
value and what is allowed; errors block saving and training, warnings do not."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from dataclasses import dataclass
from typing import Any, Literal

from ..dataset.lists import TRAIN_FILE, VALIDATION_FILE, read_list
from ..devices import DEVICES
from ..errors import UserError
from ..workspace import Workspace
from .paths import resolve_paths
from .schedule import milestone_epochs, total_steps
from .schema import ATTENTIONS, OPTIMIZERS, PRECISIONS, SCHEDULERS, TrainingConfig, _get, world_size


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
    problems += _check_tokenizer(cfg, workspace)
    problems += _check_hardware(cfg)
    problems += _check_evaluation(cfg)
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
                                ("device", cfg.device, DEVICES),
                                ("model.attention", cfg.model.attention, ATTENTIONS)):
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
    ("gpus", 1, True, "at least 1"),
    ("nodes", 1, True, "at least 1"),
    ("seed", 0, True, "0 or more"),
    ("stall_seconds", 0, False, "above 0"),
]


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
    train_txt = folder / TRAIN_FILE
    if not train_txt.is_file():
        where = "does not exist" if not folder.is_dir() else "has no train.txt"
        return out + [_error("dataset", f"dataset: {cfg.dataset!r} {where} in {workspace.training}; "
                                        "prepare it first (a train.txt of `audio/<file>.wav|<text>` lines)")]
    entries, skipped = read_list(train_txt)
    n_train = len(entries)
    if n_train == 0:
        why = f"; {skipped[0].where}: {skipped[0].reason}" if skipped else ""
        return out + [_error("dataset", f"dataset: {cfg.dataset!r} has no usable line in train.txt ({train_txt}){why}; "
                                        "it needs at least one `audio/<file>.wav|<text>` line")]
    if cfg.batch_size > n_train:
        suggestion = {"batch_size": n_train // unit * unit} if n_train >= unit else {"batch_size": n_train, "gradient_accumulation": 1, "gpus": 1, "nodes": 1}
        out.append(_error("batch_size", f"batch_size: {cfg.batch_size} is more than the {n_train} training clips of "
                                        f"{cfg.dataset!r}; must be at most {n_train} (an epoch drops the incomplete batch)",
                          suggestion))
    if cfg.validation.enabled and not read_list(folder / VALIDATION_FILE)[0]:
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


UNKNOWN_TOKENS_WARNING = 0.01  # share of a dataset's tokens that may be [UNK] before validation warns


def _check_tokenizer(cfg: TrainingConfig, workspace: Workspace) -> list[Problem]:
    from .. import text
    try:
        tokenizer = text.load_tokenizer(workspace, cfg.tokenizer)
    except UserError as exc:
        return [_error("tokenizer", str(exc) if str(exc).startswith("tokenizer") else f"tokenizer: {exc}")]
    out = []
    models_dir, weights = resolve_paths(cfg, workspace)
    # a fine-tune that recorded its tokenizer (the base model and older fine-tunes are English: switching is the point)
    try:
        record = text.read_record(weights) if weights is not None and weights.is_file() else None
    except UserError as exc:
        return [_error("model.source", f"model.source: {exc}")]
    trained_with = record.name if record else cfg.tokenizer
    if trained_with != cfg.tokenizer:
        out.append(_warning("tokenizer", f"tokenizer: {cfg.tokenizer!r}, but model.source {cfg.model.source!r} was "
                                         f"trained with {trained_with!r}; its text embedding has to learn the new "
                                         f"symbols again", {"tokenizer": trained_with}))
    try:
        from ..models.files import model_sizes
        symbols = int(model_sizes(models_dir)["autoregressive"].get("number_text_tokens", 255))
    except UserError:
        symbols = None  # an unreadable models.yaml is reported where the model is loaded
    if symbols is not None and tokenizer.size > symbols:
        out.append(_error("tokenizer", f"tokenizer: {cfg.tokenizer!r} has ids up to {tokenizer.size - 1}, but the "
                                       f"model in {models_dir} has {symbols} text symbols (ids 0 to {symbols - 1}); "
                                       f"train it again with --vocab-size {symbols} or less"))
    if cfg.tokenizer != text.ENGLISH and cfg.text_lr_weight != 1:
        out.append(_warning("text_lr_weight", f"text_lr_weight: {cfg.text_lr_weight} with tokenizer {cfg.tokenizer!r}: "
                                              "the model has to learn what its text symbols mean in a new language, so "
                                              "weigh the text loss fully (1; the predecessor's guide gives the same "
                                              "advice for non-Latin languages)", {"text_lr_weight": 1.0}))
    try:
        folder = workspace.dataset_dir(cfg.dataset)
    except UserError:
        return out  # the dataset check names it
    language = text.dataset_language(folder)
    if language and language != tokenizer.language:
        out.append(_warning("tokenizer", f"tokenizer: {cfg.tokenizer!r} is for {tokenizer.language!r} text, but dataset "
                                         f"{cfg.dataset!r} is {language!r}"
                                         + (" (TorToiSe's English cleaners turn other scripts into ASCII)"
                                            if cfg.tokenizer == text.ENGLISH else "")
                                         + f"; train one with `tortoise-studio tokenizer train {cfg.dataset}`"))
    found = text.dataset_coverage(tokenizer, folder)
    if found.unknown_share > UNKNOWN_TOKENS_WARNING:
        out.append(_warning("tokenizer", f"tokenizer: {found.unknown_share:.1%} of dataset {cfg.dataset!r}'s tokens would "
                                         f"be [UNK] under {cfg.tokenizer!r} (symbols it lacks: {found.top_symbols()}); "
                                         f"the trainer skips those {found.lines_with_unknown} of {found.lines} lines"))
    return out


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


EVALUATION_PRESETS = ("ultra_fast", "fast", "standard", "high_quality")  # the synthesizer's PRESETS (numpy-free here)


def _check_evaluation(cfg: TrainingConfig) -> list[Problem]:
    ev, out = cfg.evaluation, []
    if ev.every_epochs is not None and ev.every_epochs < 1:
        out.append(_error("evaluation.every_epochs", f"evaluation.every_epochs: {ev.every_epochs} is not allowed; "
                                                     "must be at least 1, or empty to score each checkpoint"))
    if ev.sentences is not None and (not ev.sentences or not all(s.strip() for s in ev.sentences)):
        out.append(_error("evaluation.sentences", "evaluation.sentences: must be a list of non-empty sentences, "
                                                  "or empty to use up to 4 validation texts"))
    if ev.preset not in EVALUATION_PRESETS:
        out.append(_error("evaluation.preset", f"evaluation.preset: {ev.preset!r} is not one of "
                                               f"{', '.join(EVALUATION_PRESETS)}", {"evaluation.preset": "ultra_fast"}))
    if ev.seed < 0:
        out.append(_error("evaluation.seed", f"evaluation.seed: {ev.seed} is not allowed; must be 0 or more"))
    if ev.whisper_model is not None and not ev.whisper_model.strip():
        out.append(_error("evaluation.whisper_model", "evaluation.whisper_model: must name a Whisper model or a "
                                                      "local path, or be empty for the one in Settings"))
    if not (ev.device in DEVICES or (ev.device.startswith("cuda:") and ev.device[5:].isdigit())):
        out.append(_error("evaluation.device", f"evaluation.device: {ev.device!r} is not one of auto, cpu, cuda, "
                                               "cuda:N (N a GPU number)"))
    return out
