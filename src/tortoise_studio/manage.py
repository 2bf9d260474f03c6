"""Renaming and deleting what the user made: recordings, voices, runs and results.

Items are named as the UI lists them: a recording "voice/file.wav", a voice "voice", a run "dataset/run",
a result "voice/name.wav". A deletion moves the item to the workspace's trash (trash.py), never unlinks
it; a rename never replaces anything. A run that is training is neither renamed nor deleted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .audio import AUDIO_SUFFIXES
from .errors import UserError
from .trash import move_to_trash
from .workspace import Workspace, safe_name

KINDS = ("recording", "voice", "run", "result")


def list_items(workspace: Workspace, kind: str) -> list[str]:
    """The items of one kind, as `rename_item` and `delete_item` take them."""
    _check_kind(kind)
    if kind == "voice":
        return workspace.list_voices()
    if kind == "recording":
        return [f"{voice}/{path.relative_to(workspace.voice_dir(voice)).as_posix()}"
                for voice in workspace.list_voices() for path in _recordings(workspace.voice_dir(voice))]
    if kind == "run":
        return [f"{run.parent.parent.name}/{run.name}" for run in workspace.list_runs()]
    from .results import list_results
    return [f"{wav.parent.name}/{wav.name}" for wav in list_results(workspace)]


def item_paths(workspace: Workspace, kind: str, item: str) -> list[Path]:
    """The files or folders that make up the item (a result is its wav and its sidecar)."""
    _check_kind(kind)
    parts = [p for p in str(item or "").split("/") if p] if kind != "voice" else [str(item or "")]
    if not parts or not all(parts):
        raise UserError(f"{kind}: choose one")
    if kind == "voice":
        paths = [workspace.voice_dir(parts[0])]
    elif kind == "recording":
        if len(parts) < 2:
            raise UserError(f"recording {item!r}: expected VOICE/FILE")
        paths = [_inside(workspace.voice_dir(parts[0]), parts[1:], item)]
    elif kind == "run":
        if len(parts) != 2:
            raise UserError(f"run {item!r}: expected DATASET/RUN")
        paths = [workspace.run_dir(parts[0], parts[1])]
    else:
        if len(parts) != 2 or Path(parts[1]).suffix != ".wav":
            raise UserError(f"result {item!r}: expected VOICE/NAME.wav")
        wav = _inside(workspace.results_dir(parts[0]), parts[1:], item)
        paths = [wav] + ([wav.with_suffix(".json")] if wav.with_suffix(".json").is_file() else [])
    if not paths[0].exists():
        raise UserError(f"{kind} {item!r}: not found (already renamed or deleted?)")
    return paths


def rename_item(workspace: Workspace, kind: str, item: str, new_name: str) -> str:
    """Give the item a new name in the same place; returns the item's new name. Nothing is replaced."""
    paths = item_paths(workspace, kind, item)
    _refuse_if_training(kind, paths[0])
    new_name = safe_name(str(new_name or "").strip(), what=f"new {kind} name")
    if kind in ("recording", "result"):  # the content decides the type: the suffix stays
        stem = Path(new_name).stem if Path(new_name).suffix.lower() in AUDIO_SUFFIXES else new_name
        new_name = safe_name(stem, what=f"new {kind} name") + paths[0].suffix
        # a result's sidecar follows its wav: name.wav + name.json
        targets = [path.with_name(Path(new_name).stem + path.suffix) for path in paths]
    else:
        targets = [paths[0].with_name(new_name)]
    for target in targets:
        if target.exists():
            raise UserError(f"new {kind} name {new_name!r}: {target.relative_to(workspace.root)} already exists")
    for path, target in zip(paths, targets):
        os.rename(path, target)
    if kind == "recording":
        _follow_in_datasets(workspace, item.split("/")[0], paths[0], targets[0])
    return "/".join([*item.split("/")[:-1], targets[0].name]) if kind != "voice" else targets[0].name


def delete_item(workspace: Workspace, kind: str, item: str) -> list[Path]:
    """Move the item to the trash; returns where its parts are now."""
    paths = item_paths(workspace, kind, item)
    _refuse_if_training(kind, paths[0])
    return move_to_trash(workspace, paths, what=f"{kind} {item}")


def _follow_in_datasets(workspace: Workspace, voice: str, old: Path, new: Path) -> None:
    """Datasets prepared from the voice keep the renamed recording's corrections and transcript."""
    from .dataset.corrections import follow_renamed_recording
    folder = workspace.voice_dir(voice)
    old_key, new_key = old.relative_to(folder).as_posix(), new.relative_to(folder).as_posix()
    for dataset in workspace.training.iterdir() if workspace.training.is_dir() else []:
        if dataset.is_dir() and _prepared_from(dataset) == voice:
            follow_renamed_recording(dataset, old_key, new_key)


def _prepared_from(dataset_dir: Path) -> str | None:
    try:
        return json.loads((dataset_dir / "dataset.json").read_text(encoding="utf-8")).get("voice")
    except (OSError, ValueError, AttributeError):
        return None


def _inside(folder: Path, parts: list[str], item: str) -> Path:
    """folder/parts..., refusing anything that would lead out of `folder`. Existing names are taken as they
    are (a file put there by hand need not follow the rules new names do)."""
    path = folder.joinpath(*parts)
    if any(p in (".", "..") for p in parts) or not path.resolve().is_relative_to(folder.resolve()):
        raise UserError(f"{item!r}: not inside {folder.name}/")
    return path


def _recordings(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _refuse_if_training(kind: str, path: Path) -> None:
    if kind != "run":
        return
    from .runs import run_status
    try:
        status = run_status(path)
    except UserError:
        return  # a folder without train.yaml is not running
    if status.alive:
        raise UserError(f"run {status.label}: it is {status.state}; stop it first")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UserError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
