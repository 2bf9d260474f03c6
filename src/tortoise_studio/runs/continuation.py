"""What a run can do after it has finished, or after its dataset changed under it.

An exact resume refuses a run whose data or trajectory settings changed (the steps already taken were
computed on other batches). Two ways on, offered by the UI and documented in docs/launch.md:
- continue: a new run, `<run>-continued`, with the same settings, that starts from the old run's final
  weights (model.source = its latest checkpoint's model.pth) and trains on the dataset as it is now;
- start over: the same run from the start (`--resume none`); the trainer moves its history aside.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from .checkpoints import latest_checkpoint
from ..config import CONFIG_FILENAME, TrainingConfig, load_config, save_config, workspace_for_config
from ..dataset.lists import TRAIN_FILE
from ..errors import UserError
from ..hashes import file_sha256
from ..metrics.writer import METRICS_FILE
from .status import find_run_dir

CONTINUED_SUFFIX = "-continued"


def final_weights(run_dir: str | os.PathLike) -> Path:
    """The model.pth of the run's latest complete checkpoint; UserError when it has none."""
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise UserError(f"{Path(run_dir).name}: no checkpoint yet, so there are no trained weights to continue "
                        "from; Train it first (or start it over)")
    return checkpoint.model_path


def continuation_name(run_dir: Path) -> str:
    """`<run>-continued`, or `<run>-continued-2`, ... : the first name not taken in the dataset's runs."""
    base = run_dir.name + CONTINUED_SUFFIX
    name, n = base, 1
    while (run_dir.parent / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def continue_run(run_dir: str | os.PathLike) -> Path:
    """Write the configuration of a new run that continues `run_dir` from its final weights on the dataset as
    it is now; returns the new train.yaml. The old run is left exactly as it is.

    The weights are linked into the new run's folder (a hard link: no copy, where the file system allows), so
    the new run keeps its starting point when the old one is started over (its checkpoints move aside) or
    prunes its checkpoints."""
    run_dir = find_run_dir(run_dir)
    config_path = run_dir / CONFIG_FILENAME
    workspace = workspace_for_config(config_path)
    weights = final_weights(run_dir)
    new_dir = run_dir.parent / continuation_name(run_dir)
    start = new_dir / f"from-{run_dir.name}-step{weights.parent.name}.pth"
    new_dir.mkdir(parents=True)
    _link_or_copy(weights, start)
    cfg = load_config(config_path)
    source = start.relative_to(workspace.root) if start.is_relative_to(workspace.root) else start
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, source=str(source)))
    return save_config(cfg, new_dir / CONFIG_FILENAME)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)


def why_not_resume(run_dir: str | os.PathLike) -> tuple[str, str] | None:
    """Why pressing Train on this run would not simply go on, as (what, why) in words for the page, or None:
    its training list changed since it last started (an exact resume would refuse it; the trainer, which
    compares every clip's codes, stays the final check), or it has finished with nothing left to do."""
    cfg = load_config(Path(run_dir) / CONFIG_FILENAME)  # read once for both questions
    if latest_checkpoint(run_dir) is not None and data_changed(run_dir, cfg):
        return "was trained on other data", f"{TRAIN_FILE} changed since it last started"
    if nothing_left(run_dir, cfg):
        return "has finished", "every planned step is done"
    return None


def data_changed(run_dir: str | os.PathLike, cfg: TrainingConfig | None = None) -> bool:
    """True when the dataset's train.txt differs from the one the run's last start or resume read
    (`cfg`: the run's train.yaml when the caller has it loaded already)."""
    from ..metrics.reader import read_metrics
    run_dir = Path(run_dir)
    if not (run_dir / METRICS_FILE).is_file():
        return False
    started = [e for e in read_metrics(run_dir)[2] if e.get("event") in ("start", "resume") and e.get("train_list")]
    if not started:
        return False  # a run from before the list was recorded: the trainer decides
    cfg = cfg or load_config(run_dir / CONFIG_FILENAME)
    current = workspace_for_config(run_dir / CONFIG_FILENAME).dataset_dir(cfg.dataset) / TRAIN_FILE
    return not current.is_file() or file_sha256(current) != started[-1]["train_list"]


def nothing_left(run_dir: str | os.PathLike, cfg: TrainingConfig | None = None) -> bool:
    """True when the run is done and its configuration, as it is now, plans no step past the last one taken
    (Train would have nothing to do: raising epochs or max_steps in train.yaml makes it False; `cfg`: that
    train.yaml when the caller has it loaded already)."""
    from ..config import count_train_clips
    from .status import run_status
    from ..config.schedule import total_steps
    status = run_status(run_dir)
    if status.state != "done":
        return False
    cfg = cfg or load_config(Path(run_dir) / CONFIG_FILENAME)
    planned = total_steps(cfg, count_train_clips(workspace_for_config(Path(run_dir) / CONFIG_FILENAME), cfg.dataset))
    if cfg.max_steps:
        planned = min(planned, cfg.max_steps)
    return status.step >= planned
