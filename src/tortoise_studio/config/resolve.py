"""A run's configuration resolved once per entry point: parsed, `--set` overrides applied, validated,
its paths found."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..overrides import parse_assignment, set_dotted
from ..workspace import Workspace
from .files import load_config
from .paths import resolve_paths, workspace_for_config
from .schema import TrainingConfig, config_from_dict, config_to_dict
from .validation import Problem, check_config


def apply_overrides(cfg: TrainingConfig, overrides: list[str]) -> TrainingConfig:
    """Apply `dotted.key=value` strings; values are parsed as YAML scalars or lists (`[1, 2]`)."""
    data = config_to_dict(cfg)
    for item in overrides:
        set_dotted(data, *parse_assignment(item))
    return config_from_dict(data)


@dataclass(frozen=True)
class ResolvedConfig:
    """A run's configuration parsed once, validated once, its paths resolved: what an entry point (the
    launcher, the trainer) builds at its start and then trusts, never re-deriving any of it."""

    path: Path  # the train.yaml
    cfg: TrainingConfig  # with the --set overrides applied
    workspace: Workspace
    dataset_dir: Path
    models_dir: Path
    weights: Path  # what training starts from when it does not resume
    warnings: tuple[Problem, ...] = ()


def resolve_config(path: str | os.PathLike, overrides: list[str] | tuple = ()) -> ResolvedConfig:
    """Parse `path`, apply `overrides`, validate (once: raising UserError naming the file with every
    error) and resolve the paths."""
    path = Path(path)
    workspace = workspace_for_config(path)
    try:
        cfg = apply_overrides(load_config(path), list(overrides))
        warnings = check_config(cfg, workspace)
    except UserError as exc:
        raise UserError(str(exc) if str(path) in str(exc) else f"{path}: {exc}") from exc
    models_dir, weights = resolve_paths(cfg, workspace)
    return ResolvedConfig(path=path, cfg=cfg, workspace=workspace, dataset_dir=workspace.dataset_dir(cfg.dataset),
                          models_dir=models_dir, weights=weights, warnings=tuple(warnings))
