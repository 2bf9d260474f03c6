"""The dataset a configuration trains on: clip counts and minutes."""

from __future__ import annotations

from dataclasses import dataclass

from ..dataset.lists import TRAIN_FILE, VALIDATION_FILE, read_list
from ..workspace import Workspace


@dataclass(frozen=True)
class DatasetStats:
    n_train: int
    n_validation: int
    train_minutes: float  # 0.0 when the clips cannot be read


def count_train_clips(workspace: Workspace, dataset: str) -> int:
    """Usable lines of training/<dataset>/train.txt (0 when there is none)."""
    return len(read_list(workspace.dataset_dir(dataset) / TRAIN_FILE)[0])


def dataset_stats(workspace: Workspace, dataset: str) -> DatasetStats:
    """Clip counts from train.txt / validation.txt, minutes from the train clips' headers."""
    folder = workspace.dataset_dir(dataset)
    train, _ = read_list(folder / TRAIN_FILE)
    seconds = 0.0
    import soundfile  # header reads only; cheap

    for entry in train:
        try:
            info = soundfile.info(str(folder / entry.audio))
            seconds += info.frames / info.samplerate
        except (RuntimeError, OSError, soundfile.LibsndfileError):
            continue
    return DatasetStats(len(train), len(read_list(folder / VALIDATION_FILE)[0]), seconds / 60.0)
