"""Every local page of ours (the poser, the studio, the Browser Source feed) answers only itself, by the one set of
rules in vtube_plugin/web: a foreign Host (DNS rebinding) is refused; a state change needs the page's token, JSON
and no foreign Origin or cross-site fetch; a CORS preflight gets no permission; a stream opens only for our own page;
bodies are bounded; half-sent requests neither pile up nor stay. Each check runs against each page, on a real server
on 127.0.0.1 (the poser with a stand-in renderer, the studio with a stand-in session: what is tested here is the
HTTP side; tests/test_poser.py and tests/test_studio.py drive the pages in Chromium)."""

from __future__ import annotations

import base64
import io
import json
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
from local_http import local_request
from PIL import Image

websockets_client = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import InvalidStatus  # noqa: E402

SIZE = 256


class FlatRenderer:
    def set_character(self, rgba: np.ndarray) -> None:
        pass

    def render(self, pose) -> np.ndarray:
        return np.zeros((4, 4, 4), np.uint8)


class IdleSwitch:
    """The smallest session behind SessionCommands: one setting to change, so a refusal can be seen to change
    nothing."""

    idle = False

    def set_idle(self, on: bool) -> None:
        self.idle = on

    def state(self) -> dict:
        return {"idle": self.idle}


@dataclass
class Page:
    name: str
    port: int
    token: str
    read: str  # a GET that answers 200
    change: tuple[str, dict] | None  # a POST that changes something
    changed: Callable[[], bool]
    stream: str | None  # a WebSocket
    limit: int  # the connections it holds at once
    count: Callable[[], int]  # the connections it holds now


def character_png() -> bytes:
    rgba = np.zeros((SIZE, SIZE, 4), np.uint8)
    rgba[64:192, 64:192] = (200, 150, 120, 255)
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG")
    return out.getvalue()


@contextmanager
def open_page(name: str, tmp_path):
    if name == "poser":
        from vtube_plugin.poser.characters import CharacterShelf
        from vtube_plugin.poser.preview import PreviewWorker
        from vtube_plugin.poser.server import MAX_CONNECTIONS, PoserApp, PoserServer

        shelf = CharacterShelf(SIZE)
        worker = PreviewWorker(FlatRenderer(), characters=lambda name: np.zeros((4, 4, 4), np.uint8))
        app = PoserApp(worker, shelf, model="tha3", save_dir=tmp_path, default_character="x.png")
        with PoserServer(app, request_seconds=1.0) as server:
            body = {"name": "mine.png", "data": base64.b64encode(character_png()).decode()}
            yield Page("poser", server.port, server.token, "/api/setup", ("/api/character", body),
                       lambda: shelf.names() != [], None, MAX_CONNECTIONS, lambda: server.web.connections.count)
    elif name == "studio":
        from vtube_plugin.live.commands import SessionCommands
        from vtube_plugin.web.server import LocalServer
        from vtube_plugin.web.studio import Studio, add_studio

        session = IdleSwitch()
        studio = Studio(SessionCommands(session), browser_source_url="http://127.0.0.1:1/", uploads=tmp_path)
        with LocalServer(request_seconds=1.0, name="studio") as server:
            add_studio(server, studio)
            yield Page("studio", server.port, server.token, "/studio/api/state",
                       ("/studio/api/command", {"type": "set_idle", "data": {"on": True}}), lambda: session.idle,
                       "/studio/events", server.max_connections, lambda: server.connections.count)
    else:
        from vtube_plugin.sinks.browser_server import MAX_CONNECTIONS, FrameServer

        feed = FrameServer("127.0.0.1", 0, page=b"<!doctype html><title>feed</title>").start()
        try:
            yield Page("browser output", feed.port, "", "/", None, lambda: False, "/stream", MAX_CONNECTIONS,
                       lambda: feed._web.connections.count)
        finally:
            feed.close()


