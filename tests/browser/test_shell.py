"""The web UI shell: a real server process, a real browser, the Settings tab and the demo notice."""

from collections import Counter

import pytest

from tortoise_studio.demo import DEMO_MAX_MEL_TOKENS
from ui_helpers import dropdown_options, field, fill, open_page, wait_answered, wait_settled, wait_until

pytestmark = pytest.mark.browser


def test_settings_tab_shows_models_table(start_ui, page, tmp_path, tiny_models):
    server = start_ui(tmp_path / "ws")
    open_page(page, server.url)
    page.wait_for_function("document.title === 'Tortoise Studio'")  # Gradio sets the title from JavaScript
    page.get_by_role("tab", name="Settings").click()
    page.locator("#settings-models-dir textarea, #settings-models-dir input").first.fill(str(tiny_models))
    page.get_by_role("button", name="Save Settings").click()
    table = page.locator("#settings-models-table")
    table.get_by_text("autoregressive.pth").wait_for()
    assert table.get_by_text("ok").count() >= 5
    assert (tmp_path / "ws" / "settings.json").read_text().count(str(tiny_models)) == 1


def banner(page):
    return page.locator("#demo-banner [data-testid='markdown']")  # the notice, not the loading timer beside it


def test_settings_demo_button_sets_up_the_demo_and_every_tab_says_so(start_ui, page, tmp_path):
    root = tmp_path / "ws"
    server = start_ui(root)
    open_page(page, server.url)
    page.get_by_role("tab", name="Settings").click()
    wait_settled(page, "demo-banner")
    assert banner(page).inner_text().strip() == ""  # published-size settings: no demo notice
    page.get_by_text("Demo (no weights needed)").click()
    page.locator("#settings-demo").click()
    page.locator("#settings-message").get_by_text("Demo ready").wait_for(timeout=60_000)
    banner(page).get_by_text("generated audio is noise").wait_for()
    assert page.locator("#settings-models-dir textarea, #settings-models-dir input").first.input_value() == "models/tiny"
    assert page.locator("#settings-models-table").get_by_text("ok").count() >= 5
    assert sorted(p.name for p in (root / "voices" / "demo").iterdir()) == [f"{i}.wav" for i in range(1, 6)]
    for tab in ("Prepare", "Train", "Generate", "Settings"):
        page.get_by_role("tab", name=tab).click()
        assert "noise" in banner(page).inner_text(), tab
    page.get_by_role("tab", name="Train").click()  # a new training configuration starts from the demo models
    assert page.locator("#config-model-models-dir textarea, #config-model-models-dir input").first.input_value() \
        == "models/tiny"
    # Generate starts quick and short with the demo models, and lists the demo voice without a Refresh
    page.get_by_role("tab", name="Generate").click()
    wait_until(lambda: field(page, "gen-preset").input_value() == "ultra_fast", 30, "the demo's preset")
    page.locator("#gen-advanced").get_by_text("Advanced settings").click()
    assert field(page, "gen-max-mel-tokens").input_value() == str(DEMO_MAX_MEL_TOKENS)
    wait_until(lambda: "demo" in dropdown_options(page, "gen-voice"), 30, "the demo voice in Generate")
    page.get_by_role("tab", name="Prepare").click()
    wait_until(lambda: "demo" in dropdown_options(page, "prepare-voice"), 30, "the demo voice in Prepare")
    open_page(page)  # loaded again: the notice is worked out again on every load
    banner(page).get_by_text("tiny and random").wait_for()

    # Back to a real models folder: the notice goes away at once.
    page.get_by_role("tab", name="Settings").click()
    page.locator("#settings-models-dir textarea, #settings-models-dir input").first.fill("models/tortoise")
    page.get_by_role("button", name="Save Settings").click()
    page.locator("#settings-message").get_by_text("Saved").wait_for()
    banner(page).get_by_text("noise").wait_for(state="detached")


def test_demo_flag_starts_with_the_demo_set_up(start_ui, page, tmp_path):
    root = tmp_path / "ws"
    server = start_ui(root, "--demo")
    assert "Demo ready" in server.log()
    open_page(page, server.url)
    banner(page).get_by_text("generated audio is noise").wait_for()
    assert (root / "models" / "tiny" / "models.yaml").is_file()
    assert (root / "voices" / "demo" / "1.wav").is_file()


# Counts the frames the page asks the browser for; set up before any script of the page runs.
COUNT_FRAMES = """(() => { const frame = window.requestAnimationFrame.bind(window); window.framesAsked = 0;
    window.requestAnimationFrame = (callback) => { window.framesAsked++; return frame(callback); }; })();"""


