"""TensorBoard servers for runs, owned by the process that starts them (the web UI).

One server per run folder, started on demand on the address the UI listens on. Each is stopped when
its owner ends: `close()` at interpreter exit (atexit) and, in the UI, on SIGTERM / SIGHUP too
(`exit_on_signals`). Each server writes tensorboard.pid into its run folder, so a server left behind by
an owner that was killed outright (SIGKILL) is found and stopped the next time that run's TensorBoard
is asked for: none accumulate.
"""

from __future__ import annotations

import atexit
import json
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from . import process
from ..fileio import atomic_write_json
from ..workspace import TENSORBOARD_DIR

PID_FILE = "tensorboard.pid"
LOG_FILE = "tensorboard.log"
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


@dataclass(frozen=True)
class Server:
    pid: int
    start_ticks: int | None
    port: int

    def alive(self) -> bool:
        return process.is_alive(self.pid, self.start_ticks)


class TensorBoards:
    """The TensorBoard servers of one owner, bound to `host` (the UI's listening address)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self._servers: dict[Path, Server] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    def url(self, run_dir: str | Path, page_host: str | None = None) -> str:
        """The address of the run's TensorBoard, started if it is not running. Its host is the one the
        servers listen on; for a wildcard (0.0.0.0) it is `page_host`, the host name the browser reached
        the UI by, else this machine's name."""
        run_dir = Path(run_dir).resolve()
        with self._lock:
            server = self._servers.get(run_dir)
            if server is None or not server.alive():
                _stop_leftover(run_dir)
                server = self._servers[run_dir] = self._start(run_dir)
        return f"http://{_url_host(self.link_host(page_host))}:{server.port}/"

    def running(self) -> list[int]:
        """Pids of the live servers this owner started."""
        with self._lock:
            return [s.pid for s in self._servers.values() if s.alive()]

    def close(self) -> None:
        """Stop every server this owner started (safe to call more than once)."""
        with self._lock:
            servers, self._servers = dict(self._servers), {}
        for run_dir, server in servers.items():
            _stop(server)
            (run_dir / PID_FILE).unlink(missing_ok=True)

    def _start(self, run_dir: Path) -> Server:
        port = _free_port(self.host)
        argv = [sys.executable, "-m", "tensorboard.main", "--logdir", str(run_dir / TENSORBOARD_DIR),
                "--host", self.host, "--port", str(port)]
        with open(run_dir / LOG_FILE, "ab") as log:
            # its own process group, so stopping it also stops anything it started
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        threading.Thread(target=proc.wait, daemon=True, name=f"reap-tensorboard-{proc.pid}").start()
        server = Server(proc.pid, process.start_ticks(proc.pid), port)
        atomic_write_json(run_dir / PID_FILE, server.__dict__)
        return server

    def link_host(self, page_host: str | None = None) -> str:
        if self.host not in WILDCARD_HOSTS:
            return self.host
        return page_host or socket.gethostname()


def exit_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into a normal exit of this process, so atexit stops its servers."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))


def _stop(server: Server, timeout: float = 5.0) -> None:
    if not server.alive():
        return
    process.signal_group(server.pid, signal.SIGTERM)
    if not _wait_dead(server, timeout):
        process.signal_group(server.pid, signal.SIGKILL)


def _wait_dead(server: Server, seconds: float) -> bool:
    import time
    deadline = time.monotonic() + seconds
    while server.alive():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _stop_leftover(run_dir: Path) -> None:
    """Stop a server an earlier owner of this run folder left running (it was killed before its cleanup)."""
    try:
        data = json.loads((run_dir / PID_FILE).read_text())
        server = Server(int(data["pid"]), data.get("start_ticks"), int(data["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return
    if server.start_ticks is not None:  # without its start time the pid may be someone else's now
        _stop(server)
    (run_dir / PID_FILE).unlink(missing_ok=True)


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
