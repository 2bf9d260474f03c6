"""The command-line handlers: `models check [DIR]`, `make-tiny-models DIR`, `download-models [DIR]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..settings import load_settings
from ..workspace import Workspace


def check_command(args: argparse.Namespace, workspace: Workspace) -> int:
    from .check import check_models
    folder = Path(args.dir) if args.dir else load_settings(workspace).models_path(workspace)
    statuses = check_models(folder)
    for s in statuses:
        print(f"{s.file}  {s.status}: {s.detail}" if s.status == "error" else f"{s.file}  {s.status}")
    if any(s.status == "missing" for s in statuses):
        print(f"missing files in {folder}: get them with `tortoise-studio download-models {folder}` "
              f"(or make a tiny test set with `tortoise-studio make-tiny-models DIR`)", file=sys.stderr)
    return 0 if all(s.status == "ok" for s in statuses) else 1


def make_tiny_command(args: argparse.Namespace, workspace: Workspace) -> int:
    from .tiny import make_tiny_models
    folder = make_tiny_models(args.dir)
    print(f"tiny random model set written to {folder} (it speaks noise; for tests and the demo)")
    return 0


def download_command(args: argparse.Namespace, workspace: Workspace) -> int:
    from .download import download_models, manual_instructions
    folder = Path(args.dir) if args.dir else workspace.base_models
    results = download_models(folder)
    for r in results:
        print(f"{r.file}  {r.status}" + (f": {r.detail}" if r.detail else ""))
    failed = [r.file for r in results if r.status == "failed"]
    if failed:
        print(manual_instructions(folder, failed), file=sys.stderr)
        return 1
    return 0
