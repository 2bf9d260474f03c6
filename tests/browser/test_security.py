"""The server: loopback by default, a login when asked for, and files only from the workspace."""

import socket
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.browser


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
    assert "warning" not in server.log()  # loopback, no login: nothing to warn of
    (root / "voices" / "bob").mkdir(parents=True)
    (root / "voices" / "bob" / "note.txt").write_text("inside")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside")
    (root / "voices" / "bob" / "link.txt").symlink_to(outside)  # a link inside that points outside
    assert http_status(f"{server.url}gradio_api/file={root}/voices/bob/note.txt") == 200
    for path in ["/etc/passwd", str(outside), f"{root}/voices/../../secret.txt", f"{root}/settings.json",
                 f"{root}/voices/bob/link.txt", f"{root}/models/tortoise/autoregressive.pth",
                 "../../../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd"]:
        for route in ("gradio_api/file=", "file=", "gradio_api/file/", "static/"):
            status = http_status(f"{server.url}{route}{path}")
            assert status in (400, 403, 404), (route, path, status)


def http_post(url: str, body: bytes = b"{}", cookies: str | None = None) -> int:
    headers = {"Content-Type": "application/json", **({"Cookie": cookies} if cookies else {})}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_auth_protects_pages_and_api(start_ui, tmp_path, page):
    root = tmp_path / "ws"
    server = start_ui(root, "--auth", "ann:s3cret")
    (root / "voices" / "bob").mkdir(parents=True)
    (root / "voices" / "bob" / "note.txt").write_text("inside")
    inside = f"gradio_api/file={root}/voices/bob/note.txt"
    # (Gradio leaves only static assets, theme.css and startup-events, which returns a bool, open)
    for route in ("config", "gradio_api/info", "gradio_api/queue/status", inside):
        assert http_status(server.url + route) in (401, 403), route
    for route in ("gradio_api/queue/join", "gradio_api/upload", "gradio_api/run/predict", "gradio_api/api/predict"):
        assert http_post(server.url + route) in (401, 403, 404), route
    page.goto(server.url)
    assert page.get_by_role("tab", name="Settings").count() == 0  # the login form, not the app
    page.locator("input[type=text], input:not([type])").first.fill("ann")
    page.locator("input[type=password]").fill("wrong")
    page.get_by_role("button", name="Login").click()
    page.get_by_text("Incorrect").first.wait_for()
    page.locator("input[type=text], input:not([type])").first.fill("ann")
    page.locator("input[type=password]").fill("s3cret")
    page.get_by_role("button", name="Login").click()
    page.get_by_role("tab", name="Settings").wait_for()
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    assert http_status(server.url + "config", cookies) == 200
    assert http_status(server.url + inside, cookies) == 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_open_address_without_auth_warns(start_ui, tmp_path):
    server = start_ui(tmp_path / "ws", "--listen", f"0.0.0.0:{free_port()}")  # the last --listen wins
    assert "without --auth" in server.log()  # (a loopback server's log has no warning: the first test here)
