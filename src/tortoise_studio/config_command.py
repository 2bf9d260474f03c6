"""`tortoise-studio config DATASET [--run NAME] [--from YAML] [--set KEY=VALUE ...]`."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from .config import (CONFIG_FILENAME, TrainingConfig, apply_overrides, check_config, default_run_name,
                     load_config, save_config)
from .workspace import Workspace, safe_name


def config_command(args: argparse.Namespace, workspace: Workspace) -> int:
    """Write training/<DATASET>/runs/<run>/train.yaml and print its path; invalid input raises UserError."""
    dataset = safe_name(args.dataset, what="dataset")
    run = safe_name(args.run or default_run_name(), what="run")
    if args.from_yaml:
        cfg = dataclasses.replace(load_config(args.from_yaml), dataset=dataset)
    else:
        cfg = TrainingConfig(dataset=dataset)
    cfg = apply_overrides(cfg, args.overrides)
    for warning in check_config(cfg, workspace):
        print(f"warning: {warning.message}", file=sys.stderr)
    path = save_config(cfg, workspace.run_dir(cfg.dataset, run) / CONFIG_FILENAME)
    print(path)
    return 0
