"""The middleware that puts the studio's early script into the page (ui/page_script.py), on a real Starlette app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from tortoise_studio.ui.page_script import ELAPSED_TIMER_SCRIPT, EarlyScript

PAGE = "<!doctype html><html><head><meta charset='utf-8'><script type=module src=app.js></script></head></html>"


def client(page_response) -> TestClient:
    routes = [Route("/", lambda request: page_response()),
              Route("/other", lambda request: HTMLResponse(PAGE))]
    return TestClient(Starlette(routes=routes, middleware=[Middleware(EarlyScript)]))


def test_the_page_gets_the_script_before_its_own_scripts():
    answer = client(lambda: HTMLResponse(PAGE)).get("/")
    assert answer.status_code == 200
    head = answer.text.split("<head>", 1)[1]
    assert head.startswith(f"<script>{ELAPSED_TIMER_SCRIPT}</script><meta")
    assert answer.text.count(ELAPSED_TIMER_SCRIPT) == 1
    assert int(answer.headers["content-length"]) == len(answer.content)


def test_a_page_sent_in_pieces_is_put_together_first():
    cut = PAGE.index("<head>") + 3  # "<he" in one piece, "ad>" in the next
    pieces = [PAGE[:cut].encode(), PAGE[cut:].encode()]
    answer = client(lambda: StreamingResponse(iter(pieces), media_type="text/html")).get("/")
    assert answer.text == PAGE.replace("<head>", f"<head><script>{ELAPSED_TIMER_SCRIPT}</script>")


def test_other_answers_pass_unchanged():
    assert client(lambda: HTMLResponse(PAGE)).get("/other").text == PAGE
    assert client(lambda: JSONResponse({"head": "<head>"})).get("/").json() == {"head": "<head>"}
