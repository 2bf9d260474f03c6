"""Seconds from `./start.sh` to the first page served, on an installed machine (target: under 5 s)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seconds_to_first_page(workspace: str) -> float:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([str(REPO / "start.sh"), "--workspace", workspace, "--listen", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("the UI exited before serving a page")
                time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()


def main() -> None:
    with tempfile.TemporaryDirectory() as workspace:
        seconds_to_first_page(workspace)  # warm the file cache once, as on a machine in use
        runs = [seconds_to_first_page(workspace) for _ in range(3)]
    write_result("startup", {"seconds_to_first_page": round(min(runs), 2),
                             "runs": [round(r, 2) for r in runs], "target_seconds": 5.0,
                             "meets_target": min(runs) < 5.0})


if __name__ == "__main__":
    main()
