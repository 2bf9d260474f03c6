"""`tortoise-studio ui` / `python app.py`: parse the address and login, build the app, serve it."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from ..errors import UserError
from ..workspace import Workspace

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# The demo notice (ui/app.py) stands out; it is an empty block, and draws nothing, outside the demo.
CSS = "#demo-banner p { background: #fff3cd; border: 1px solid #d4a000; border-radius: 6px; padding: 0.6em 1em; }"


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not host:
        raise UserError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:7860")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--listen {listen!r}: port must be a number from 1 to 65535")
    return host.strip("[]"), int(port)


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    auth = auth or os.environ.get("TORTOISE_STUDIO_AUTH") or None
    if auth is None:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise UserError("--auth: expected USER:PASS with both parts non-empty")
    return user, password


def served_folders(workspace: Workspace) -> list[str]:
    """The only folders whose files the server may hand out."""
    return [str(p) for p in (workspace.voices, workspace.training, workspace.results)]


def quiet_known_warnings() -> None:
    """Gradio answers every queue request using a status-code name Starlette has renamed, and Starlette
    warns each time (hundreds of lines an hour with a live plot ticking). Silence that one warning only."""
    from starlette.exceptions import StarletteDeprecationWarning
    warnings.filterwarnings("ignore", message=r"'HTTP_422_UNPROCESSABLE_ENTITY' is deprecated",
                            category=StarletteDeprecationWarning)


# How often Gradio's queue looks for a new event (Gradio's own 0.001 s keeps an idle server 8% busy; this adds at
# most a few hundredths of a second to an answer), and how often it sends a running job's progress to the page
# (Gradio's own 0.01 s: each message costs the page a pass over every component's status, about a tenth of a
# CPU second here, so a job reporting often kept the browser's core busy; a bar moving twice a second reads the same).
QUEUE_POLL_SECONDS = 0.02
PROGRESS_POLL_SECONDS = 0.5
# Events whose record Gradio's queue keeps for its monitoring page (which the studio never turns on).
RECORDED_EVENTS = 1000


class RecentEvents(dict):
    """Gradio's record of events for its monitoring page, holding only the latest RECORDED_EVENTS. Gradio keeps
    every event a server has answered and, after each one, summarised them all in a pandas table: a page watching
    a run sends an event every 2 s, so a server left open for days held hundreds of thousands and spent a tenth of
    a second on each new one (94 ms after one day's 43,200). An event whose record was already dropped when it
    ends writes its outcome into a record nobody keeps (__missing__), as Gradio's queue does not expect a gap."""

    def __setitem__(self, key, value) -> None:
        if key not in self and len(self) >= RECORDED_EVENTS:
            del self[next(iter(self))]  # the oldest: a dict keeps the order of insertion
        super().__setitem__(key, value)

    def __missing__(self, key) -> dict:
        return {}


def calm_queue(app) -> None:
    """Make an idle server idle, a busy page calm and a long-lived server lean: Gradio's queue polls for events,
    and for progress to send, in loops; they run less often here. Its monitoring summary is never recomputed (the
    studio has no monitoring page; Gradio's default recomputes it after every event) and its record of events
    keeps the latest only (RecentEvents). The attributes are Gradio's own (gradio/queueing.py, the summary's
    frequency spelt as Gradio spells it); with a Gradio that lacks them nothing changes."""
    queue = getattr(app, "_queue", None)
    for name, value in (("sleep_when_free", QUEUE_POLL_SECONDS),
                        ("progress_update_sleep_when_free", PROGRESS_POLL_SECONDS),
                        ("ANAYLTICS_CACHE_FREQUENCY", sys.maxsize)):
        if hasattr(queue, name):
            setattr(queue, name, value)
    if isinstance(getattr(queue, "event_analytics", None), dict):
        queue.event_analytics = RecentEvents(queue.event_analytics)


def ui_command(args: argparse.Namespace, workspace: Workspace) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    quiet_known_warnings()
    host, port = parse_listen(args.listen)
    auth = parse_auth(args.auth)
    if host not in LOOPBACK_HOSTS and auth is None:
        print(f"warning: serving on {host}:{port} without --auth: anyone who can reach this machine "
              "can use the UI and start training. Add --auth USER:PASS.", file=sys.stderr, flush=True)
    workspace.ensure()
    from .app import build_app
    from .context import AppContext
    ctx = AppContext(workspace, host=host)
    # a SIGTERM or SIGHUP ends the UI like Ctrl-C does: through its exit handlers, which stop the
    # TensorBoard servers it started
    from ..runs.tensorboards import exit_on_signals
    exit_on_signals()
    if getattr(args, "demo", False):
        from ..demo import set_up_demo
        print(set_up_demo(workspace), flush=True)
    app = build_app(ctx)
    calm_queue(app.queue(default_concurrency_limit=4))
    from starlette.middleware import Middleware
    from .page_script import EarlyScript
    print(f"Tortoise Studio: workspace {workspace.root}", flush=True)
    app.launch(server_name=host, server_port=port, auth=auth, share=args.share,
               allowed_paths=served_folders(workspace), inbrowser=False, show_error=True, css=CSS,
               app_kwargs={"middleware": [Middleware(EarlyScript)]})
    return 0
