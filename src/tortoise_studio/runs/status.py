"""What state a run is in, read only from files in its folder (so it works after any restart).

A run folder holds train.yaml (configured), run.pid (written by launch.py at every launch),
metrics.jsonl (the trainer's rows and events) and console.log (the processes' output).
The state comes from two facts: are the run's processes alive, and which events did the
latest launch write.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import process
from ..errors import UserError
from ..fileio import atomic_write_json

from ..workspace import RUN_CONFIG_FILE, TRAIN_LOG, Workspace

PID_FILE = "run.pid"
CONSOLE_LOG = "console.log"
CONFIG_FILE = RUN_CONFIG_FILE
LAUNCH_MARK = "==== tortoise-studio launch"  # first line of each launch's section of console.log
TAIL_LINES = 20


@dataclass
class PidInfo:
    """The content of run.pid: enough to find, identify and signal a run's processes."""

    pid: int
    pgid: int
    argv: list[str]
    devices: list[str]
    started: str  # ISO-8601, UTC
    host: str
    start_ticks: int | None = None  # /proc start time: tells the run from a process that reused its pid
    stop_requested: str | None = None  # ISO-8601: when `stop` asked it to end
    node_rank: int = 0  # which machine of a multi-machine run this is

    def is_local(self) -> bool:
        return self.host == socket.gethostname()

    def alive(self) -> bool:
        """Any process of the run still running (the launcher, or a torchrun worker it left behind)."""
        if process.is_alive(self.pid, self.start_ticks):
            return True
        if self.start_ticks is None or process.start_ticks(self.pid) not in (None, self.start_ticks):
            # The pid now belongs to another process. Linux never hands out a pid while a group of
            # that id exists, so none of this run's processes is left either.
            return False
        return bool(process.group_members(self.pgid, since_ticks=self.start_ticks))


def pid_file_name(node_rank: int = 0) -> str:
    """run.pid for the machine that writes the metrics (node 0); run.node<K>.pid for the others, so
    machines sharing the run folder over a network file system never overwrite each other's."""
    return PID_FILE if node_rank == 0 else f"run.node{node_rank}.pid"


def console_log_name(node_rank: int = 0) -> str:
    return CONSOLE_LOG if node_rank == 0 else f"console.node{node_rank}.log"


def write_pid_file(run_dir: Path, info: PidInfo) -> Path:
    return atomic_write_json(run_dir / pid_file_name(info.node_rank), info.__dict__, indent=1)