@pytest.fixture(params=["poser", "studio", "browser output"])
def page(request, tmp_path):
    with open_page(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(params=["poser", "studio"])  # the browser output takes no state changes
def changing_page(request, tmp_path):
    with open_page(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(params=["studio", "browser output"])  # the poser has no stream
def streaming_page(request, tmp_path):
    with open_page(request.param, tmp_path) as opened:
        yield opened


def request(page: Page, method: str, path: str, body: dict | bytes | None = None, **headers: str | None):
    """(status, answer, response) for one request with exactly these headers (the page's own by default)."""
    return local_request(page.port, page.token, method, path, body, **headers)


def ws_status(page: Page, path: str, **options) -> int:
    try:
        with websockets_client.connect(f"ws://127.0.0.1:{page.port}{path}", open_timeout=10, **options):
            return 101
    except InvalidStatus as err:
        return err.response.status_code


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "localhost", "attacker.test"])
def test_a_foreign_host_is_refused_for_reads_writes_and_streams(page, host):
    host = host.format(port=page.port)
    asks = [("GET", page.read, None)] + ([("POST", *page.change)] if page.change else [])
    if page.stream:
        asks.append(("GET", page.stream, None))
    for method, path, body in asks:
        status, answer, _ = request(page, method, path, body, Host=host)
        assert status == 403 and "127.0.0.1" in answer["error"], (method, path)
    assert not page.changed()


@pytest.mark.parametrize("name", ["localhost", "[::1]"])
def test_the_other_local_names_are_answered(page, name):
    status, _, _ = request(page, "GET", page.read, Host=f"{name}:{page.port}")
    assert status == 200


def test_a_state_change_from_a_foreign_origin_is_refused(changing_page):
    page = changing_page
    path, body = page.change
    status, answer, _ = request(page, "POST", path, body, Origin="http://evil.example")
    assert status == 403 and "http://evil.example" in answer["error"]
    status, _, _ = request(page, "POST", path, body, Origin="http://127.0.0.1:1")  # another local port: another site
    assert status == 403
    status, _, _ = request(page, "POST", path, body, Sec_Fetch_Site="cross-site")
    assert status == 403
    assert not page.changed()
    status, _, _ = request(page, "POST", path, body, Origin=f"http://127.0.0.1:{page.port}")
    assert status == 200 and page.changed()


def test_a_state_change_without_the_token_or_json_is_refused(changing_page):
    page = changing_page
    path, body = page.change
    status, answer, _ = request(page, "POST", path, body, X_Page_Token=None)
    assert status == 403 and "X-Page-Token" in answer["error"]
    status, _, _ = request(page, "POST", path, body, X_Page_Token="guessed")
    assert status == 403
    # What a cross-site <form> or no-cors fetch can send: text/plain, no token.
    status, _, _ = request(page, "POST", path, json.dumps(body).encode(), Content_Type="text/plain",
                           X_Page_Token=None, Origin="null")
    assert status == 403
    status, answer, _ = request(page, "POST", path, json.dumps(body).encode(), Content_Type="text/plain")
    assert status == 415 and "application/json" in answer["error"]
    assert not page.changed()


def test_a_body_over_the_limit_is_refused_before_it_is_read(changing_page):
    page = changing_page
    path, _ = page.change
    status, answer, _ = request(page, "POST", path, b"{}", Content_Length=str(2**31))
    assert status == 413 and "error" in answer
    assert not page.changed()


def test_a_cors_preflight_gets_no_permission(page):
    status, _, response = request(page, "OPTIONS", page.change[0] if page.change else page.read, None,
                                  Origin="http://evil.example", Access_Control_Request_Method="POST",
                                  Access_Control_Request_Headers="content-type,x-page-token")
    assert status == 405
    assert not any(key.lower().startswith("access-control-allow") for key in response.headers)


def test_a_stream_opens_only_for_our_own_page(streaming_page):
    page = streaming_page
    assert ws_status(page, page.stream, origin="http://evil.example") == 403
    assert ws_status(page, page.stream, origin=f"http://127.0.0.1:{page.port}") == 101
    assert ws_status(page, page.stream) == 101  # a tool that sends no Origin (OBS's own requests, a script)


def test_half_sent_requests_neither_pile_up_nor_stay(page):
    held = []
    try:
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", page.port), timeout=10)
            sock.sendall(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n")
            held.append(sock)
        time.sleep(0.5)
        assert 0 < page.count() <= page.limit
        deadline = time.monotonic() + 20  # the pages here give a request head 1 s (the feed 5 s)
        while page.count() > 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert page.count() == 0, "the half-sent requests were never timed out"
    finally:
        for sock in held:
            sock.close()
    status, _, _ = request(page, "GET", page.read)
    assert status == 200
