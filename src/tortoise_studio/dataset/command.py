"""`tortoise-studio prepare VOICE ...`: prepare a voice with a tqdm progress bar, print a summary."""

from __future__ import annotations

import argparse

from ..workspace import Workspace
from .prepare import PrepareOptions, PrepareProgress, PrepareReport, prepare_dataset


def prepare_command(args: argparse.Namespace, workspace: Workspace) -> int:
    from tqdm import tqdm

    options = PrepareOptions(dataset=args.dataset, backend=args.backend, model=args.model, language=args.language,
                             validation_fraction=args.validation_fraction, seed=args.seed,
                             trim_silence=args.trim_silence, redo=args.redo)
    with tqdm(unit="file", desc=f"prepare {args.voice}") as bar:
        def progress(update: PrepareProgress) -> None:
            bar.total = update.total
            bar.n = update.done
            bar.set_postfix_str(update.file[-40:])
            bar.refresh()
        report = prepare_dataset(workspace, args.voice, options, progress=progress)
    print(summary(report))
    return 0


def summary(report: PrepareReport) -> str:
    lines = [f"{report.dataset_dir}: {report.clips} clips ({report.train_clips} train, "
             f"{report.validation_clips} validation), {report.total_minutes:.1f} min from "
             f"{report.files_used} of {report.source_files} files"]
    if report.backup:
        lines.append(f"previous dataset moved to {report.backup}/")
    for item in report.skipped:
        where = f" [{item['clip']}]" if item.get("clip") else ""
        lines.append(f"skipped {item['file']}{where}: {item['reason']}")
    for clip, reason in report.flagged.items():
        lines.append(f"check {clip}: {reason}")
    return "\n".join(lines)
