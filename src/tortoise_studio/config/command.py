"""`tortoise-studio config DATASET [--run NAME] [--from YAML] [--set KEY=VALUE ...]`."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from ..settings import load_settings
from ..workspace import Workspace, safe_name
from .files import CONFIG_FILENAME, apply_overrides, read_config_file, save_config
from .schema import TrainingConfig, default_run_name
from .validation import check_config


def config_command(args: argparse.Namespace, workspace: Workspace) -> int:
    """Write training/<DATASET>/runs/<run>/train.yaml and print its path; invalid input raises UserError."""
    dataset = safe_name(args.dataset, what="dataset")
    run = safe_name(args.run or default_run_name(), what="run")
    data: dict = {}
    if args.from_yaml:
        cfg, data = read_config_file(args.from_yaml)  # the file is read and parsed once
        cfg = dataclasses.replace(cfg, dataset=dataset)
    else:
        cfg = TrainingConfig(dataset=dataset)
    if "models_dir" not in (data.get("model") or {}):
        # the models folder the user chose in Settings, as the UI's Configure form starts with
        models_dir = load_settings(workspace).models_dir
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, models_dir=models_dir))
    cfg = apply_overrides(cfg, args.overrides)  # --set model.models_dir=... still wins
    for warning in check_config(cfg, workspace):
        print(f"warning: {warning.message}", file=sys.stderr)
    path = save_config(cfg, workspace.run_dir(cfg.dataset, run) / CONFIG_FILENAME)
    print(path)
    return 0

