"""A script the studio's page runs before Gradio's own, put into the page's <head> by a small ASGI middleware.

Why before: Gradio's front end keeps a reference to `window.requestAnimationFrame` from the moment its modules
load, so a mend for what it does with it must be in place earlier, and Gradio's `head` option is added to
the page only after its modules ran.

What it mends: Gradio's status tracker counts the seconds an event has been running in an animation-frame
loop that stops when the event ends. The page-level tracker shown while the app loads is removed from the
page before that, and its loop never stops: every open page asked the browser for 60 frames a second for as
long as it stayed open (a tenth of a core, idle). The tracker shows tenths of a second, so its loop runs here
ten times a second on a timer instead: a visible tracker looks the same and the browser draws nothing for it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders

# The tracker's loop is the frame callback that reads performance.now() and divides by 1e3 (seconds); its code
# is Gradio's minified front end, so it is recognised by what it does. A callback is tested once.
ELAPSED_TIMER_SCRIPT = """
(() => {
  const frame = window.requestAnimationFrame.bind(window);
  const cancelFrame = window.cancelAnimationFrame.bind(window);
  const isElapsedTimer = /performance\\.now\\(\\)[^;]*\\/1e3/;
  const known = new WeakMap();
  window.requestAnimationFrame = (callback) => {
    if (!known.has(callback)) known.set(callback, isElapsedTimer.test(Function.prototype.toString.call(callback)));
    if (!known.get(callback)) return frame(callback);
    return -setTimeout(() => callback(performance.now()), 100);  // negative: never a frame's number
  };
  window.cancelAnimationFrame = (id) => (id < 0 ? clearTimeout(-id) : cancelFrame(id));
})();
"""


class EarlyScript:
    """ASGI middleware: the HTML answer to GET / (the studio's page) gets `script` as the first thing in its
    <head>; every other answer passes unchanged."""

    def __init__(self, app, script: str = ELAPSED_TIMER_SCRIPT):
        self.app = app
        self.tag = f"<script>{script}</script>".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        body: list[bytes] = []

        async def rewrite(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await send_page(b"".join(body))

        async def send_page(page: bytes):
            headers = MutableHeaders(raw=start.setdefault("headers", []))
            if headers.get("content-type", "").startswith("text/html") and "content-encoding" not in headers \
                    and b"<head>" in page:
                page = page.replace(b"<head>", b"<head>" + self.tag, 1)
                headers["content-length"] = str(len(page))
            await send(start)
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, rewrite)
