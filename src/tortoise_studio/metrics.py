"""One metrics schema: written by the trainer (MetricsWriter), read by the viewer and `tortoise-studio metrics`.

Rows of a run's metrics.jsonl, one JSON object per line (names follow DLAS so old and new logs read alike):
  {"kind": "train", "step", "epoch", "samples", "loss_text_ce", "loss_mel_ce", "loss_gpt_total", "lr",
   "grad_norm", "sec_per_step", "time"}
  {"kind": "val", "step", "epoch", "loss_text_ce", "loss_mel_ce", "loss_gpt_total", "time"}
  {"kind": "event", "event": start|resume|checkpoint|stop|done|error|stalled|skipped, "step", ..., "time"}
`step` counts optimizer steps only; validation never advances it.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

METRICS_FILE = "metrics.jsonl"
LOSS_KEYS = ("loss_text_ce", "loss_mel_ce", "loss_gpt_total")
EVENTS = ("start", "resume", "checkpoint", "stop", "done", "error", "stalled", "skipped")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _plain(value):
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
        row = {k: _plain(v) for k, v in row.items()}
        row.setdefault("time", _now())
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


# The reading side lives in sibling modules and is re-exported here on first use: the trainer imports
# this module for MetricsWriter and should not pay for pandas, and the siblings can import freely.
_READERS = {
    "MetricsReader": "metrics_reader", "Progress": "metrics_reader", "read_metrics": "metrics_reader",
    "metrics_table": "metrics_reader",
    "downsample": "metrics_series", "ema_smooth": "metrics_series", "overfitting_warning": "metrics_series",
    "parse_lines": "dlas_logs", "read_log": "dlas_logs", "read_log_folder": "dlas_logs",
}


def __getattr__(name: str):
    if name in _READERS:
        import importlib
        return getattr(importlib.import_module(f"{__package__}.{_READERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def metrics_command(args, workspace) -> int:
    """`tortoise-studio metrics PATH [--csv|--json]`: the run's (or old log's) table on stdout."""
    import sys
    from .metrics_reader import metrics_table, read_metrics
    train, val, _events = read_metrics(metrics_path(args.path, workspace))
    table = metrics_table(train, val)
    if getattr(args, "json", False):
        for row in table.to_dict(orient="records"):
            row = {k: _plain(v) for k, v in row.items()}
            print(json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False))
    else:
        table.to_csv(sys.stdout, index=False)
    return 0


def metrics_path(path: str, workspace) -> Path:
    """What `metrics PATH` reads: PATH as given, else inside the workspace (training/DATASET/runs/RUN), else
    DATASET/RUN as `status` takes it. A path found nowhere is returned as given (read_metrics names it)."""
    given = Path(path).expanduser()
    if given.exists() or given.is_absolute():
        return given
    if (workspace.root / given).exists():
        return workspace.root / given
    from .errors import UserError
    from .runs import find_run_dir
    try:
        return find_run_dir(given, workspace)
    except UserError:
        return given
