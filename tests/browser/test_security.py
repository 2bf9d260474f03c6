"""The server: loopback by default, a login when asked for, and files only from the workspace."""

import socket
import urllib.error
import urllib.request

import pytest


def http_status(url: str, cookies: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookies} if cookies else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_files_outside_the_workspace_are_refused(start_ui, tmp_path):
    root = tmp_path / "ws"
    server = start_ui(root)
    (root / "voices" / "bob").mkdir(parents=True)
    (root / "voices" / "bob" / "note.txt").write_text("inside")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside")
    assert http_status(f"{server.url}gradio_api/file={root}/voices/bob/note.txt") == 200
    for path in ["/etc/passwd", str(outside), f"{root}/voices/../../secret.txt", f"{root}/settings.json",
                 "../../../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd"]:
        for route in ("gradio_api/file=", "file=", "gradio_api/file/", "static/"):
            status = http_status(f"{server.url}{route}{path}")
            assert status in (400, 403, 404), (route, path, status)


def test_auth_protects_pages_and_api(start_ui, tmp_path, page):
    server = start_ui(tmp_path / "ws", "--auth", "ann:s3cret")
    for route in ("config", "gradio_api/info", "gradio_api/queue/status"):
        assert http_status(server.url + route) in (401, 403), route
    page.goto(server.url)
    assert page.get_by_text("Tortoise Studio").count() == 0 or page.locator("input[type=password]").count() == 1
    page.locator("input[type=text], input:not([type])").first.fill("ann")
    page.locator("input[type=password]").fill("s3cret")
    page.get_by_role("button", name="Login").click()
    page.get_by_role("tab", name="Settings").wait_for()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_open_address_without_auth_warns(start_ui, tmp_path):
    server = start_ui(tmp_path / "ws", "--listen", f"0.0.0.0:{free_port()}")  # the last --listen wins
    assert "without --auth" in server.log()
    quiet = start_ui(tmp_path / "ws2")
    assert "warning" not in quiet.log()
