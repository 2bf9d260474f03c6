"""`python -m tortoise_studio.train CONFIG [--resume latest|none|PATH] [--force] [--set KEY=VALUE ...]`."""

from __future__ import annotations

import argparse
import sys

from . import run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tortoise_studio.train",
                                     description="Train TorToiSe's autoregressive model from a run's train.yaml.")
    parser.add_argument("config", metavar="CONFIG", help="the run's train.yaml")
    parser.add_argument("--resume", metavar="latest|none|PATH", default="latest",
                        help="checkpoint to resume from: latest (default, if any), none (start over), "
                             "a checkpoint folder, or a step number")
    parser.add_argument("--force", action="store_true",
                        help="resume even when settings that change the training trajectory were changed")
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                        help="override a configuration key for this run (dotted, e.g. max_steps=100)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args.config, resume=args.resume, force=args.force, overrides=args.overrides, handle_signals=True)


if __name__ == "__main__":
    sys.exit(main())
