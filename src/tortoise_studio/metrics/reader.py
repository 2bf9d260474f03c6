"""Reading a run's metrics.jsonl as it grows, and reading any metrics source (run, jsonl, old DLAS logs).

The trainer appends one JSON object per line (the schema at the top of metrics.py). A viewer that
refreshes every two seconds must not re-parse a million lines each time, so `MetricsReader` keeps a
byte offset and parses only what was appended since the last refresh.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import UserError
from .writer import METRICS_FILE

try:  # orjson (installed with gradio) parses about 3x faster; the standard library does the same job
    from orjson import loads as _loads, JSONDecodeError as _DecodeError
except ImportError:  # pragma: no cover
    from json import loads as _loads, JSONDecodeError as _DecodeError

BLOCK_BYTES = 16 << 20  # parse in blocks so a huge file never sits in memory as a million dicts at once
RECENT_ROWS = 20  # train rows averaged for s/step and samples/s
EVAL_EVENT_PREFIX = "eval_"  # events the evaluator writes (eval_error, ...): kept apart from the trainer's
# Columns that are not metrics: they never appear in the metric list of a table.
INDEX_COLUMNS = ("kind", "step", "epoch", "time")


@dataclass(frozen=True)
class Progress:
    """Where a run stands, from its metrics alone (the process state is launch.py's business)."""

    step: int = 0
    steps_total: int | None = None
    epoch: float | None = None
    sec_per_step: float | None = None
    samples_per_sec: float | None = None
    eta_seconds: float | None = None
    last_event: str | None = None
    last_checkpoint_step: int | None = None
    error: str | None = None
    stalled: bool = False


class _FrameBuilder:
    """Rows of one kind, kept as small DataFrame parts and concatenated only when read after a change."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []
        self._frame: pd.DataFrame | None = None

    def add(self, rows: list[dict]) -> None:
        if rows:
            # naming the columns spares pandas its slow per-row key discovery; set.union runs in C
            keys = set().union(*rows)
            keys.discard("kind")
            columns = [k for k in rows[0] if k in keys] + sorted(keys.difference(rows[0]))
            self._parts.append(pd.DataFrame(rows, columns=columns))
            self._frame = None

    def truncate_after(self, step: int) -> None:
        """Drop rows beyond `step`: a resume from an earlier checkpoint abandons them."""
        frame = self.frame
        if len(frame) and "step" in frame and (frame["step"] > step).any():
            self._parts = [frame[frame["step"] <= step].reset_index(drop=True)]
            self._frame = None

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            if not self._parts:
                self._frame = pd.DataFrame({"step": pd.Series(dtype="int64"), "epoch": pd.Series(dtype="float64")})
            else:
                self._frame = self._parts[0] if len(self._parts) == 1 else pd.concat(self._parts, ignore_index=True)
                self._parts = [self._frame]
        return self._frame


class MetricsReader:
    """Follows a run's metrics.jsonl: `refresh()` parses only the bytes appended since the last call.

    A half-written last line waits for the next refresh; a file that shrank or was replaced (a run
    restarted from scratch) is read again from the start. A `start` or `resume` event at step S drops
    the earlier rows past S, so a resumed run draws one continuous curve.
    """

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        self.path = path if path.is_file() or path.suffix == ".jsonl" else path / METRICS_FILE
        self.rows_parsed = 0  # every row ever parsed, so tests can see that old rows are not parsed again
        self.bad_lines = 0
        self._reset()

    def _reset(self) -> None:
        self._offset = 0
        self._identity: tuple[int, int] | None = None
        self._head = b""
        self._train = _FrameBuilder()
        self._val = _FrameBuilder()
        self._eval = _FrameBuilder()  # the evaluator's checkpoint scores (kind "eval")
        self.events: list[dict] = []
        self.eval_events: list[dict] = []  # the evaluator's own events: they never change the run's state
        self._recent: deque[dict] = deque(maxlen=RECENT_ROWS)
        self._segment_start: dict | None = None
        self._error: str | None = None
        self._stalled = False
        self._last_checkpoint: int | None = None

    # -- reading ---------------------------------------------------------------------------

    def refresh(self) -> int:
        """Parse what was appended since the last refresh; return the number of new rows."""
        try:
            with open(self.path, "rb") as f:
                stat = os.fstat(f.fileno())
                if self._replaced(f, stat):
                    self._reset()
                self._identity = (stat.st_dev, stat.st_ino)
                return self._read_from(f)
        except FileNotFoundError:
            return 0

    def _replaced(self, f, stat: os.stat_result) -> bool:
        if self._identity is None:
            return False
        if self._identity != (stat.st_dev, stat.st_ino) or stat.st_size < self._offset:
            return True
        # same file, same or larger size: it was rewritten if its first bytes differ from what we read
        head = f.read(len(self._head))
        return head != self._head

    def _read_from(self, f) -> int:
        f.seek(self._offset)
        new_rows = 0
        carry = b""
        # Parsing makes millions of short-lived dicts, none in a reference cycle; the cyclic collector
        # would rescan the growing heap again and again (it doubled the time of a 1M-row read).
        collecting = gc.isenabled()
        gc.disable()
        try:
            while True:
                block = f.read(BLOCK_BYTES)
                if not block:
                    break
                block = carry + block
                end = block.rfind(b"\n") + 1
                carry = block[end:]
                if end:
                    if self._offset == 0 and not self._head:
                        self._head = block[:min(end, 256)]
                    new_rows += self._parse(block[:end])
                    self._offset += end
        finally:
            if collecting:
                gc.enable()
        return new_rows

    def _parse(self, data: bytes) -> int:
        try:  # one parse of the whole block as a JSON array is much faster than one call per line
            rows = _loads(b"[" + data[:-1].replace(b"\n", b",") + b"]")
        except _DecodeError:
            rows = self._parse_lines(data)
        self._ingest(rows)
        self.rows_parsed += len(rows)
        return len(rows)

    def _parse_lines(self, data: bytes) -> list[dict]:
        """The slow path, for a block with a blank or broken line (a crash can leave a fragment)."""
        rows = []
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                row = _loads(line)
            except _DecodeError:
                self.bad_lines += 1
                continue
            rows.append(row)
        return rows

    def _ingest(self, rows: list[dict]) -> None:
        train: list[dict] = []
        val: list[dict] = []
        scores: list[dict] = []
        for row in rows:
            if type(row) is not dict:  # valid JSON, but not a row: a number or list on a line of its own
                self.bad_lines += 1
                continue
            kind = row.get("kind")
            if kind == "train":
                train.append(row)
            elif kind == "val":
                val.append(row)
            elif kind == "eval":
                scores.append(row)
            elif kind == "event" and str(row.get("event", "")).startswith(EVAL_EVENT_PREFIX):
                self.eval_events.append(row)
            elif kind == "event":
                if row.get("event") in ("start", "resume"):
                    # rows before a restart belong to the abandoned trajectory past its step
                    self._flush(train, val, scores)
                    train, val, scores = [], [], []
                    self._begin_segment(row)
                elif row.get("event") == "stalled":
                    self._flush(train, val, scores)
                    train, val, scores = [], [], []
                    self._stalled = True
                self._note_event(row)
        self._flush(train, val, scores)

    def _flush(self, train: list[dict], val: list[dict], scores: list[dict] = ()) -> None:
        if train:
            self._stalled = False  # training moved on after any stall
            self._recent.extend(train[-RECENT_ROWS:])
        self._train.add(train)
        self._val.add(val)
        self._eval.add(list(scores))

    def _begin_segment(self, event: dict) -> None:
        step = int(event.get("step") or 0)
        self._train.truncate_after(step)
        self._val.truncate_after(step)
        self._eval.truncate_after(step)
        self._recent.clear()
        self._segment_start = event
        self._error = None
        self._stalled = False

    def _note_event(self, event: dict) -> None:
        self.events.append(event)
        name = event.get("event")
        if name == "checkpoint":
            self._last_checkpoint = event.get("step")
        elif name == "error":
            self._error = str(event.get("message") or event.get("error") or "training failed (no message)")

    # -- results ---------------------------------------------------------------------------

    @property
    def train(self) -> pd.DataFrame:
        return self._train.frame

    @property
    def val(self) -> pd.DataFrame:
        return self._val.frame

    @property
    def eval(self) -> pd.DataFrame:
        """The evaluator's rows: step, epoch, cer, similarity, ... (one per evaluated checkpoint; step 0 is the base)."""
        return self._eval.frame

    def progress(self) -> Progress:
        recent = list(self._recent)
        last = recent[-1] if recent else {}
        last_event = self.events[-1] if self.events else {}
        step = int(last.get("step") or 0)
        if last_event.get("step") is not None and last_event["step"] > step:
            step = int(last_event["step"])
        steps_total = (self._segment_start or {}).get("steps_total")
        sec_per_step = _mean([r.get("sec_per_step") for r in recent])
        eta = None
        if steps_total is not None and sec_per_step is not None:
            eta = max(0, int(steps_total) - step) * sec_per_step
        if last_event.get("event") == "done":
            eta = 0.0
        return Progress(step=step, steps_total=steps_total, epoch=last.get("epoch", last_event.get("epoch")),
                        sec_per_step=sec_per_step, samples_per_sec=_samples_per_sec(recent, sec_per_step),
                        eta_seconds=eta, last_event=last_event.get("event"),
                        last_checkpoint_step=self._last_checkpoint, error=self._error, stalled=self._stalled)


def _mean(values: list) -> float | None:
    values = [v for v in values if isinstance(v, (int, float))]
    return sum(values) / len(values) if values else None


def _samples_per_sec(recent: list[dict], sec_per_step: float | None) -> float | None:
    rows = [r for r in recent if isinstance(r.get("samples"), (int, float)) and r.get("step")]
    if not rows or not sec_per_step:
        return None
    first, last = rows[0], rows[-1]
    if last["step"] > first["step"]:
        per_step = (last["samples"] - first["samples"]) / (last["step"] - first["step"])
    else:
        per_step = last["samples"] / last["step"]
    return per_step / sec_per_step


def read_eval(path: str | os.PathLike) -> pd.DataFrame:
    """The eval rows of a run folder or metrics.jsonl (none for old logs, which have no such rows)."""
    path = Path(path)
    if (path.is_dir() and (path / METRICS_FILE).is_file()) or path.suffix == ".jsonl":
        reader = MetricsReader(path)
        reader.refresh()
        return reader.eval
    return pd.DataFrame()


def read_metrics(path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """(train, val, events) from a run folder, a metrics.jsonl, a DLAS / ai-voice-cloning log or a folder of logs."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    # a run folder (train.yaml in it) reads its own metrics, none yet before the first step; its train.log
    # is this trainer's log, not one of the DLAS logs a folder without either file holds
    if path.is_dir() and not (path / METRICS_FILE).is_file() and not (path / "train.yaml").is_file():
        from .dlas_logs import read_log_folder
        return read_log_folder(path)
    if path.is_dir() or path.suffix == ".jsonl":
        reader = MetricsReader(path)
        reader.refresh()
        return reader.train, reader.val, reader.events
    from .dlas_logs import read_log
    return read_log(path)


def metrics_table(train: pd.DataFrame, val: pd.DataFrame, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """One table of train, val and eval rows by step: columns kind, step, epoch, then each metric."""
    kinds = (("train", train), ("val", val), ("eval", scores if scores is not None else pd.DataFrame()))
    parts = [frame.assign(kind=kind) for kind, frame in kinds if len(frame)]
    if not parts:
        return pd.DataFrame(columns=["kind", "step", "epoch"])
    table = pd.concat(parts, ignore_index=True).sort_values("step", kind="stable")
    metrics = [c for c in table.columns if c not in INDEX_COLUMNS]
    return table[["kind", "step", "epoch", *metrics]].reset_index(drop=True)
