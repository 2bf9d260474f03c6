"""The training configuration: one set of dataclasses for the Configure form, `tortoise-studio config
--set` and train.yaml.

- schema.py: the frozen dataclasses, the allowed values, dict in and out, micro-batch and world size
- files.py: train.yaml in and out (the header comment, load and save with a backup), `--set` overrides
  and resolve_config, what an entry point builds once and then trusts
- paths.py: the workspace of a train.yaml, the models folder and the weights a run starts from
- validation.py: every problem with a configuration (Problem, validate_config, check_config)
- stats.py: the dataset's clip counts and minutes
- suggestions.py: settings suggested for a dataset, applied only when accepted
- schedule.py: counting the schedule's steps (per epoch, in all, milestones); the lr curve is train/optim.py's
- command.py: `tortoise-studio config`

The submodules import each other directly, never through this package, so there is no import cycle;
this module only gathers the names callers use.
"""

from __future__ import annotations

from ..devices import DEVICES
from .files import (CONFIG_FILENAME, ResolvedConfig, apply_overrides, config_yaml, load_config, read_config_file,
                    resolve_config, save_config)
from .paths import resolve_paths, workspace_for_config
from .schedule import steps_per_epoch, total_steps
from .schema import (ATTENTIONS, OPTIMIZERS, PRECISIONS, SCHEDULERS, EvaluationConfig, ModelConfig, OptimizerConfig, SchedulerConfig,
                     TrainingConfig, ValidationConfig, config_from_dict, config_to_dict, default_run_name,
                     flat_fields, from_flat, micro_batch_size, to_flat, world_size)
from .stats import DatasetStats, count_train_clips, dataset_stats
from .suggestions import Suggestion, apply_suggestions, suggest_settings
from .validation import EVALUATION_PRESETS, Problem, check_config, errors_of, validate_config

__all__ = [
    "ModelConfig", "SchedulerConfig", "OptimizerConfig", "ValidationConfig", "EvaluationConfig", "TrainingConfig",
    "Problem", "Suggestion", "DatasetStats", "SCHEDULERS", "OPTIMIZERS", "PRECISIONS", "DEVICES", "ATTENTIONS", "EVALUATION_PRESETS",
    "config_to_dict", "config_from_dict", "load_config", "read_config_file", "save_config", "apply_overrides",
    "workspace_for_config", "resolve_paths", "ResolvedConfig", "resolve_config", "validate_config", "errors_of", "check_config",
    "suggest_settings", "dataset_stats", "micro_batch_size", "world_size", "steps_per_epoch",
    "total_steps", "default_run_name", "flat_fields", "to_flat", "from_flat", "count_train_clips", "apply_suggestions", "config_yaml", "CONFIG_FILENAME",
]
