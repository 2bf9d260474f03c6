"""Writing and reading checkpoints (the torch side; checkpoints.py lists them without torch).

checkpoints/<step>/model.pth   plain UnifiedVoice state dict (TorToiSe loads it with strict=True)
checkpoints/<step>/state.pth   optimizer, scheduler, scaler, loop position, RNG states, configuration
checkpoints/<step>/meta.json   step, epoch, losses, time: cheap to list
checkpoints/<step>/model.json  the tokenizer the weights need (name, sha256; text.binding), also beside an export
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from ..runs.checkpoints import META_FILE, MODEL_FILE, STATE_FILE, checkpoints_dir, list_checkpoints, read_checkpoint
from ..errors import UserError
from ..fileio import atomic_torch_save, backup_move
from ..runs.process import is_alive
from ..text import TokenizerRecord, record_path, write_record

STATE_FORMAT = 1

# Keys that cannot change which batches a step sees or what it computes: changed on resume without --force.
# ("workers" is a retired key that configurations saved by older versions still hold.)
SILENT_KEYS = ("max_steps", "workers", "save_every_epochs", "keep_last", "stall_seconds")
SILENT_PREFIXES = ("validation.", "evaluation.")
# Changing these is fine as long as the number of micro-batches per step stays the same.
SPLIT_KEYS = ("gradient_accumulation", "gpus", "nodes")


def flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def trajectory(config: dict, micro_batches: int, data_fingerprint: str) -> dict:
    """What determines the run's trajectory: the configuration minus keys that cannot change it,
    the number of micro-batches per step, and the training data itself."""
    flat = flatten(config)
    kept = {k: v for k, v in flat.items()
            if k not in SILENT_KEYS and k not in SPLIT_KEYS and not k.startswith(SILENT_PREFIXES)}
    if kept.get("tokenizer") == "english":
        del kept["tokenizer"]  # the key is newer than some checkpoints; English is what they trained with
    return {**kept, "micro_batches_per_step": micro_batches, "train_data": data_fingerprint}


def trajectory_hash(traj: dict) -> str:
    return hashlib.sha256(json.dumps(traj, sort_keys=True, default=str).encode()).hexdigest()


def changed_keys(old: dict, new: dict) -> list[str]:
    """Dotted keys whose values differ, as 'key: old -> new'."""
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def rng_states() -> dict:
    keys = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        # numpy's state holds an array: stored as a tensor so state.pth loads with weights_only=True
        "numpy": [keys[0], torch.from_numpy(keys[1].astype(np.int64)), keys[2], keys[3], keys[4]],
        "python": random.getstate(),
    }


def restore_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    name, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))


def save_checkpoint(run_dir: Path, *, step: int, model_state: dict, state: dict, meta: dict,
                    keep_last: int, tokenizer: TokenizerRecord | None = None) -> Path:
    """Write checkpoints/<step>/ under a temporary name, rename it, then prune to the newest keep_last."""
    root = checkpoints_dir(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / str(step)
    tmp = root / f".tmp-{step}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    torch.save(model_state, tmp / MODEL_FILE)
    if tokenizer is not None:
        write_record(tmp / MODEL_FILE, tokenizer)
    torch.save(state, tmp / STATE_FILE)
    meta = {**meta, "step": step, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (tmp / META_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    if final.exists():  # the same step saved again (e.g. a stop right after a scheduled save)
        old = root / f".old-{step}-{os.getpid()}"
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)
    prune(run_dir, keep_last)
    return final


def prune(run_dir: Path, keep_last: int) -> None:
    """Delete all but the newest keep_last complete checkpoints (0 keeps all) and leftovers of killed saves."""
    root = checkpoints_dir(run_dir)
    for leftover in root.glob(".tmp-*"):
        if not _owned_by_live_process(leftover):
            shutil.rmtree(leftover, ignore_errors=True)
    if keep_last > 0:
        for old in list_checkpoints(run_dir)[keep_last:]:
            shutil.rmtree(old.path, ignore_errors=True)


def _owned_by_live_process(folder: Path) -> bool:
    """A .tmp-<step>-<pid> folder another live process (a second run) is still writing."""
    try:
        pid = int(folder.name.rsplit("-", 1)[1])
    except (ValueError, IndexError):
        return False
    return pid != os.getpid() and is_alive(pid)


def resolve_resume(run_dir: Path, resume: str) -> Path | None:
    """The checkpoint folder to resume from: 'latest' (None when there is none), 'none', or a path."""
    if resume == "none":
        return None
    if resume == "latest":
        return read_latest(run_dir)
    path = Path(resume).expanduser()
    if not path.is_absolute() and not path.exists():
        path = checkpoints_dir(run_dir) / resume  # "--resume 120" means checkpoints/120
    if path.is_file():
        path = path.parent
    if read_checkpoint(path) is None:
        raise UserError(f"--resume {resume}: {path} is not a complete checkpoint folder "
                        f"(needs {MODEL_FILE}, {STATE_FILE} and {META_FILE})")
    return path


def read_latest(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[0].path if found else None


def load_state(folder: Path) -> dict:
    try:
        state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{folder / STATE_FILE}: not a readable training state ({exc})") from exc
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise UserError(f"{folder / STATE_FILE}: not a training state this version can resume")
    return state


def export_model(model_state: dict, target: Path, *, tokenizer: TokenizerRecord | None = None) -> Path:
    """Write the fine-tune to `target` (and its tokenizer record beside it); existing files there are first
    moved to backups/<time>/ beside them."""
    backup_move(target.parent, [target.name, record_path(target).name])
    atomic_torch_save(model_state, target)
    if tokenizer is not None:
        write_record(target, tokenizer)
    return target
