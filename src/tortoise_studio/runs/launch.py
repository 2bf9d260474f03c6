"""Start, stop and find training runs: one process, torchrun on N devices, or torchrun across machines.

A run is started in its own session (process group), with its output in the run folder and a
run.pid beside it, so it outlives the UI or terminal that started it and can be found and stopped
again from files alone. Commands are argv lists, never shell strings.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

from . import process
from ..devices import resolve_device
from ..errors import UserError
from .status import (CONFIG_FILE, LAUNCH_MARK, PidInfo, RunStatus, console_log_name, find_run_dir,
                   local_pid_files, log_tail, metrics_reader, read_pid_file, run_status, write_pid_file)
from ..workspace import Workspace

__all__ = ["RunStatus", "run_status", "build_argv", "start_run", "run_foreground", "stop_run",
           "RunService", "train_command", "status_command", "stop_command"]

TRAINER_MODULE = "tortoise_studio.train"
TORCHRUN_MODULE = "torch.distributed.run"
LOCK_FILE = ".launch.lock"


@dataclass(frozen=True)
class Topology:
    """How many processes on how many machines, and how the machines find each other."""

    processes: int = 1  # per machine
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None

    @property
    def distributed(self) -> bool:
        return self.processes > 1 or self.nnodes > 1


def topology(cfg, *, processes: int | None = None, nnodes: int | None = None, node_rank: int = 0,
             rdzv_endpoint: str | None = None) -> Topology:
    """The launch shape: `gpus` processes per machine on `nodes` machines, unless overridden.

    `processes` may differ from cfg.gpus (e.g. 1 process doing the work of `gpus: 2`): the trainer's
    results depend only on the configuration, and it checks that the process count fits."""
    shape = Topology(processes=int(processes or cfg.gpus), nnodes=int(nnodes or cfg.nodes),
                     node_rank=int(node_rank), rdzv_endpoint=rdzv_endpoint)
    if shape.processes < 1:
        raise UserError(f"gpus: {shape.processes} is not a process count (1 or more)")
    if shape.nnodes < 1:
        raise UserError(f"nodes: {shape.nnodes} is not a machine count (1 or more)")
    if shape.nnodes > 1 and not shape.rdzv_endpoint:
        raise UserError(f"nodes: {shape.nnodes} machines need --rdzv-endpoint HOST:PORT "
                        "(the address of the first machine, the same on every machine)")
    if not 0 <= shape.node_rank < shape.nnodes:
        raise UserError(f"--node-rank {shape.node_rank}: must be from 0 to {shape.nnodes - 1}")
    return shape


def build_argv(config_path: str | os.PathLike, cfg, *, resume: str = "latest", overrides: Sequence[str] = (),
               force: bool = False, processes: int | None = None, nnodes: int | None = None,
               node_rank: int = 0, rdzv_endpoint: str | None = None) -> list[str]:
    """The trainer's command line: the module itself for one process, torch's launcher for more."""
    shape = topology(cfg, processes=processes, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint)
    trainer = [TRAINER_MODULE, str(config_path), "--resume", str(resume)]
    for override in overrides:
        trainer += ["--set", str(override)]
    if force:
        trainer.append("--force")
    if not shape.distributed:
        return [sys.executable, "-m", *trainer]
    launcher = [sys.executable, "-m", TORCHRUN_MODULE, f"--nproc_per_node={shape.processes}"]
    if shape.nnodes == 1:
        launcher.append("--standalone")
    else:
        # Static rendezvous: global rank = node rank x processes + local rank, so node 0 holds rank 0,
        # the one that writes the run's files (c10d's dynamic rendezvous hands ranks out by arrival).
        launcher += [f"--nnodes={shape.nnodes}", f"--node-rank={shape.node_rank}", "--rdzv-backend=static",
                     f"--rdzv-endpoint={shape.rdzv_endpoint}"]
    return [*launcher, "-m", *trainer]


def run_devices(cfg, processes: int) -> list[str]:
    """The devices a run will hold on this machine, as written to run.pid ("cpu" or "cuda:<id>")."""
    if resolve_device(cfg.device) == "cpu":
        return ["cpu"]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v.strip() for v in visible.split(",") if v.strip()]
    else:
        import torch
        ids = [str(i) for i in range(torch.cuda.device_count())]
    if len(ids) < processes:
        raise UserError(f"gpus: {processes} processes need {processes} CUDA devices, "
                        f"but {len(ids)} are visible ({', '.join(ids) or 'none'})")
    return [f"cuda:{i}" for i in ids[:processes]]


def start_run(config_path: str | os.PathLike, *, resume: str = "latest", overrides: Sequence[str] = (),
              force: bool = False, detach: bool = True, processes: int | None = None,
              nnodes: int | None = None, node_rank: int = 0, rdzv_endpoint: str | None = None,
              env: dict | None = None) -> RunStatus:
    """Start a run in its own process group and return at once (detach) or when it ends.

    Refused when this run is already alive, or when another live run holds the same devices
    (unless `force`). `env` adds environment variables for the trainer."""
    if not detach:
        run_foreground(config_path, resume=resume, overrides=overrides, force=force, processes=processes,
                       nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, env=env)
        return run_status(_config_file(config_path).parent)
    proc, run_dir, _ = _launch(config_path, resume=resume, overrides=overrides, force=force, processes=processes,
                               nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, env=env)
    # Reap the child when it ends, so a long-lived UI never keeps zombies (and never reports one as alive).
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()
    return run_status(run_dir)


def run_foreground(config_path: str | os.PathLike, *, resume: str = "latest", overrides: Sequence[str] = (),
                   force: bool = False, processes: int | None = None, nnodes: int | None = None,
                   node_rank: int = 0, rdzv_endpoint: str | None = None, env: dict | None = None,
                   echo: bool = True) -> int:
    """Run to the end with the output on this terminal (and in console.log); returns the exit status.

    Ctrl-C or SIGTERM here becomes a SIGTERM to the run's process group (a graceful stop with a
    checkpoint); a second one kills the group."""
    proc, run_dir, info = _launch(config_path, resume=resume, overrides=overrides, force=force,
                                  processes=processes, nnodes=nnodes, node_rank=node_rank,
                                  rdzv_endpoint=rdzv_endpoint, env=env, pipe=True)
    with _forward_signals(run_dir, info), open(run_dir / console_log_name(node_rank), "ab") as log:
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):
            log.write(chunk)
            log.flush()
            if echo:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
        returncode = proc.wait()
    return process.exit_status(returncode)


def _launch(config_path, *, resume, overrides, force, processes, nnodes, node_rank, rdzv_endpoint, env,
            pipe: bool = False) -> tuple[subprocess.Popen, Path, PidInfo]:
    config_path, cfg, workspace = _load(config_path, overrides)
    run_dir = config_path.parent
    argv = build_argv(config_path, cfg, resume=resume, overrides=overrides, force=force, processes=processes,
                      nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint)
    shape = topology(cfg, processes=processes, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint)
    devices = run_devices(cfg, shape.processes)
    with _launch_lock(workspace):
        _refuse_conflicts(workspace, run_dir, devices, node_rank=shape.node_rank, force=force)
        started = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        with open(run_dir / console_log_name(shape.node_rank), "ab") as log:
            log.write(f"{LAUNCH_MARK} {started} on {socket.gethostname()}: {argv!r}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                argv, cwd=workspace.root, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if pipe else log, stderr=subprocess.STDOUT,
                start_new_session=True)  # its own process group: survives us, and stops as one
        info = PidInfo(pid=proc.pid, pgid=proc.pid, argv=argv, devices=devices, started=started,
                       host=socket.gethostname(), start_ticks=process.start_ticks(proc.pid),
                       node_rank=shape.node_rank)
        write_pid_file(run_dir, info)
    _start_evaluation(run_dir, cfg, shape.node_rank, workspace)
    return proc, run_dir, info


def _start_evaluation(run_dir: Path, cfg, node_rank: int, workspace: Workspace) -> None:
    """Checkpoint evaluation (runs/evaluator.py) runs beside the trainer; it never stops a launch."""
    from .evaluator import start_with_run
    start_with_run(run_dir, cfg, node_rank=node_rank, cwd=workspace.root)


def _load(config_path, overrides: Sequence[str]):
    """The configuration as the trainer will see it, parsed and validated once for this launch; its errors
    stop the launch here, with the file named. (The trainer, its own entry point, checks it once again.)"""
    from ..config import resolve_config
    resolved = resolve_config(_config_file(config_path), list(overrides))
    return resolved.path, resolved.cfg, resolved.workspace


def _config_file(config_path: str | os.PathLike) -> Path:
    """The configuration file, given it or its run folder; the run folder is the file's folder."""
    path = Path(config_path).expanduser()
    if path.is_dir():
        path = path / CONFIG_FILE
    if not path.is_file():
        raise UserError(f"{config_path}: no such configuration file")
    return path.resolve()


