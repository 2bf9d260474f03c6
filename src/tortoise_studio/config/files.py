"""train.yaml in and out: the YAML text with its header comment, reading and saving the file."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError
from ..fileio import atomic_write_text, backup_copy
from ..overrides import show
from ..workspace import RUN_CONFIG_FILE
from .schema import TrainingConfig, config_from_dict, config_to_dict

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
