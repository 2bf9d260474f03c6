"""The evaluator process: started and stopped with a run, found again from files, shown in `status`.

It runs in a session (process group) of its own, so a kill of the evaluator never reaches the trainer,
and under `nice`, so on a shared CPU the trainer comes first. Its pid file is evaluate.pid in the run
folder (not run*.pid: it holds no training device). Nothing here ever raises into the launch of a run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import process
from .status import PidInfo, read_pid_file

EVALUATOR_MODULE = "tortoise_studio.evaluate"
EVALUATE_PID = "evaluate.pid"  # in the run folder beside run.pid
EVALUATE_LOG = "evaluate.log"
NICENESS = 10
# One CPU thread: on a shared CPU, many-threaded PyTorch beside the trainer made both crawl (a tiny-model
# sample took 137 s with the default threads under load, 6 s with one). On a GPU the CPU does little anyway.
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def evaluator_argv(run_dir: Path) -> list[str]:
    return [sys.executable, "-m", EVALUATOR_MODULE, str(run_dir), "--follow"]


def start_with_run(run_dir: Path, cfg, *, node_rank: int = 0, cwd: Path | None = None) -> PidInfo | None:
    """The launch hook: start the evaluator beside a run that has evaluation on (on node 0, which writes
    the metrics). A failure to start is written to evaluate.log and never stops the launch."""
    if not cfg.evaluation.enabled or node_rank != 0:
        return None
    try:
        stop_evaluator(run_dir)  # one evaluator per run: a relaunch replaces the old one
        return start_evaluator(run_dir, cwd=cwd)
    except OSError as exc:
        with open(run_dir / EVALUATE_LOG, "a", encoding="utf-8") as log:
            log.write(f"the evaluator could not be started: {exc}\n")
        return None


def start_evaluator(run_dir: Path, *, cwd: Path | None = None) -> PidInfo:
    argv = evaluator_argv(run_dir)
    with open(run_dir / EVALUATE_LOG, "ab") as log:
        proc = subprocess.Popen(argv, cwd=cwd or run_dir, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **THREADS},
                                preexec_fn=lambda: os.nice(NICENESS))
    info = PidInfo(pid=proc.pid, pgid=proc.pid, argv=argv, devices=[],
                   started=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                   host=socket.gethostname(), start_ticks=process.start_ticks(proc.pid))
    _write_pid(run_dir, info)
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-evaluator-{proc.pid}").start()
    return info


def _write_pid(run_dir: Path, info: PidInfo) -> None:
    path = run_dir / EVALUATE_PID
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(info.__dict__, indent=1) + "\n")
    os.replace(tmp, path)


def evaluator_info(run_dir: Path) -> PidInfo | None:
    return read_pid_file(Path(run_dir), EVALUATE_PID)


def evaluator_alive(run_dir: Path) -> bool:
    info = evaluator_info(run_dir)
    return info is not None and info.is_local() and info.alive()


def stop_evaluator(run_dir: Path) -> bool:
    """SIGTERM to the evaluator's process group; True when one was running. A checkpoint being scored is
    left unscored (no row): `tortoise-studio evaluate RUN_DIR` scores it later."""
    if not evaluator_alive(run_dir):
        return False
    return process.signal_group(evaluator_info(run_dir).pgid, signal.SIGTERM)


def stop_with_run(run_dir: Path) -> None:
    """The stop hook: the evaluator ends with the run it follows."""
    try:
        stop_evaluator(run_dir)
    except OSError:
        pass


@dataclass(frozen=True)
class EvaluationStatus:
    running: bool
    evaluated: list[int]  # steps scored, 0 = the base model
    best: int | None
    last_error: str | None
    pid: int | None

    def line(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "not running"
        parts = [f"evaluator: {state}",
                 f"scored steps {', '.join(map(str, self.evaluated))}" if self.evaluated else "nothing scored yet"]
        if self.best is not None:
            parts.append(f"best checkpoint: step {self.best}")
        text = "; ".join(parts)
        return text + (f"\nevaluation error: {self.last_error}" if self.last_error else "")


def evaluation_status(run_dir: Path, reader=None) -> EvaluationStatus:
    """What the evaluator did and does, from the run folder (pass a refreshed MetricsReader to reuse it)."""
    from ..metrics.reader import MetricsReader
    from ..metrics.series import best_step
    if reader is None:
        reader = MetricsReader(run_dir)
        reader.refresh()
    scores = reader.eval
    steps = sorted(set(int(s) for s in scores["step"])) if "step" in scores else []
    errors = [e for e in reader.eval_events if e.get("event") == "eval_error"]
    # an error older than the latest score is history, not news
    last_error = errors[-1].get("message") if errors and (not len(scores) or errors[-1].get("time", "") >=
                                                          str(scores["time"].iloc[-1])) else None
    info = evaluator_info(run_dir)
    return EvaluationStatus(running=evaluator_alive(run_dir), evaluated=steps, best=best_step(scores),
                            last_error=last_error, pid=info.pid if info else None)
