"""One metrics schema: written by the trainer (MetricsWriter), read by the viewer and `tortoise-studio metrics`.

Rows of a run's metrics.jsonl, one JSON object per line (names follow DLAS so old and new logs read alike):
  {"kind": "train", "step", "epoch", "samples", "loss_text_ce", "loss_mel_ce", "loss_gpt_total", "lr",
   "grad_norm", "sec_per_step", "time"}
  {"kind": "val", "step", "epoch", "loss_text_ce", "loss_mel_ce", "loss_gpt_total", "time"}
  {"kind": "event", "event": start|resume|checkpoint|stop|done|error|stalled|skipped, "step", ..., "time"}
  {"kind": "eval", "step", "epoch", "cer", "similarity", "sentences", "seconds", "samples", "time"}
    (written by the evaluator process, evaluate/; step 0 scores the model the run starts from)
  {"kind": "event", "event": "eval_error" | "eval_skipped", "step", "message", "time"}  (the evaluator's;
    they never change the run's state)
`step` counts optimizer steps only; validation never advances it.

This module is the writing side and the schema, light enough for the trainer (no pandas). The reading
side imports it, never the other way: metrics_reader.py (a growing file, any metrics source, the
`metrics` command), metrics_series.py (what a viewer draws), dlas_logs.py (the predecessor's logs).
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

METRICS_FILE = "metrics.jsonl"
EVENTS = ("start", "resume", "checkpoint", "stop", "done", "error", "stalled", "skipped")


def row_time() -> str:
    """The "time" of a metrics row: UTC, ISO-8601 to the millisecond (the trainer's and the evaluator's rows alike)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def json_safe(value):
    """JSON-safe numbers: tensors and numpy scalars become floats, NaN/inf become null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsWriter:
    """Appends rows to metrics.jsonl; every row is flushed and fsynced so a kill loses nothing written."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")

    def write(self, row: dict) -> dict:
        row = {k: json_safe(v) for k, v in row.items()}
        row.setdefault("time", row_time())
        self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        return row

    def train(self, *, step: int, epoch: float, samples: int, losses: dict, lr: float,
              grad_norm: float | None, sec_per_step: float) -> dict:
        return self.write({"kind": "train", "step": step, "epoch": epoch, "samples": samples, **losses,
                           "lr": lr, "grad_norm": grad_norm, "sec_per_step": sec_per_step})

    def val(self, *, step: int, epoch: float, losses: dict) -> dict:
        return self.write({"kind": "val", "step": step, "epoch": epoch, **losses})

    def event(self, event: str, *, step: int, **fields) -> dict:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        return self.write({"kind": "event", "event": event, "step": step, **fields})

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "MetricsWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
