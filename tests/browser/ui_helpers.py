"""What the browser tests share: waiting, filling Gradio fields, reading the Run section and the page."""

from __future__ import annotations

import re
import time

# Every wait is a limit against a hang, not a speed check: on two cores that also run both test workers'
# trainers, servers and browsers, a page can take several times its usual time, so each limit is doubled.
SLACK = 2.0


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout * SLACK
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout * SLACK:g} s waiting for {what}")


def wait_answered(page, timeout: float = 60) -> None:
    """Until every event the page sent has its answer: no request to Gradio's queue (an event joining, or the
    stream its answers come on, which the server ends once none is pending) for half a second. A field that a
    page-load event fills takes what is typed only after that (the load's answer would put its value back)."""
    quiet_since = time.monotonic()
    deadline = quiet_since + timeout * SLACK
    while time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets Playwright report the page's requests
        if page.queue_requests:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.5:
            return
    raise AssertionError(f"the page's events still had no answer after {timeout * SLACK:g} s")


def open_page(page, url: str | None = None) -> None:
    """Open the studio (or load it again, without `url`) and wait until the page-load events have answered:
    before that, what is typed into a field they fill is replaced by their answer. Gradio's client sends them
    some time after the browser's own load event, over a second later on a busy machine, so the wait starts
    when they have been sent (the page fixture counts the events that joined the queue)."""
    joined = page.queue_joins
    if url is None:
        page.reload()
    else:
        page.goto(url)
    wait_until(lambda: page.wait_for_timeout(50) or page.queue_joins > joined, 60, "the page-load events")
    wait_answered(page)


def field(page, elem_id: str):
    """The text or number input inside a Gradio block."""
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def fill(page, elem_id: str, value: str) -> None:
    box = field(page, elem_id)
    box.fill(value)
    box.press("Tab")  # Gradio sends a field's value on change/blur


def choose(page, elem_id: str, option: str) -> None:
    wait_answered(page)  # a dropdown that an event on its way updates would close under the click
    page.locator(f"#{elem_id} input").first.click()
    page.get_by_role("option", name=option, exact=True).click()


def memory_estimate_settled(page, timeout: float = 180) -> str:
    """Wait for the Configure section's memory estimate of the chosen dataset. Its first answer for a model
    size measures the model for a while, on the server's threads: a Save pressed meanwhile waits behind it
    on a loaded machine, so tests let it settle first."""
    note = page.locator("#config-memory")
    return wait_until(lambda: ("micro-batch of" in (text := note.inner_text()) or "not available" in text) and text,
                      timeout, "the memory estimate of the chosen dataset")


def status_text(page) -> str:
    return page.locator("#run-status").inner_text()


def plot_points(page, plot: str = "#run-loss-plot") -> int:
    """Vertices of the visible lines of a Vega line plot (one M/L command per point in each stroked path)."""
    paths = page.locator(f"{plot} .mark-line path")
    total = 0
    for i in range(paths.count()):
        path = paths.nth(i)
        if re.match(r"#|rgb", path.get_attribute("stroke") or ""):
            total += len(re.findall(r"[ML]", path.get_attribute("d") or ""))
    return total


def page_text(page) -> str:
    return page.locator("body").inner_text()


# What Python's insides look like on a page: a traceback, a source line, an exception class name.
INTERNALS = re.compile(r'Traceback|File "|line \d+, in |\b[A-Z][A-Za-z]*(Error|Exception)\b|<module>')


def toasts(page) -> list[str]:
    """The toasts on screen now (read in one go: they close by themselves)."""
    return page.evaluate("() => [...document.querySelectorAll('.toast-body')].map(t => t.innerText)")


def assert_no_internals(page) -> None:
    """Nothing of Python's insides reaches the page or its toasts."""
    for text in [page_text(page), *toasts(page)]:
        found = INTERNALS.search(text)
        assert found is None, text[max(0, found.start() - 300):found.end() + 300]


def markdown_text(page, elem_id: str) -> str:
    """The text a gr.Markdown shows, without its status tracker (which shows Gradio's "0.4s" loading timer
    while an event that writes the block runs)."""
    return page.locator(f"#{elem_id} [data-testid='markdown']").inner_text()


def wait_settled(page, elem_id: str, timeout: float = 30) -> None:
    """Until no event that writes the block is running (its status tracker is hidden)."""
    page.wait_for_function(
        "id => [...document.querySelectorAll(`#${id} [data-testid='status-tracker']`)]"
        ".every(t => t.classList.contains('hide'))", arg=elem_id, timeout=timeout * 1000)


def dropdown_options(page, elem_id: str) -> list[str]:
    """The choices a dropdown offers now (opens it, reads them, closes it). After the page's events have
    answered: a list that a tab's refresh updates while it is open closes again."""
    wait_answered(page)
    box = page.locator(f"#{elem_id} input").first
    box.click()
    wait_answered(page)  # a list read on focus: its answer updates the open list
    options = page.get_by_role("option")
    options.first.wait_for()
    names = [text.strip().splitlines()[-1].strip() for text in options.all_inner_texts()]  # after the ✓ of the chosen one
    page.keyboard.press("Escape")
    # Escape closes the list but leaves the field focused, where another click opens nothing: a caller that reads
    # again (wait_until) needs a fresh focus, which is also what lists read on focus answer
    box.blur()
    return names


def stop_trainer(run_dir) -> None:
    """Never leave a trainer behind, whatever failed."""
    from tortoise_studio.errors import UserError
    from tortoise_studio.runs.launch import stop_run
    try:
        stop_run(run_dir, timeout=20)
    except UserError:
        pass


def play(page, block: str, name: str) -> None:
    """Press the player's play button and see its clock move (WaveSurfer keeps its <audio> in a shadow root)."""
    download = page.locator(f"{block} a[download]")
    wait_until(lambda: (download.get_attribute("download") or "") == name, 30, f"{name} in the player")
    clock = """(sel) => { const root = document.querySelector(sel + ' #waveform div')?.shadowRoot;
                          const media = root && root.querySelector('audio, video');
                          return media ? (media.paused && media.currentTime === 0 ? 'idle' : media.currentTime) : null; }"""
    # A player that the page re-renders after the click (the section's second update of the same file, which on
    # a loaded machine can land after the click) comes back paused at 0: press play again, as a user would.
    pressed = [0.0]

    def playing() -> bool:
        state = page.evaluate(clock, block)
        if state == "idle" and time.monotonic() - pressed[0] > 5:
            page.locator(f"{block} button.play-pause-button").click()
            pressed[0] = time.monotonic()
        return isinstance(state, (int, float)) and state > 0.2

    wait_until(playing, 120, "the result to play")
