"""Browser tests: a real server process (python app.py) and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import itertools
import os
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


class UiServer:
    """`python app.py` in its own process group, on a free loopback port, for one workspace."""

    def __init__(self, workspace_root: Path, *extra_args: str, env: dict | None = None):
        self.port = free_port()
        if "--listen" in extra_args:  # a test that picks its own address; the last --listen wins
            self.port = int(extra_args[extra_args.index("--listen") + 1].rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = workspace_root / "ui-server.log"
        workspace_root.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "app.py"), "--workspace", str(workspace_root),
             "--listen", f"127.0.0.1:{self.port}", *extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})})
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


@pytest.fixture
def start_ui(request):
    """start_ui(workspace_root, *extra_args, env=None) -> UiServer; every server is stopped at the end. When
    the test failed, each server's state and the end of its log are printed (a page that stops answering
    is then told apart from a server that died)."""
    servers: list[UiServer] = []

    def start(workspace_root: Path, *extra_args: str, env: dict | None = None) -> UiServer:
        server = UiServer(Path(workspace_root), *extra_args, env=env)
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
    log: list[str] = []
    started = time.monotonic()

    def note(what: str, req) -> None:
        if "/queue/" in req.url:
            body = (req.post_data or "")[:160] if what == "sent" else ""
            log.append(f"{time.monotonic() - started:7.1f} {what} {req.method} {req.url.split('?')[0]} {body}")

    def sent(req):
        if "/queue/" in req.url:
            in_flight.add(req)
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
