"""`tortoise-studio <command>`: the command-line contract of docs/design.md.

This module only parses arguments. Each command's work lives next to the feature it drives, in a
`<name>_command(args, workspace) -> int` function imported when the command runs, so `--help` is
instant and heavy libraries load only for the command that needs them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import UserError
from .workspace import Workspace

# command -> (module, function) that carries it out
HANDLERS = {
    "prepare": ("tortoise_studio.dataset.command", "prepare_command"),
    "config": ("tortoise_studio.config.command", "config_command"),
    "train": ("tortoise_studio.runs.launch", "train_command"),
    "status": ("tortoise_studio.runs.launch", "status_command"),
    "stop": ("tortoise_studio.runs.launch", "stop_command"),
    "metrics": ("tortoise_studio.runs.status", "metrics_command"),
    "evaluate": ("tortoise_studio.evaluate.command", "evaluate_command"),
    "generate": ("tortoise_studio.generate.command", "generate_command"),
    "models": ("tortoise_studio.models.command", "check_command"),
    "make-tiny-models": ("tortoise_studio.models.command", "make_tiny_command"),
    "download-models": ("tortoise_studio.models.command", "download_command"),
    "ui": ("tortoise_studio.ui.launcher", "ui_command"),
    "tokenizer": ("tortoise_studio.text.command", "tokenizer_command"),
}


def add_ui_arguments(parser: argparse.ArgumentParser) -> None:
    """The web UI's options, shared by `tortoise-studio ui` and `python app.py`."""
    parser.add_argument("--listen", default="127.0.0.1:7860", metavar="HOST:PORT",
                        help="address to serve on (default 127.0.0.1:7860; 0.0.0.0 exposes it to the network)")
    parser.add_argument("--auth", default=None, metavar="USER:PASS",
                        help="require this login on every page (also read from TORTOISE_STUDIO_AUTH)")
    parser.add_argument("--share", action="store_true", help="open a public Gradio share link (off by default)")
    parser.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS,
                        help="workspace root (default: $TORTOISE_STUDIO_HOME, else the repository root)")
    parser.add_argument("--demo", action="store_true",
                        help="make a tiny random model set and a demo voice to click through offline (produces noise)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tortoise-studio",
        description="Fine-tune TorToiSe text-to-speech on your own recordings and speak with the result.")
    parser.add_argument("--workspace", metavar="DIR", default=None,
                        help="workspace root holding voices/, training/, models/, results/ "
                             "(default: $TORTOISE_STUDIO_HOME, else the repository root)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser("prepare", help="transcribe and slice voices/VOICE into a training dataset")
    p.add_argument("voice", metavar="VOICE", help="a folder under voices/ ('--all' style: use 'prepare-all' in the UI)")
    p.add_argument("--dataset", metavar="NAME", help="dataset name under training/ (default: the voice name)")
    p.add_argument("--backend", choices=["faster-whisper", "openai-whisper"], default=None,
                   help="default: the Whisper backend in Settings")
    p.add_argument("--model", metavar="NAME|PATH", default=None,
                   help="Whisper model name or local folder/file (default: the Whisper model in Settings)")
    p.add_argument("--language", metavar="CODE", default=None, help="language code, e.g. en (default: detect)")
    p.add_argument("--validation-fraction", metavar="F", type=float, default=0.05)
    p.add_argument("--seed", metavar="N", type=int, default=0)
    p.add_argument("--trim-silence", action="store_true", help="trim silence at both ends of each clip")
    p.add_argument("--redo", action="store_true", help="transcribe again even files already in whisper.json")

    p = commands.add_parser("config", help="write a training configuration (prints the path of train.yaml)")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("--run", metavar="NAME", default=None, help="run name (default: a timestamp)")
    p.add_argument("--from", dest="from_yaml", metavar="YAML", default=None, help="start from this configuration")
    p.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                   help="set a configuration key (dotted, e.g. scheduler.type=cosine); repeatable")

    p = commands.add_parser("train", help="train from a configuration")
    p.add_argument("config", metavar="CONFIG", help="a run's train.yaml")
    p.add_argument("--detach", action="store_true", help="start in the background and return at once")
    p.add_argument("--resume", metavar="latest|none|PATH", default="latest",
                   help="checkpoint to resume from (default: latest, if any)")
    p.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[])
    p.add_argument("--force", action="store_true",
                   help="start even if another run uses the same devices, or resume with changed settings")
    p.add_argument("--nnodes", metavar="N", type=int, default=None,
                   help="machines taking part (default: the configuration's `nodes`)")
    p.add_argument("--node-rank", metavar="K", type=int, default=0,
                   help="this machine's number, 0 to N-1 (0 on the machine at --rdzv-endpoint)")
    p.add_argument("--rdzv-endpoint", metavar="HOST:PORT", default=None,
                   help="where the machines meet (the first machine's address), the same on every machine")

    p = commands.add_parser("status", help="list runs (or one run) with state, step and ETA")
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", default=None)

    p = commands.add_parser("stop", help="stop a run gracefully (checkpoint first)")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before SIGKILL (default 120)")

    p = commands.add_parser("metrics", help="print a run's metrics table (also reads DLAS / ai-voice-cloning logs)")
    p.add_argument("path", metavar="PATH", help="a run folder, a metrics.jsonl, a log file or a folder of logs")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV (default)")
    fmt.add_argument("--json", action="store_true", help="one JSON object per line")

    p = commands.add_parser("evaluate", help="score a run's checkpoints: samples, CER, voice similarity, the best")
    from .evaluate.command import add_arguments as add_evaluate_arguments
    add_evaluate_arguments(p)

    p = commands.add_parser("generate", help="speak text with a voice")
    p.add_argument("--voice", metavar="NAME", required=True)
    p.add_argument("--text", metavar="TEXT", required=True)
    p.add_argument("--model", metavar="PATH", default=None, help="autoregressive weights (default: the base model)")
    p.add_argument("--models-dir", metavar="DIR", default=None, help="folder of TorToiSe's weights")
    p.add_argument("--preset", metavar="NAME", default="fast",
                   choices=["ultra_fast", "fast", "standard", "high_quality"])
    p.add_argument("--seed", metavar="N", type=int, default=0)
    p.add_argument("--out", metavar="FILE", default=None)
    p.add_argument("--tokenizer", metavar="NAME", default=None,
                   help="default: the one the model was trained with (a different one is refused)")
    p.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                   help="override a generation setting of the preset, e.g. candidates=4, temperature=0.6, "
                        "kv_cache=false; repeatable")

    p = commands.add_parser("models", help="check model files: `models check [DIR]`")
    p.add_argument("action", choices=["check"])
    p.add_argument("dir", metavar="DIR", nargs="?", default=None, help="default: the models folder in Settings")

    p = commands.add_parser("make-tiny-models", help="make a tiny random model set (for tests and the demo)")
    p.add_argument("dir", metavar="DIR")

    p = commands.add_parser("download-models", help="fetch TorToiSe's published weights (needs the internet)")
    p.add_argument("dir", metavar="DIR", nargs="?", default=None, help="default: models/tortoise")

    p = commands.add_parser("tokenizer", help="train a tokenizer for another language, or show how text splits")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = actions.add_parser("train", help="train models/tokenizers/NAME.json on a dataset's transcripts")
    t.add_argument("dataset", metavar="DATASET")
    t.add_argument("--name", metavar="NAME", default=None, help="tokenizer name (default: the dataset's)")
    t.add_argument("--vocab-size", metavar="N", type=int, default=255, help="symbols, at most 255 (default 255)")
    t.add_argument("--extra-text", metavar="FILE", default=None, help="more text in the language, one line each")
    t.add_argument("--language", metavar="CODE", default=None, help="default: the language in dataset.json")
    t.add_argument("--normaliser", metavar="NAME", default=None,
                   help="default: the language's (english, unicode:<code>); romaji:ja reads Japanese as romaji")
    t = actions.add_parser("show", help="print the ids and pieces of TEXT")
    t.add_argument("name", metavar="NAME", help="english or a name under models/tokenizers")
    t.add_argument("text", metavar="TEXT")

    p = commands.add_parser("ui", help="run the web UI")
    add_ui_arguments(p)
    return parser


def run_command(args: argparse.Namespace) -> int:
    module_name, function_name = HANDLERS[args.command]
    handler = getattr(importlib.import_module(module_name), function_name)
    return int(handler(args, Workspace.at(args.workspace)) or 0)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run_command(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`metrics RUN | head`): stop quietly, as `cat` does, and keep Python from
        # reporting the same broken pipe again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a command ended by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
