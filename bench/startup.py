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


HEAVY = ("torch", "torchaudio", "tortoise", "whisper", "faster_whisper", "ctranslate2", "transformers", "av")
# Builds the app as the launcher does and says which heavy libraries that pulled in (none is the goal).
PROBE = """
import sys, time
from tortoise_studio.workspace import Workspace
from tortoise_studio.ui.context import AppContext
from tortoise_studio.ui.app import build_app
started = time.perf_counter()
build_app(AppContext(Workspace.at(sys.argv[1]).ensure()))
print(round(time.perf_counter() - started, 2), *[m for m in sys.argv[2:] if m in sys.modules])
"""


def heavy_imports_at_start(workspace: str) -> tuple[float, list[str]]:
    """Seconds to build the UI (the tab modules imported, gradio already) and the heavy libraries imported."""
    out = subprocess.run([sys.executable, "-c", PROBE, workspace, *HEAVY], capture_output=True, text=True,
                         check=True, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}).stdout.split()
    return float(out[0]), out[1:]


def main() -> None:
    with tempfile.TemporaryDirectory() as workspace:
        seconds_to_first_page(workspace)  # warm the file cache once, as on a machine in use
        runs = [seconds_to_first_page(workspace) for _ in range(3)]
        build_seconds, heavy = heavy_imports_at_start(workspace)
    write_result("startup", {"seconds_to_first_page": round(min(runs), 2),
                             "runs": [round(r, 2) for r in runs], "target_seconds": 5.0,
                             "meets_target": min(runs) < 5.0,
                             "seconds_to_build_ui_after_importing_gradio": build_seconds,
                             "heavy_libraries_imported_at_start": heavy})


if __name__ == "__main__":
    main()
