"""The run service's TensorBoard servers: served where the UI listens, stopped when their owner ends, never leaked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tortoise_studio import process
from tortoise_studio.launch import RunService
from tortoise_studio.tensorboards import PID_FILE, TensorBoards

# A stand-in for the UI process: the same service and exit handling, without the web page.
OWNER = """
import sys, time
from pathlib import Path
from tortoise_studio.launch import RunService
from tortoise_studio.tensorboards import exit_on_signals
from tortoise_studio.workspace import Workspace
exit_on_signals()
service = RunService(Workspace(Path(sys.argv[1])), host=sys.argv[2])
print(service.tensorboard(sys.argv[3], "page.example"), service._tensorboards.running()[0], flush=True)
if sys.argv[4] == "wait":
    time.sleep(120)
"""


@pytest.fixture
def run_dir(workspace):
    folder = workspace.run_dir("ds", "r1")
    (folder / "tensorboard").mkdir(parents=True)
    (folder / "train.yaml").write_text("dataset: ds\n")
    return folder


def start_owner(workspace, run_dir, host: str, mode: str) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen([sys.executable, "-c", OWNER, str(workspace.root), host, str(run_dir), mode],
                            stdout=subprocess.PIPE, text=True)
    url, pid = proc.stdout.readline().split()
    return proc, url, int(pid)


def serves(url: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            time.sleep(0.3)
    return False


def gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while process.is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not process.is_alive(pid)


def test_the_link_uses_the_host_the_ui_listens_on():
    assert TensorBoards("127.0.0.1").link_host("page.example") == "127.0.0.1"
    assert TensorBoards("192.168.7.3").link_host("page.example") == "192.168.7.3"
    # listening on every interface: the host name the browser used, else this machine's name
    assert TensorBoards("0.0.0.0").link_host("page.example") == "page.example"
    assert TensorBoards("0.0.0.0").link_host(None) not in ("", "0.0.0.0")


def test_a_sigterm_to_the_ui_stops_its_tensorboard(workspace, run_dir):
    owner, url, pid = start_owner(workspace, run_dir, "0.0.0.0", "wait")
    assert url.startswith("http://page.example:")
    port = url.rsplit(":", 1)[1].strip("/")
    assert serves(f"http://127.0.0.1:{port}/")  # bound to every interface, as the UI is
    assert (run_dir / PID_FILE).is_file()
    owner.send_signal(signal.SIGTERM)
    assert owner.wait(timeout=30) == 128 + signal.SIGTERM
    assert gone(pid)
    assert not (run_dir / PID_FILE).exists()


def test_a_normal_exit_stops_it_and_a_killed_owners_server_is_stopped_next_time(workspace, run_dir):
    owner, url, pid = start_owner(workspace, run_dir, "127.0.0.1", "exit")
    assert url.startswith("http://127.0.0.1:")
    assert owner.wait(timeout=30) == 0
    assert gone(pid)

    owner, url, leaked = start_owner(workspace, run_dir, "127.0.0.1", "wait")
    owner.kill()  # no exit handler runs: its server outlives it
    owner.wait(timeout=30)
    assert process.is_alive(leaked)
    service = RunService(workspace)
    try:
        again = service.tensorboard(run_dir)
        assert gone(leaked)  # the next owner of the run's TensorBoard stopped the leftover first
        assert serves(again)
        assert service.tensorboard(run_dir) == again  # one server per run
        (current,) = service._tensorboards.running()
    finally:
        service.close()
    assert gone(current)
    assert os.listdir(run_dir / "tensorboard") == []  # it only ever read the run's folder
