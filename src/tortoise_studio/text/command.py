"""`tortoise-studio tokenizer train DATASET ...` and `tortoise-studio tokenizer show NAME TEXT`."""

from __future__ import annotations

import argparse

from ..workspace import Workspace
from .coverage import dataset_coverage
from .tokenizer import load_tokenizer
from .training import train_tokenizer


def tokenizer_command(args: argparse.Namespace, workspace: Workspace) -> int:
    if args.action == "train":
        trained = train_tokenizer(workspace, args.dataset, name=args.name, vocab_size=args.vocab_size,
                                  extra_text=args.extra_text, language=args.language,
                                  normaliser_name=args.normaliser)
        tokenizer = trained.tokenizer
        covered = dataset_coverage(tokenizer, workspace.dataset_dir(args.dataset))
        print(f"tokenizer {tokenizer.name}: {tokenizer.size} symbols, language {tokenizer.language}, normaliser "
              f"{tokenizer.normalise.name}, trained on {trained.lines} lines; [UNK] in {covered.lines_with_unknown} "
              f"of {covered.lines} dataset lines")
        if trained.backup:
            print(f"the previous {tokenizer.path.name} was kept as {trained.backup.name}")
        print(tokenizer.path)
        return 0
    tokenizer = load_tokenizer(workspace, args.name)
    print(f"normalised: {tokenizer.normalise(args.text)}")
    pieces = tokenizer.pieces(args.text)
    print("ids:    " + " ".join(str(i) for i, _ in pieces))
    print("pieces: " + " ".join(piece for _, piece in pieces))
    return 0