@contextmanager
def _launch_lock(workspace: Workspace) -> Iterator[None]:
    """One launch at a time per workspace, so two clicks cannot both pass the device check."""
    workspace.training.mkdir(parents=True, exist_ok=True)
    with open(workspace.training / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _refuse_conflicts(workspace: Workspace, run_dir: Path, devices: list[str], *, node_rank: int,
                      force: bool) -> None:
    for other_dir in _run_dirs(workspace, run_dir):
        for info in local_pid_files(other_dir):
            if not info.alive():
                continue
            label = f"{other_dir.parent.parent.name}/{other_dir.name}"
            if other_dir == run_dir:
                if info.node_rank == node_rank:
                    raise UserError(f"{label} is already running (pid {info.pid}); stop it first: "
                                    f"tortoise-studio stop {str(other_dir)!r}")
                continue  # another machine's part of this same run (tried out on one machine)
            shared = sorted(set(devices) & set(info.devices))
            if shared and not force:
                raise UserError(f"{label} is running on {', '.join(shared)} (pid {info.pid}); stop it first, "
                                "or start anyway with --force (both runs then share the device)")


def _run_dirs(workspace: Workspace, run_dir: Path) -> list[Path]:
    """Every run folder of the workspace, plus this one (it may live outside the workspace)."""
    dirs = [d.resolve() for d in workspace.list_runs()]
    return dirs if run_dir in dirs else [run_dir, *dirs]


def stop_run(run_dir: str | os.PathLike, *, timeout: float = 120, wait: bool = True) -> RunStatus:
    """Ask a run to stop (SIGTERM: it checkpoints, writes "stop" and exits); SIGKILL after `timeout`.

    Stops the run's processes on this machine; on a multi-machine run, stopping node 0 stops every
    machine (the trainer's ranks agree on the step to stop at). With wait=False return at once and
    escalate from a daemon thread (what the UI does)."""
    run_dir = find_run_dir(run_dir)
    from .evaluator import stop_with_run
    stop_with_run(run_dir)  # the evaluator ends with its run
    live = [info for info in local_pid_files(run_dir) if info.alive()]
    if not live:
        status = run_status(run_dir)
        remote = read_pid_file(run_dir)
        if status.alive and remote is not None and not remote.is_local():
            raise UserError(f"{run_dir}: runs on host {remote.host}; stop it there")
        return status
    for info in live:
        _request_stop(run_dir, info)
    if wait:
        for info in live:
            _escalate(info, timeout)
        return run_status(run_dir)
    for info in live:
        threading.Thread(target=_escalate, args=(info, timeout), daemon=True, name=f"stop-{info.pid}").start()
    status = run_status(run_dir)
    status.message = status.message or "stopping: saving a checkpoint"
    return status


def _request_stop(run_dir: Path, info: PidInfo) -> None:
    info.stop_requested = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    write_pid_file(run_dir, info)  # so a run that cannot stop gracefully reads as stopped, not crashed
    _terminate(info)


def _terminate(info: PidInfo) -> None:
    """SIGTERM to the training processes only, not to the whole group: any helper processes
    share the group, and one killed mid-step would turn the graceful stop into a crash."""
    targets = [info.pid]
    if _is_torchrun(info.argv):
        # torchrun kills its workers 30 s after its own SIGTERM, which can cut a checkpoint short:
        # stop its workers (its children), and torchrun ends by itself once they have exited.
        targets = process.group_members(info.pgid, since_ticks=info.start_ticks, parent=info.pid) or targets
    process.signal_pids(targets, signal.SIGTERM)


def _escalate(info: PidInfo, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while info.alive():
        if time.monotonic() >= deadline:
            process.signal_group(info.pgid, signal.SIGKILL)
            _wait_dead(info, 10)
            return
        time.sleep(0.2)


def _wait_dead(info: PidInfo, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while info.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not info.alive()


def _is_torchrun(argv: Sequence[str]) -> bool:
    return TORCHRUN_MODULE in argv[:3]


@contextmanager
def _forward_signals(run_dir: Path, info: PidInfo) -> Iterator[None]:
    """While the foreground run lives, Ctrl-C / SIGTERM here stop it gracefully; a second one kills it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def forward(signum, frame):
        received.append(signum)
        if len(received) == 1:
            _request_stop(run_dir, info)
            print("\nstopping: the run saves a checkpoint first (press Ctrl-C again to kill it)",
                  file=sys.stderr, flush=True)
        else:
            process.signal_group(info.pgid, signal.SIGKILL)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class RunService:
    """The one service for runs, used by the command line and the web UI alike: start, stop, find, list
    and status (reading each run's metrics incrementally), checkpoints, and the runs' TensorBoard
    servers, which live as long as this service's process (see tensorboards.py)."""

    def __init__(self, workspace: Workspace, *, host: str = "127.0.0.1"):
        self.workspace = workspace
        self.host = host  # where the owner (the UI) listens: TensorBoard is served there too
        self._readers: dict[Path, object] = {}
        self._tensorboards = None
        self._lock = threading.Lock()

    def start(self, config_path: str | os.PathLike, *, detach: bool = True, **options) -> RunStatus:
        return start_run(config_path, detach=detach, **options)

    def run_foreground(self, config_path: str | os.PathLike, **options) -> int:
        return run_foreground(config_path, **options)

    def stop(self, run_dir: str | os.PathLike, *, timeout: float = 120, wait: bool = False) -> RunStatus:
        return stop_run(self.find(run_dir), timeout=timeout, wait=wait)

    def find(self, path: str | os.PathLike) -> Path:
        """A run folder from a folder, its train.yaml, or DATASET/RUN inside the workspace."""
        return find_run_dir(path, self.workspace)

    def reader(self, run_dir: str | os.PathLike):
        """The run's MetricsReader, kept between calls and refreshed (only new rows are parsed)."""
        run_dir = Path(run_dir).resolve()
        with self._lock:
            if run_dir not in self._readers:
                self._readers[run_dir] = metrics_reader(run_dir)
            reader = self._readers[run_dir]
        reader.refresh()
        return reader

    def status(self, run_dir: str | os.PathLike) -> RunStatus:
        run_dir = Path(run_dir).resolve()
        return run_status(run_dir, reader=self.reader(run_dir))

    def list(self, dataset: str | None = None) -> list[RunStatus]:
        """Every run of the workspace (or of one dataset), newest first."""
        return [self.status(run_dir) for run_dir in self.workspace.list_runs(dataset)]

    def checkpoints(self, run_dir: str | os.PathLike) -> list:
        """The run's complete checkpoints, latest first."""
        from .checkpoints import list_checkpoints
        return list_checkpoints(run_dir)

    def tensorboard(self, run_dir: str | os.PathLike, page_host: str | None = None) -> str:
        """The address of the run's TensorBoard (started on first use, on this service's host)."""
        from .tensorboards import TensorBoards
        with self._lock:
            if self._tensorboards is None:
                self._tensorboards = TensorBoards(self.host)
        return self._tensorboards.url(self.find(run_dir), page_host)

    def close(self) -> None:
        """Stop the TensorBoard servers this service started (also done at exit)."""
        if self._tensorboards is not None:
            self._tensorboards.close()


# ---- command line -------------------------------------------------------------------------------

def train_command(args: argparse.Namespace, workspace: Workspace) -> int:
    runs = RunService(workspace)
    options = dict(resume=args.resume, overrides=args.overrides, force=args.force,
                   nnodes=getattr(args, "nnodes", None), node_rank=getattr(args, "node_rank", 0) or 0,
                   rdzv_endpoint=getattr(args, "rdzv_endpoint", None))
    if not args.detach:
        return runs.run_foreground(args.config, **options)
    status = runs.start(args.config, detach=True, **options)
    print(f"started {status.label} (pid {status.pid}) on {', '.join(status.devices)}")
    print(f"run folder: {status.run_dir}")
    print(f"watch: tortoise-studio status {str(status.run_dir)!r}    stop: tortoise-studio stop {str(status.run_dir)!r}")
    return 0


def status_command(args: argparse.Namespace, workspace: Workspace) -> int:
    runs = RunService(workspace)
    if args.run_dir:
        status = runs.status(runs.find(args.run_dir))
        print(format_table([status]))
        print(f"\nrun folder: {status.run_dir}")
        if status.last_checkpoint is not None:
            print(f"last checkpoint: step {status.last_checkpoint}")
        if status.message:
            print(status.message)
        from .evaluator import evaluation_status
        evaluation = evaluation_status(status.run_dir)
        if evaluation.running or evaluation.evaluated or evaluation.last_error:
            print(evaluation.line())
        tail = log_tail(status.run_dir, lines=10) if status.state != "crashed" else ""
        if tail:
            print("\nlog:\n" + tail)
        return 0
    statuses = runs.list()
    print(format_table(statuses) if statuses else f"no runs under {workspace.training}")
    return 0


def stop_command(args: argparse.Namespace, workspace: Workspace) -> int:
    runs = RunService(workspace)
    run_dir = runs.find(args.run_dir)
    before = runs.status(run_dir)
    if not before.alive:
        print(f"{before.label} is not running ({before.state})")
        return 0
    print(f"stopping {before.label} (pid {before.pid}): waiting up to {args.timeout:g} s for its checkpoint")
    after = runs.stop(run_dir, timeout=args.timeout, wait=True)
    print(f"{after.label}: {after.state} at step {after.step}"
          + (f", last checkpoint at step {after.last_checkpoint}" if after.last_checkpoint is not None else ""))
    return 0 if after.state in ("stopped", "done") else 1


def format_table(statuses: Sequence[RunStatus]) -> str:
    rows = [("RUN", "STATE", "STEP", "EPOCH", "ETA")]
    for s in statuses:
        steps = f"{s.step}/{s.steps_total}" if s.steps_total else str(s.step)
        rows.append((s.label, s.state, steps, f"{s.epoch:.2f}", _duration(s.eta_seconds)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