def read_pid_file(run_dir: Path, name: str = PID_FILE) -> PidInfo | None:
    """run.pid (or another node's pid file), or None when there is none or it is unreadable."""
    try:
        data = json.loads((run_dir / name).read_text())
        return PidInfo(**{k: data[k] for k in PidInfo.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        return None


def local_pid_files(run_dir: Path) -> list[PidInfo]:
    """Every pid file of the run written on this machine (node 0's and any other node's)."""
    found = [read_pid_file(run_dir, p.name) for p in sorted(run_dir.glob("run*.pid"))]
    return [info for info in found if info is not None and info.is_local()]


@dataclass
class RunStatus:
    run_dir: Path
    dataset: str
    run: str
    state: str  # configured | running | stalled | stopped | done | failed | crashed
    step: int = 0
    steps_total: int | None = None
    epoch: float = 0.0
    eta_seconds: float | None = None
    sec_per_step: float | None = None
    last_checkpoint: int | None = None
    message: str = ""
    pid: int | None = None
    devices: list[str] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.state in ("running", "stalled")

    @property
    def label(self) -> str:
        return f"{self.dataset}/{self.run}"


def find_run_dir(path: str | os.PathLike, workspace: Workspace | None = None) -> Path:
    """A run folder from a folder, its train.yaml, or DATASET/RUN inside the workspace."""
    candidate = Path(path).expanduser()
    if candidate.is_file() and candidate.name == CONFIG_FILE:
        candidate = candidate.parent
    if not candidate.is_dir() and workspace is not None and not candidate.is_absolute():
        parts = candidate.parts
        if len(parts) == 2:
            candidate = workspace.training / parts[0] / "runs" / parts[1]
    if not (candidate / CONFIG_FILE).is_file():
        raise UserError(f"{path}: not a run folder (no {CONFIG_FILE} in it)")
    return candidate.resolve()


def run_status(run_dir: str | os.PathLike, *, reader=None) -> RunStatus:
    """The state and progress of one run. Pass a MetricsReader kept between calls to read incrementally."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir}: not a run folder (no {CONFIG_FILE} in it)")
    if reader is None:
        reader = metrics_reader(run_dir)
    reader.refresh()
    progress = reader.progress()
    # node 0's pid file; on another machine of a multi-machine run, that machine's own
    info = read_pid_file(run_dir) or next(iter(local_pid_files(run_dir)), None)
    status = RunStatus(
        run_dir=run_dir, dataset=run_dir.parent.parent.name, run=run_dir.name, state="configured",
        step=progress.step or 0, steps_total=progress.steps_total, epoch=progress.epoch or 0.0,
        eta_seconds=progress.eta_seconds, sec_per_step=progress.sec_per_step,
        last_checkpoint=progress.last_checkpoint_step, pid=info.pid if info else None,
        devices=info.devices if info else [])
    status.state, status.message = _state(run_dir, info, reader.events, progress)
    if not status.alive:
        status.eta_seconds = None
    return status


def _state(run_dir: Path, info: PidInfo | None, events: list[dict], progress) -> tuple[str, str]:
    latest = _latest_launch_events(events, info)
    if info is None and not events:
        return "configured", ""
    error = next((e for e in reversed(latest) if e.get("event") == "error"), None)
    if error is not None:
        return "failed", str(error.get("message") or error.get("error") or "the trainer reported an error")
    if info is not None and not info.is_local():
        # Another machine's processes cannot be checked from here: trust the events.
        return _state_from_events(latest, default="running",
                                  message=f"started on host {info.host}; liveness is only known there")
    if info is not None and info.alive():
        if progress.stalled:
            stalled = next((e for e in reversed(latest) if e.get("event") == "stalled"), {})
            return "stalled", str(stalled.get("message") or "no training step completed recently")
        return "running", ""
    if info is not None and info.stop_requested:
        # Asked to stop, but ended without its own stop event: it was still starting up, or was
        # killed after the stop timeout. Stopped as asked, with nothing saved since its last checkpoint.
        resume = (f"resume continues from step {progress.last_checkpoint_step}"
                  if progress.last_checkpoint_step is not None else "no checkpoint yet: resume starts over")
        return _state_from_events(latest, default="stopped",
                                  message=f"stopped on request without a final checkpoint; {resume}")
    if info is not None and info.node_rank > 0:
        tail = log_tail(run_dir, node_rank=info.node_rank)
        return _state_from_events(latest, default="stopped", message=(
            f"this machine was node {info.node_rank}; the run's metrics and checkpoints are written on node 0"
            + (f"; last lines of its log:\n{tail}" if tail else "")))
    return _state_from_events(latest, default="crashed", message=_crash_message(run_dir))


def _state_from_events(latest: list[dict], *, default: str, message: str) -> tuple[str, str]:
    for event in reversed(latest):
        if event.get("event") == "done":
            return "done", ""
        if event.get("event") == "stop":
            return "stopped", f"stopped at step {event.get('step')}; resume continues from there"
    return default, message


def _latest_launch_events(events: list[dict], info: PidInfo | None) -> list[dict]:
    """The events of the newest launch: those written after run.pid's start time, or, without one,
    those from the last start/resume on. So a launch that died before writing anything is not
    mistaken for the clean stop of the launch before it."""
    if info is not None:
        started = _parse_time(info.started)
        if started is not None:
            return [e for e in events if (_parse_time(e.get("time")) or started) >= started]
    starts = [i for i, e in enumerate(events) if e.get("event") in ("start", "resume")]
    return events[starts[-1]:] if starts else list(events)


def _parse_time(text) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.astimezone()


def _crash_message(run_dir: Path) -> str:
    tail = log_tail(run_dir)
    head = "the run's processes ended without a done, stop or error event"
    return f"{head}; last lines of its log:\n{tail}" if tail else f"{head} and left no log"


def log_tail(run_dir: Path, lines: int = TAIL_LINES, *, node_rank: int = 0) -> str:
    """The end of the latest launch's console output, else of train.log."""
    for name in (console_log_name(node_rank), TRAIN_LOG):
        text = _read_end(run_dir / name)
        if name != TRAIN_LOG and LAUNCH_MARK in text:
            text = text[text.rfind(LAUNCH_MARK):].split("\n", 1)[-1]
        kept = [line for line in text.splitlines() if line.strip()]
        if kept:
            return "\n".join(kept[-lines:])
    return ""


def _read_end(path: Path, size: int = 64 * 1024) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - size))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def metrics_reader(run_dir: Path):
    """A MetricsReader for the run (imported here: it brings pandas, which `--help` should not pay for)."""
    from ..metrics.reader import MetricsReader
    return MetricsReader(run_dir)


def metrics_path(path: str, workspace) -> Path:
    """What `metrics PATH` reads: PATH as given, else inside the workspace (training/DATASET/runs/RUN), else
    DATASET/RUN as `status` takes it. A path found nowhere is returned as given (read_metrics names it)."""
    given = Path(path).expanduser()
    if given.exists() or given.is_absolute():
        return given
    if (workspace.root / given).exists():
        return workspace.root / given
    try:
        return find_run_dir(given, workspace)
    except UserError:
        return given


def metrics_command(args, workspace) -> int:
    """`tortoise-studio metrics PATH [--csv|--json]`: the run's (or old log's) table on stdout."""
    import sys
    from ..metrics.reader import metrics_table, read_eval, read_metrics
    from ..metrics.writer import json_safe
    path = metrics_path(args.path, workspace)
    train, val, _events = read_metrics(path)
    table = metrics_table(train, val, read_eval(path))
    if getattr(args, "json", False):
        for row in table.to_dict(orient="records"):
            row = {k: json_safe(v) for k, v in row.items()}
            print(json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False))
    else:
        table.to_csv(sys.stdout, index=False)
    return 0
