"""`tortoise-studio generate`: speak --text with --voice from the command line, with `--set KEY=VALUE`
generation settings, and write the result with its sidecar."""

from __future__ import annotations

import argparse
import sys
import typing
from dataclasses import fields
from pathlib import Path

from ..errors import UserError
from ..config.schema import coerce
from ..overrides import parse_assignment
from ..settings import load_settings
from ..workspace import Workspace
from .results import save_speech
from .synthesizer import GenerationSettings, Progress, Synthesizer

_OVERRIDABLE = [f.name for f in fields(GenerationSettings) if f.name not in ("preset", "seed")]


def parse_overrides(pairs: list[str]) -> dict:
    """`--set KEY=VALUE` pairs -> typed GenerationSettings fields (preset and seed have their own options);
    read and type-checked as training's `--set` is. `auto` means the default (None) where one is allowed."""
    hints = typing.get_type_hints(GenerationSettings)
    values = {}
    for pair in pairs:
        key, value = parse_assignment(pair)
        if key not in _OVERRIDABLE:
            raise UserError(f"--set {pair!r}: expected KEY=VALUE with KEY one of {', '.join(_OVERRIDABLE)}")
        if value == "auto" and type(None) in typing.get_args(hints[key]):
            value = None
        values[key] = coerce(value, hints[key], f"--set {key}")
    return values


def generate_command(args: argparse.Namespace, workspace: Workspace) -> int:
    """`tortoise-studio generate`: speak --text with --voice; prints the path of the wav it wrote."""
    user_settings = load_settings(workspace)
    models_dir = Path(args.models_dir).expanduser() if args.models_dir else user_settings.models_path(workspace)
    overrides = parse_overrides(getattr(args, "overrides", None) or [])
    settings = GenerationSettings.from_preset(args.preset, seed=args.seed, **overrides)
    synth = Synthesizer(workspace, device=user_settings.device)

    def show(progress: Progress) -> None:
        print(f"[{progress.fraction:4.0%}] {progress.stage}: {progress.detail}", file=sys.stderr, flush=True)

    speech = synth.generate(text=args.text, voice=args.voice, models_dir=models_dir, autoregressive=args.model,
                            settings=settings, on_progress=show, tokenizer=getattr(args, "tokenizer", None))
    if speech.voice.skipped:  # stdout stays the one path scripts read
        print(speech.voice.skipped_note(), file=sys.stderr, flush=True)
    print(save_speech(workspace, speech, out=args.out))
    return 0
