"""The Run section in a real browser: train a tiny model, watch its loss graph grow, stop it, reload."""

from __future__ import annotations

import json
import re
import socket
import urllib.request

import pytest

from test_launch import make_dataset, tiny_config, write_run  # shared helpers of the launch tests
from ui_helpers import open_page, plot_points, status_text, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]








def test_train_watch_stop_and_reload(tmp_path, tortoise_voices, tiny_models, start_ui, page, screenshot_dir):
    from tortoise_studio.workspace import Workspace
    ws = Workspace.at(tmp_path / "ws").ensure()
    make_dataset(ws, tortoise_voices)
    # many epochs and no periodic checkpoint: the run lasts until we stop it, and its checkpoint comes from the stop
    run_dir = write_run(ws, "ds", "watched", tiny_config("ds", tiny_models, epochs=5000, save_every_epochs=5000)).parent
    server = start_ui(ws.root)
    try:
        watch_run(server, page, screenshot_dir)
    finally:  # never leave a trainer behind, whatever failed
        from tortoise_studio.runs.launch import stop_run
        stop_run(run_dir, timeout=20)


def watch_run(server, page, screenshot_dir):

    open_page(page, server.url)
    page.get_by_role("tab", name="Train").click()
    dropdown = page.locator("#run-dropdown input")
    wait_until(lambda: "ds/watched" in dropdown.input_value(), 30, "the run to be listed and selected")
    assert "configured" in status_text(page) or "configured" in dropdown.input_value()

    page.locator("#run-train").click()
    wait_until(lambda: "running" in status_text(page), 60, "the run to be running")
    counts = [wait_until(lambda: plot_points(page), 90, "the first points on the loss graph")]
    for _ in range(2):  # at least two timer refreshes, each adding points
        wait_until(lambda: plot_points(page) > counts[-1], 30, "the loss graph to gain points")
        counts.append(plot_points(page))
    assert counts[0] < counts[1] < counts[2]
    page.screenshot(path=str(screenshot_dir / "run-section-training.png"), full_page=True)

    page.locator("#run-stop").click()
    wait_until(lambda: "stopped" in status_text(page), 120, "the run to stop")
    status = status_text(page)
    step = int(re.search(r"last checkpoint: step (\d+)", status).group(1))
    assert step > 0
    checkpoint = page.locator("#run-checkpoint input")
    wait_until(lambda: f"step {step}" in checkpoint.input_value(), 60, "the stop's checkpoint in the resume list")
    points = plot_points(page)

    open_page(page)  # loaded again
    page.get_by_role("tab", name="Train").click()
    wait_until(lambda: "ds/watched" in page.locator("#run-dropdown input").input_value(), 30, "the run after reload")
    wait_until(lambda: "stopped" in status_text(page), 30, "the stopped state after reload")
    wait_until(lambda: plot_points(page) >= points, 30, "the same graph after reload")
    page.screenshot(path=str(screenshot_dir / "run-section-after-reload.png"), full_page=True)

    # Smoothing redraws the curves on release: at 0 they are the raw losses, every point kept
    smoothed, points = loss_lines(page), plot_points(page)
    slider = page.locator("#run-smoothing input[type=number]")
    slider.fill("0")
    slider.press("Tab")  # the slider's number box answers on blur, as the slider does on release
    wait_until(lambda: loss_lines(page) != smoothed, 30, "the loss curves drawn without smoothing")
    assert plot_points(page) == points


def loss_lines(page) -> list[str]:
    """The drawn path of each line of the loss plot."""
    return page.locator("#run-loss-plot .mark-line path").evaluate_all("paths => paths.map(p => p.getAttribute('d'))")


def test_tensorboard_link_uses_the_page_host_and_the_server_ends_with_the_ui(tmp_path, start_ui, page):
    from tortoise_studio.runs import process
    from tortoise_studio.workspace import Workspace
    ws = Workspace.at(tmp_path / "ws").ensure()
    run_dir = ws.run_dir("ds", "board")
    run_dir.mkdir(parents=True)
    (run_dir / "train.yaml").write_text("dataset: ds\n")
    with socket.socket() as s:
        s.bind(("", 0))
        port = s.getsockname()[1]
    server = start_ui(ws.root, "--listen", f"0.0.0.0:{port}")  # every interface, as on a remote machine
    page.goto(f"http://localhost:{port}/")
    page.get_by_role("tab", name="Train").click()
    wait_until(lambda: "ds/board" in page.locator("#run-dropdown input").input_value(), 30, "the run to be listed")
    page.locator("#run-tensorboard").click()
    link = page.locator("#run-tensorboard-link a")
    wait_until(lambda: link.count() > 0, 30, "the TensorBoard link")
    url = link.first.get_attribute("href")
    assert re.fullmatch(r"http://localhost:\d+/", url), url  # the host the browser used, not 127.0.0.1
    wait_until(lambda: _answers(url), 60, "TensorBoard to answer at the link")
    pid = json.loads((run_dir / "tensorboard.pid").read_text())["pid"]
    server.stop()  # SIGTERM, as a service manager stops it
    wait_until(lambda: not process.is_alive(pid), 20, "TensorBoard to end with the UI")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
