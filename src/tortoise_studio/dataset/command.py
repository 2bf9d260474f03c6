"""`tortoise-studio prepare VOICE ...`: prepare a voice with a tqdm progress bar, print a summary."""

from __future__ import annotations

import argparse

from ..settings import load_settings
from ..workspace import Workspace
from .advice import speech_advice
from .prepare import PrepareOptions, PrepareProgress, PrepareReport, prepare_dataset


def prepare_command(args: argparse.Namespace, workspace: Workspace) -> int:
    from tqdm import tqdm

    settings = load_settings(workspace)  # the Whisper choice the Settings tab keeps, unless given here
    model = args.model if args.model is not None else settings.whisper_model_location(workspace)
    options = PrepareOptions(dataset=args.dataset, backend=args.backend or settings.whisper_backend, model=model,
                             language=args.language,
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
    kept, unplaced = report.corrections.get("kept", 0), report.corrections.get("unplaced", [])
    if kept or unplaced:
        lines.append(f"kept {kept} of your corrections" + (f"; {len(unplaced)} could not be placed (their clips "
                     f"no longer exist; they stay in {report.corrections.get('file')})" if unplaced else ""))
    lines.append(speech_advice(report.total_seconds, report.clips).message.replace("**", ""))
    for item in report.skipped:
        where = f" [{item['clip']}]" if item.get("clip") else ""
        lines.append(f"skipped {item['file']}{where}: {item['reason']}")
    for clip, reason in report.flagged.items():
        lines.append(f"check {clip}: {reason}")
    return "\n".join(lines)
