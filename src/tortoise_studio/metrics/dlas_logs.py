"""Reading the predecessor's logs (DL-Art-School, as printed alone or by ai-voice-cloning), so old runs can be compared.

Lines it understands, each optionally behind ai-voice-cloning's `[Training] [timestamp] ` prefix and
DLAS's own `yy-mm-dd hh:mm:ss.mmm - INFO: ` prefix:
  Training Metrics: {"loss_text_ce": .., "loss_mel_ce": .., "loss_gpt_total": .., "lr": .., "it": 10,
                     "step": 2, "steps": 2, "epoch": 4, "iteration_rate": 12.1}     (JSON, maybe pretty-printed)
  Validation Metrics: {...}                                                          (same keys)
  [epoch:  3, iter:   1,234, lr:(1.000e-05,)] step: 1.2340e+03 loss_mel_ce: 2.1e+00 ...   (older DLAS)
  Start training from epoch: 0, iter: 0 / Total epochs needed: 10 for iters 80 / Traceback ... XError: msg
Everything else (config dumps, warnings, HTTP logs) is passed over.

DLAS's `it` is our `step` (optimizer steps); its `step` / `steps` are the position within the epoch,
which with its 0-based `epoch` gives our fractional epoch: epoch + step / steps.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

from ..errors import UserError

AIVC_PREFIX = re.compile(r"^\[Training\] \[([^\]]*)\]\s?")
JSON_MARKER = re.compile(r"(Training|Validation) Metrics:\s*(\{.*)?$")
BRACKET_LINE = re.compile(r"\[(?:rank:\s*\d+,?\s*)?epoch:\s*(\d+),\s*iter:\s*([\d,]+),\s*lr:\(([^)]*)\)\]\s*(.*)")
KEY_VALUE = re.compile(r"([A-Za-z_][\w./-]*):\s*([-+]?(?:\d[\d.]*(?:[eE][-+]?\d+)?|nan|inf))")
START_LINE = re.compile(r"Start training from epoch:\s*(\d+),\s*iter:\s*(\d+)")
TOTAL_LINE = re.compile(r"Total epochs needed:\s*(\d+) for iters\s*(\d+)")
ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt)): ?(.*)$")
LOG_SUFFIXES = (".log", ".txt")
MAX_JSON_LINES = 200  # a pretty-printed metrics body never spans more; stop looking for its end after that


def read_log(path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """(train, val, events) of one log file."""
    return _frames(parse_log(Path(path)))


def read_log_folder(folder: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Every .log/.txt file of `folder` in name order (DLAS names them by date); a step seen twice keeps its last row."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in LOG_SUFFIXES)
    if not files:
        raise UserError(f"{folder}: no metrics.jsonl and no .log files in this folder")
    return _frames([row for f in files for row in parse_log(f)])


def parse_log(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_lines(f)


def parse_lines(lines) -> list[dict]:
    """Rows in the metrics.jsonl schema (kind train / val / event) from DLAS or ai-voice-cloning output."""
    parser = _LogParser()
    for line in lines:
        parser.feed(line.rstrip("\r\n"))
    return parser.rows


class _LogParser:
    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.step = 0
        self.steps_total: int | None = None
        self._pending: tuple[str, list[str], str | None, bool] | None = None  # (kind, lines, time, bare) of an open JSON body
        self._in_traceback = False

    def feed(self, line: str) -> None:
        time = None
        prefix = AIVC_PREFIX.match(line)
        if prefix:
            time, line = prefix.group(1), line[prefix.end():]
        if self._pending is not None:
            self._continue_json(line)
            return
        marker = JSON_MARKER.search(line)
        if marker:
            kind = "train" if marker.group(1) == "Training" else "val"
            self._start_json(kind, marker.group(2) or "", time)
        elif line.strip() == "{":  # a pretty-printed Training Metrics body whose marker line was cut off
            self._start_json("train", "{", time, bare=True)
        elif bracket := BRACKET_LINE.search(line):
            self._bracket_row(bracket, time)
        else:
            self._other(line, time)

    # JSON metrics, on one line or pretty-printed over several
    def _start_json(self, kind: str, text: str, time: str | None, *, bare: bool = False) -> None:
        self._pending = (kind, [text], time, bare)
        self._try_finish()

    def _continue_json(self, line: str) -> None:
        self._pending[1].append(line)
        self._try_finish()

    def _try_finish(self) -> None:
        kind, lines, time, bare = self._pending
        text = "\n".join(lines)
        still_open = text.count("{") > text.count("}") or ("{" not in text and len(lines) < 3)
        if still_open and len(lines) < MAX_JSON_LINES:
            return
        self._pending = None
        try:
            data = json.loads(text)
        except ValueError:
            return
        if not isinstance(data, dict) or (bare and not any(k.startswith("loss") for k in data)):
            return
        self._json_row(kind, data, time)

    def _json_row(self, kind: str, data: dict, time: str | None) -> None:
        data = {k.removeprefix("val_") if kind == "val" else k: v for k, v in data.items()}
        step = data.pop("it", None)
        if step is None:  # validation lines may lack `it`: they belong to the last training step
            step = self.step if kind == "val" else data.get("step", self.step)
        epoch = data.pop("epoch", None)
        in_epoch, per_epoch = data.pop("step", None), data.pop("steps", None)
        if epoch is not None and in_epoch is not None and per_epoch:
            epoch = epoch + in_epoch / per_epoch
        if "iteration_rate" in data:
            data["sec_per_step"] = data.pop("iteration_rate")
        self._add(kind, int(step), epoch, data, time)

    # `[epoch: E, iter: I, lr:(...)] key: value ...` of the original DL-Art-School
    def _bracket_row(self, match: re.Match, time: str | None) -> None:
        epoch, step = int(match.group(1)), int(match.group(2).replace(",", ""))
        values = {k: float(v) for k, v in KEY_VALUE.findall(match.group(4))}
        for k in ("step", "megasamples"):  # `step` repeats iter; megasamples repeats samples
            values.pop(k, None)
        if "samples" in values:
            values["samples"] = int(values["samples"])
        if "iteration_rate" in values:
            values["sec_per_step"] = values.pop("iteration_rate")
        lrs = [float(v) for v in match.group(3).split(",") if v.strip()]
        if lrs:
            values["lr"] = lrs[0]
        self._add("train", step, float(epoch), values, time)

    def _other(self, line: str, time: str | None) -> None:
        if m := TOTAL_LINE.search(line):
            self.steps_total = int(m.group(2))
        elif m := START_LINE.search(line):
            self.step = int(m.group(2))
            self._event("start", step=self.step, epoch=int(m.group(1)), steps_total=self.steps_total, time=time)
        elif "Traceback (most recent call last)" in line:
            self._in_traceback = True
        elif self._in_traceback and (m := ERROR_LINE.match(line.strip())):
            self._in_traceback = False
            self._event("error", step=self.step, message=f"{m.group(1)}: {m.group(2)}".strip(), time=time)

    def _add(self, kind: str, step: int, epoch, values: dict, time: str | None) -> None:
        if kind == "train":
            self.step = step
        row = {"kind": kind, "step": step, "epoch": epoch, **values}
        if time:
            row["time"] = time
        self.rows.append(row)

    def _event(self, name: str, **fields) -> None:
        self.rows.append({"kind": "event", "event": name, **{k: v for k, v in fields.items() if v is not None}})


def _frames(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    frames = []
    for kind in ("train", "val"):
        table = pd.DataFrame([r for r in rows if r["kind"] == kind])
        if len(table):
            # logs of a resumed run repeat steps: the later line is the one the run continued from
            table = (table.drop(columns="kind").drop_duplicates("step", keep="last")
                     .sort_values("step", kind="stable").reset_index(drop=True))
        else:
            table = pd.DataFrame({"step": pd.Series(dtype="int64"), "epoch": pd.Series(dtype="float64")})
        frames.append(table)
    return frames[0], frames[1], [r for r in rows if r["kind"] == "event"]
