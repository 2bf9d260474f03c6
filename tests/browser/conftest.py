"""Browser tests: a real server process (python app.py) and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ui_helpers import SLACK

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# --mute-audio: media play on Chromium's silent output whatever sound devices the machine has (the players that
# once never started were rendered again after the click: ui_helpers.play presses again for that)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio"]



def _worker_ports():
    """Ports for this test worker's UI servers: a block of its own below Linux's ephemeral range (32768 and up),
    so two workers, or a browser's outgoing connection, are never handed the port a server is about to take."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    first = 20000 + 400 * (int(worker[2:]) if worker[2:].isdigit() else 0)
    return itertools.cycle(range(first, first + 400))


_ports = _worker_ports()


def free_port() -> int:
    for _ in range(400):
        port = next(_ports)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # still taken (a server of an earlier test that lingers): the next one
                continue
            return port
    raise RuntimeError("no free port in this test worker's block")


class ForkedProcess:
    """What UiServer needs of a Popen, for a server the starter forked: the starter is its parent, reaps it
    and writes its exit code to a file."""

    def __init__(self, pid: int, exit_path: Path):
        self.pid, self._exit_path, self.returncode = pid, exit_path, None

    def poll(self) -> int | None:
        if self.returncode is None and self._exit_path.is_file():
            self.returncode = int(self._exit_path.read_text())
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"UI server {self.pid}", timeout)
            time.sleep(0.05)
        return self.returncode


class ServerStarter:
    """server_starter.py: one process per test worker that forks UI servers with the imports already done."""

    def __init__(self, log_path: Path):
        self._log = open(log_path, "ab")
        self._exits = log_path.with_name("ui-server-exits")  # beside the log, in the session's temporary folder
        self._exits.mkdir(exist_ok=True)
        self._count = itertools.count()
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("server_starter.py"))], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, text=True, cwd=REPO,
            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
        self._log_path = log_path
        self._answer()  # ready once its imports are done

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the UI server starter ended: {self._log_path.read_text()[-3000:]}")
        return json.loads(line)

    def start(self, args: list[str], env: dict, log_path: Path) -> ForkedProcess:
        exit_path = self._exits / f"{next(self._count)}.exit"
        request = {"args": args, "env": env, "cwd": os.getcwd(), "log": str(log_path), "exit": str(exit_path)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return ForkedProcess(self._answer()["pid"], exit_path)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


class UiServer:
    """The UI server (what `python app.py` runs) in its own process group, on a free loopback port, for one
    workspace: forked by a ServerStarter, or started as `python app.py` when none is given."""

    def __init__(self, workspace_root: Path, *extra_args: str, env: dict | None = None,
                 starter: ServerStarter | None = None):
        self.port = free_port()
        if "--listen" in extra_args:  # a test that picks its own address; the last --listen wins
            self.port = int(extra_args[extra_args.index("--listen") + 1].rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = workspace_root / "ui-server.log"
        workspace_root.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        args = ["--workspace", str(workspace_root), "--listen", f"127.0.0.1:{self.port}", *extra_args]
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
        if starter is not None:
            self.process = starter.start(args, env, self.log_path)
        else:
            self.process = subprocess.Popen([sys.executable, str(REPO / "app.py"), *args], stdout=self._log,
                                            stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"UI server exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"UI server not ready in {timeout}s: {self.log_path.read_text()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self._log.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell at teardown that the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def server_starter(tmp_path_factory):
    starter = ServerStarter(tmp_path_factory.getbasetemp() / "server-starter.log")
    yield starter
    starter.close()


@pytest.fixture
def start_ui(request):
    """start_ui(workspace_root, *extra_args, env=None, own_process=False) -> UiServer; every server is stopped
    at the end. Forked by this worker's ServerStarter, or `python app.py` itself with own_process. A workspace
    without stored memory profiles gets a copy of tortoise_size_profiles (tests/conftest.py), as one whose
    Configure form has estimated before. When the test failed, each server's state and the end of its log are
    printed (a page that stops answering is then told apart from a server that died)."""
    servers: list[UiServer] = []

    def start(workspace_root: Path, *extra_args: str, env: dict | None = None,
              own_process: bool = False) -> UiServer:
        starter = None if own_process else request.getfixturevalue("server_starter")
        from tortoise_studio.config.memory import profiles_file
        from tortoise_studio.workspace import Workspace
        seed = request.getfixturevalue("tortoise_size_profiles")
        stored = profiles_file(Workspace.at(workspace_root))
        if not stored.exists():
            stored.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(seed, stored)
        server = UiServer(Path(workspace_root), *extra_args, env=env, starter=starter)
        servers.append(server)
        return server

    yield start
    failed = getattr(request.node, "report_call", None) is not None and request.node.report_call.failed
    for server in servers:
        if failed:
            state = "running" if server.process.poll() is None else f"exited with {server.process.returncode}"
            print(f"UI server on port {server.port}: {state}; its log ends:\n{server.log()[-3000:]}")
        server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000 * SLACK)  # Playwright's own waits get the same slack as wait_until
    # the page's requests to Gradio's queue that have not finished (ui_helpers.wait_answered reads them), and a
    # log of them with the page's console errors, printed when the test fails (what was asked, what answered)
    page.queue_requests = in_flight = set()
    page.queue_joins = 0  # events the page has sent (ui_helpers.open_page waits for those of a page load)
    log: list[str] = []
    started = time.monotonic()

    def note(what: str, req) -> None:
        if "/queue/" in req.url:
            body = (req.post_data or "")[:160] if what == "sent" else ""
            log.append(f"{time.monotonic() - started:7.1f} {what} {req.method} {req.url.split('?')[0]} {body}")

    def sent(req):
        if "/queue/" in req.url:
            in_flight.add(req)
        if "/queue/join" in req.url:
            page.queue_joins += 1
        note("sent", req)

    def ended(req, how: str):
        in_flight.discard(req)
        note(how, req)

    page.on("request", sent)
    page.on("requestfinished", lambda req: ended(req, "done"))
    page.on("requestfailed", lambda req: ended(req, "FAILED"))
    page.on("console", lambda msg: msg.type == "error" and log.append(
        f"{time.monotonic() - started:7.1f} console error: {msg.text[:300]}"))
    yield page
    if getattr(request.node, "report_call", None) is not None and request.node.report_call.failed:
        print("The page's queue requests and console errors:\n" + "\n".join(log[-400:]))
    context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    folder = REPO / "test-output" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
