"""`tortoise-studio evaluate RUN_DIR [--checkpoint STEP|all|best] [--set evaluation.KEY=VALUE ...]`, and
the evaluator process's own entry point (`--follow`)."""

from __future__ import annotations

import argparse
import sys

from ..errors import UserError
from ..runs.status import find_run_dir
from ..workspace import Workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder, its train.yaml, or DATASET/RUN")
    parser.add_argument("--checkpoint", metavar="STEP|all|best", default="all",
                        help="all (default): the base model and every checkpoint not scored yet; best: score the "
                             "best one again; a step number: that checkpoint (0 = the model the run starts from)")
    parser.add_argument("--set", dest="overrides", metavar="evaluation.KEY=VALUE", action="append", default=[],
                        help="override an evaluation setting for this time, e.g. evaluation.preset=fast; repeatable")


def evaluate_command(args: argparse.Namespace, workspace: Workspace) -> int:
    from .evaluator import Evaluator
    evaluator = Evaluator(find_run_dir(args.run_dir, workspace), overrides=args.overrides)
    if getattr(args, "follow", False):
        return evaluator.follow()
    status = evaluator.run(args.checkpoint)
    from ..runs.evaluator import evaluation_status
    print(evaluation_status(evaluator.run_dir).line())
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tortoise_studio.evaluate",
                                     description="Score a run's checkpoints: samples, CER and voice similarity.")
    add_arguments(parser)
    parser.add_argument("--follow", action="store_true",
                        help="score the base model, then each checkpoint as it appears, until the trainer ends")
    args = parser.parse_args(argv)
    try:
        return evaluate_command(args, Workspace.at(None))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