def test_an_idle_page_asks_for_nothing(start_ui, page, tmp_path):
    """Left alone, the page sends no event but the keep-alive tick, and asks for no animation frame.

    Events: listeners that shared a trigger once kept each other going (ui/events.py); on a loaded machine the
    Train tab of a fresh workspace sent three events every fraction of a second for as long as it was open.
    Made to happen here by a field's second change coming while the first one's events run (their answers are
    held): each event then runs once or twice more and the page goes quiet.
    Frames: Gradio's page-level loading tracker leaves its elapsed-time loop running after the app loads (60
    frames a second, ui/page_script.py): the studio's page runs that loop on a timer, so once what the page
    shows has settled it asks for no frame at all, and an elapsed-time callback still runs."""
    page.add_init_script(COUNT_FRAMES)
    server = start_ui(tmp_path / "ws")
    open_page(page, server.url)
    page.get_by_role("tab", name="Train").click()
    wait_answered(page, 20)
    held = []
    page.route("**/queue/data*", lambda route: route.continue_() if held is None else held.append(route))
    fill(page, "config-dataset", "first")
    wait_until(lambda: page.wait_for_timeout(50) or held, 20, "the stream of the first change's answers")
    field(page, "config-dataset").fill("second", force=True)  # the first change's progress covers the field
    field(page, "config-dataset").press("Tab")
    page.wait_for_timeout(300)
    sent = []
    page.on("request", lambda request: "/queue/join" in request.url and sent.append(request.post_data_json))
    for route in held:
        route.continue_()
    held = None
    wait_answered(page, 20)
    runs = Counter(event["fn_index"] for event in sent if event.get("data"))  # the keep-alive tick sends none
    assert max(runs.values(), default=0) <= 2, f"events sent after the answers came (event: times): {runs}"
    wait_until(lambda: "second" in page.locator("#config-memory").inner_text(), 20, "the last change's estimate")
    sent.clear()
    page.wait_for_timeout(3000)
    assert [event for event in sent if event.get("data")] == []

    def a_second_without_frames() -> bool:
        before = page.evaluate("window.framesAsked")
        page.wait_for_timeout(1000)
        return page.evaluate("window.framesAsked") == before

    wait_until(a_second_without_frames, 30, "a second in which the idle page asks for no frame")
    # written as Gradio's minified tracker has it
    elapsed = page.evaluate("""() => new Promise(done => { const started = performance.now();
        requestAnimationFrame(() => done((performance.now()-started)/1e3)); })""")
    assert elapsed >= 0.09  # on the timer's tenth of a second, not the next frame


def test_ui_start_imports_no_heavy_library(tmp_path):
    """The first page comes in seconds because torch, TorToiSe and Whisper load when first needed."""
    import subprocess
    import sys
    heavy = ["torch", "torchaudio", "tortoise", "whisper", "faster_whisper", "ctranslate2", "transformers"]
    probe = ("import sys\n"
             "from tortoise_studio.workspace import Workspace\n"
             "from tortoise_studio.ui.context import AppContext\n"
             "from tortoise_studio.ui.app import build_app\n"
             "build_app(AppContext(Workspace.at(sys.argv[1]).ensure()))\n"
             "print(*[m for m in sys.argv[2:] if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "ws"), *heavy], capture_output=True,
                         text=True, check=True, env={"GRADIO_ANALYTICS_ENABLED": "False", "PATH": "/usr/bin"})
    assert out.stdout.split() == []


def test_an_answer_the_page_would_miss_still_arrives(start_ui, page, tmp_path, tiny_models):
    """Gradio's page client can miss an answer (ui/app.py `_keep_answers_flowing`): when a new event is
    registered while the server is closing the page's event stream, the client opens no other stream. Made to
    happen here by holding requests: the stream of Check Models' event is held until the server has closed it,
    the Save event joins meanwhile, then the closing stream is delivered. Save's answer must still arrive."""
    server = start_ui(tmp_path / "ws")
    open_page(page, server.url)
    page.get_by_role("tab", name="Settings").click()
    field(page, "settings-models-dir").fill(str(tiny_models))
    wait_answered(page)  # the tab's and the field's own events answered: the next events held are the buttons'
    joins, streams = [], []
    page.route("**/queue/join*", lambda route: joins.append(route))
    page.route("**/queue/data*", lambda route: streams.append(route))

    ticks = []

    def button_event() -> object:
        """The next event of a button held on its way to the server (keep-alive ticks, which send no data, are
        held aside)."""
        def held():
            page.wait_for_timeout(50)  # lets Playwright run the route handlers
            while joins:
                route = joins.pop(0)
                if route.request.post_data_json.get("data"):
                    return route
                ticks.append(route)
        return wait_until(held, 20, "the button's event")

    # a stream that opened before the routes (a keep-alive tick's) has to end first: it would carry the answers
    wait_until(lambda: page.wait_for_timeout(50) or
               sum("/queue/data" in r.url for r in page.queue_requests) == len(streams), 30, "no stream but held ones")
    page.locator("#settings-check").click()
    button_event().continue_()  # the first event's stream opens...
    wait_until(lambda: page.wait_for_timeout(50) or streams, 20, "the page's event stream")
    first_stream = streams.pop(0)  # ...and is held
    page.locator("#settings-save").click()
    save = button_event()
    closed = first_stream.fetch()  # the server ends the stream: the first event answered and none is pending
    with page.expect_response(lambda r: r.request == save.request):
        save.continue_()  # the server takes the event; the page counts on the open stream
    page.evaluate("() => new Promise(done => setTimeout(() => setTimeout(done)))")  # the page reads that answer
    first_stream.fulfill(response=closed)  # now the page reads the close: no stream is open
    page.unroute("**/queue/data*")
    for tick in ticks + joins:  # the keep-alive ticks held on the way go on
        tick.continue_()
    page.route("**/queue/join*", lambda route: route.continue_())  # and the next ones (unroute would not
    # release a join held just now)
    page.locator("#settings-message").get_by_text("Saved").wait_for(timeout=15_000)
    assert str(tiny_models) in (tmp_path / "ws" / "settings.json").read_text()
