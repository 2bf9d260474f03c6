"""What the evaluator leaves in a run folder, and reading it back (no torch: the UI and `status` use it).

runs/<run>/samples/<step>/<n>.wav      sample n of the checkpoint at <step> (step 0: the model the run starts from)
runs/<run>/samples/<step>/scores.json  texts, transcripts, scores and what made them; written last
runs/<run>/samples/<step>/model.pth    a hard link to the checkpoint's weights while it may still be the best
runs/<run>/metrics.jsonl               one {"kind": "eval"} row per evaluated checkpoint, evaluator events
runs/<run>/evaluate.pid, evaluate.log  the evaluator process that follows the run
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..metrics.writer import METRICS_FILE, json_safe as _plain, row_time
from ..workspace import SAMPLES_DIR

SCORES_FILE = "scores.json"
LINKED_WEIGHTS = "model.pth"


@dataclass(frozen=True)
class Sample:
    index: int
    wav: Path
    text: str
    transcript: str
    cer: float
    similarity: float


def samples_dir(run_dir: str | os.PathLike, step: int) -> Path:
    return Path(run_dir) / SAMPLES_DIR / str(int(step))


def write_scores(folder: Path, record: dict) -> Path:
    path = folder / SCORES_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def read_scores(run_dir: str | os.PathLike, step: int) -> dict | None:
    try:
        return json.loads((samples_dir(run_dir, step) / SCORES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_samples(run_dir: str | os.PathLike, step: int) -> list[Sample]:
    """The samples of one evaluated step, in sentence order; [] when it has not been evaluated."""
    record = read_scores(run_dir, step) or {}
    folder = samples_dir(run_dir, step)
    return [Sample(i, folder / s["file"], s["text"], s["transcript"], s["cer"], s["similarity"])
            for i, s in enumerate(record.get("samples", [])) if (folder / s["file"]).is_file()]


def append_row(run_dir: str | os.PathLike, row: dict) -> dict:
    """Append one row to the run's metrics.jsonl, which the trainer appends to at the same time: the file
    is opened with O_APPEND and the whole line goes out in one write(), so two writers never interleave."""
    row = {k: _plain(v) for k, v in row.items()}
    row.setdefault("time", row_time())
    line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(Path(run_dir) / METRICS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, line)
        if written != len(line):  # never seen for a regular file; a torn row would be skipped by readers
            raise OSError(f"{METRICS_FILE}: only {written} of {len(line)} bytes appended")
        os.fsync(fd)
    finally:
        os.close(fd)
    return row


def eval_event(run_dir: str | os.PathLike, event: str, *, step: int, message: str, **fields) -> dict:
    """An evaluator event (eval_error, eval_skipped): shown in the Run section, never a run failure."""
    return append_row(run_dir, {"kind": "event", "event": f"eval_{event}", "step": step, "message": message,
                                **fields})
