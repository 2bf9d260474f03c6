"""Shared set-up for the trainer tests: a workspace with a dataset of real clips and a tiny-model run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

# Short real clips (3.5 to 6.6 s) from tortoise's shipped voices: quick steps, real speech.
CLIPS = ["train_lescault/lescault_new1.wav", "train_lescault/lescault_new2.wav", "train_lescault/lescault_new3.wav",
         "train_lescault/lescault_new4.wav", "train_lescault/lescault_new5.wav", "train_kennard/2.wav",
         "emma/3.wav", "mol/1.wav", "train_dotrice/2.wav", "train_kennard/1.wav"]
TEXTS = ["The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
         "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
         "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
         "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
         "Four hours of steady work faced us.", "A large size in stockings is hard to sell."]


def make_dataset(workspace, tortoise_voices: Path, *, name: str = "ds", n_train: int = 8, n_val: int = 2,
                 extra_train_lines: list[str] = ()) -> Path:
    folder = workspace.dataset_dir(name)
    (folder / "audio").mkdir(parents=True)
    lines = []
    for i, (clip, text) in enumerate(zip(CLIPS[:n_train + n_val], TEXTS)):
        shutil.copy(tortoise_voices / clip, folder / "audio" / f"clip_{i:04d}.wav")
        lines.append(f"audio/clip_{i:04d}.wav|{text}")
    (folder / "train.txt").write_text("\n".join(lines[:n_train] + list(extra_train_lines)) + "\n")
    (folder / "validation.txt").write_text("\n".join(lines[n_train:]) + "\n")
    return folder


def make_run(workspace, tiny_models: Path, *, dataset: str = "ds", run: str = "r1", **settings) -> Path:
    """Write runs/<run>/train.yaml for the tiny model set on the CPU; `settings` override the defaults."""
    cfg = {"dataset": dataset, "model": {"models_dir": str(tiny_models), "dropout": 0.0},
           "epochs": 3, "batch_size": 4, "learning_rate": 1e-3, "scheduler": {"type": "constant"},
           "save_every_epochs": 1, "keep_last": 0, "device": "cpu", "seed": 7,
           "validation": {"enabled": False, "every_epochs": 1},
           "evaluation": {"enabled": False}}  # the evaluator has tests of its own
    for key, value in settings.items():
        if isinstance(value, dict):
            cfg.setdefault(key, {}).update(value)
        else:
            cfg[key] = value
    path = workspace.run_dir(dataset, run) / "train.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def rows(run_dir: Path, kind: str | None = None, event: str | None = None) -> list[dict]:
    found = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if kind:
        found = [r for r in found if r["kind"] == kind]
    if event:
        found = [r for r in found if r.get("event") == event]
    return found
