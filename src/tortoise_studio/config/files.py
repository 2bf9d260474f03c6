"""train.yaml in and out: the YAML text with its header comment, reading and saving the file, and
resolve_config, the one parse and one validation each entry point (launcher, trainer) makes and then trusts."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError
from ..fileio import atomic_write_text, backup_copy
from ..overrides import parse_assignment, set_dotted
from ..workspace import RUN_CONFIG_FILE, Workspace
from .paths import resolve_paths, workspace_for_config
from .schema import TrainingConfig, config_from_dict, config_to_dict, show
from .validation import Problem, check_config

CONFIG_FILENAME = RUN_CONFIG_FILE


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


# Keys older versions wrote that no longer do anything: a file holding one still loads, with a note.
RETIRED_KEYS = {"workers": "clips are decoded once into the feature cache, so there are no data loader workers"}


def load_config(path: str | os.PathLike) -> TrainingConfig:
    """Parse and type-check a train.yaml (errors name the file and the key); retired keys are ignored
    with a note on stderr."""
    return read_config_file(path)[0]


def read_config_file(path: str | os.PathLike) -> tuple[TrainingConfig, dict[str, Any]]:
    """load_config, and the mapping the file holds (to tell which keys it sets itself)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of configuration keys, got {show(data)}")
    for key in RETIRED_KEYS.keys() & data.keys():
        del data[key]
        print(f"note: {path}: `{key}` is no longer used and is ignored ({RETIRED_KEYS[key]})", file=sys.stderr)
    try:
        return config_from_dict(data), data
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from exc


def save_config(cfg: TrainingConfig, path: str | os.PathLike) -> Path:
    """Write `cfg` as YAML. An existing file is first copied to backups/<timestamp>/ beside it."""
    path = Path(path)
    text = config_yaml(cfg, path)
    backup_copy(path.parent, [path.name])
    return atomic_write_text(path, text)


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
