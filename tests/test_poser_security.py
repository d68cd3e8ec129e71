"""The poser page answers only itself: a foreign Host (DNS rebinding), a foreign Origin, a POST without the
page's token or JSON, and a CORS preflight are refused; half-sent requests cannot pile up threads; a
decompression bomb and a file name with control characters are refused with a message. A real server on
127.0.0.1 with a stand-in renderer (what is tested here is the HTTP side; tests/test_poser.py drives the page
over the real network in Chromium)."""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from bomb_png import bomb_png, write_bomb
from PIL import Image

from vtube_plugin.character import MAX_SIDE, load_character
from vtube_plugin.errors import UserError
from vtube_plugin.poser.characters import CharacterShelf
from vtube_plugin.poser.preview import PreviewWorker
from vtube_plugin.poser.server import MAX_CONNECTIONS, PoserApp, PoserServer

SIZE = 256


class FlatRenderer:
    def set_character(self, rgba: np.ndarray) -> None:
        pass

    def render(self, pose) -> np.ndarray:
        return np.zeros((4, 4, 4), np.uint8)


@pytest.fixture
def poser(tmp_path):
    shelf = CharacterShelf(SIZE)
    worker = PreviewWorker(FlatRenderer(), characters=lambda name: np.zeros((4, 4, 4), np.uint8))
    app = PoserApp(worker, shelf, model="tha3", save_dir=tmp_path, default_character="x.png")
    with PoserServer(app, request_seconds=1.0) as server:
        yield server


def character_png() -> bytes:
    rgba = np.zeros((SIZE, SIZE, 4), np.uint8)
    rgba[64:192, 64:192] = (200, 150, 120, 255)  # a square "character" on a transparent background
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG")
    return out.getvalue()


def request(server, method: str, path: str, body: dict | bytes | None = None, **headers: str):
    """(status, answer) for one request with exactly these headers (the page's own by default)."""
    port = server._http.server_address[1]
    sent = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json", "X-Poser-Token": server.token,
            **{k.replace("_", "-"): v for k, v in headers.items()}}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for key, value in sent.items():
            if value is not None:
                connection.putheader(key, value)
        connection.putheader("Content-Length", str(len(data or b"")))
        connection.endheaders(data)
        response = connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw), response
        except ValueError:
            return response.status, raw, response
    finally:
        connection.close()


def upload(name: str, data: bytes) -> dict:
    return {"name": name, "data": base64.b64encode(data).decode()}


def test_the_page_carries_its_own_token_and_the_token_is_new_for_each_server(poser, tmp_path):
    status, page, _ = request(poser, "GET", "/")
    assert status == 200 and f'<meta name="poser-token" content="{poser.token}">'.encode() in page
    assert len(poser.token) >= 32
    worker = PreviewWorker(FlatRenderer(), characters=lambda name: None)
    other = PoserServer(PoserApp(worker, CharacterShelf(SIZE), model="tha3", save_dir=tmp_path,
                                 default_character="x.png"))
    try:
        assert other.token != poser.token
    finally:
        other.close()


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "localhost", "attacker.test"])
def test_a_foreign_host_is_refused_for_reads_and_writes(poser, host):
    host = host.format(port=poser._http.server_address[1])
    for method, path, body in [("GET", "/", None), ("GET", "/api/setup", None),
                               ("POST", "/api/character", upload("mine.png", character_png()))]:
        status, answer, _ = request(poser, method, path, body, Host=host)
        assert status == 403 and "127.0.0.1" in answer["error"]
    assert poser.app.shelf.names() == []


@pytest.mark.parametrize("name", ["localhost", "[::1]"])
def test_the_other_local_names_are_answered(poser, name):
    status, answer, _ = request(poser, "GET", "/api/setup", Host=f"{name}:{poser._http.server_address[1]}")
    assert status == 200 and answer["model"] == "tha3"


def test_a_post_from_a_foreign_origin_is_refused(poser):
    status, answer, _ = request(poser, "POST", "/api/character", upload("mine.png", character_png()),
                                Origin="http://evil.example")
    assert status == 403 and "http://evil.example" in answer["error"]
    status, _, _ = request(poser, "POST", "/api/character", upload("mine.png", character_png()),
                           Origin="http://127.0.0.1:1")  # another local port is another site
    assert status == 403
    assert poser.app.shelf.names() == []
    port = poser._http.server_address[1]
    status, answer, _ = request(poser, "POST", "/api/character", upload("mine.png", character_png()),
                                Origin=f"http://127.0.0.1:{port}")
    assert status == 200 and answer["name"] == "mine.png"


def test_a_post_without_the_token_or_without_json_is_refused(poser, tmp_path):
    status, answer, _ = request(poser, "POST", "/api/character", upload("mine.png", character_png()),
                                X_Poser_Token=None)
    assert status == 403 and "X-Poser-Token" in answer["error"]
    status, _, _ = request(poser, "POST", "/api/character", upload("mine.png", character_png()),
                           X_Poser_Token="guessed")
    assert status == 403
    # What a cross-site <form> or no-cors fetch can send: text/plain, no token. Before, it saved and uploaded.
    status, answer, _ = request(poser, "POST", "/api/save", b'{"ticket": 1}', Content_Type="text/plain",
                                X_Poser_Token=None, Origin="null")
    assert status == 403
    status, answer, _ = request(poser, "POST", "/api/pose", b'{"pose": {}}', Content_Type="text/plain")
    assert status == 415 and "application/json" in answer["error"]
    assert poser.app.shelf.names() == [] and list(tmp_path.iterdir()) == []
    assert poser.app.worker.wait_newer(0, timeout=0.2) is None  # no pose was rendered for them


def test_a_cors_preflight_gets_no_permission(poser):
    status, _, response = request(poser, "OPTIONS", "/api/pose", None, Origin="http://evil.example",
                                  Access_Control_Request_Method="POST",
                                  Access_Control_Request_Headers="content-type,x-poser-token")
    assert status == 405
    assert not any(key.lower().startswith("access-control-allow") for key in response.headers)


def test_half_sent_requests_neither_grow_threads_nor_stay(poser):
    before = threading.active_count()
    port = poser._http.server_address[1]
    held = []
    try:
        for _ in range(200):  # before: 200 half-sent requests held 206 threads, forever
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"POST /api/pose HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n")
            held.append(sock)
        time.sleep(0.5)
        assert threading.active_count() - before <= MAX_CONNECTIONS
        deadline = time.monotonic() + 15  # request_seconds is 1 in this fixture
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert threading.active_count() <= before, "the half-sent requests were never timed out"
    finally:
        for sock in held:
            sock.close()
    status, _, _ = request(poser, "GET", "/api/setup")
    assert status == 200


def test_a_decompression_bomb_upload_is_refused_with_the_limit(poser):
    status, answer, _ = request(poser, "POST", "/api/character", upload("huge.png", bomb_png()))
    assert status == 400
    assert answer["error"].startswith("character image huge.png is 12000x12000") and str(MAX_SIDE) in answer["error"]
    assert poser.app.shelf.names() == []


def test_a_decompression_bomb_as_character_is_refused_before_decoding(tmp_path):
    with pytest.raises(UserError, match=rf"huge.png is 12000x12000; the largest picture taken is {MAX_SIDE} pixels"):
        load_character(write_bomb(tmp_path / "huge.png"), 512)


def test_upload_names_with_control_characters_are_refused_with_a_message(poser):
    for name in ("bad\0name.png", "new\nline.png", "bell\x07.png"):
        status, answer, _ = request(poser, "POST", "/api/character", upload(name, character_png()))
        assert status == 400 and "control characters" in answer["error"] and "Traceback" not in answer["error"]
    assert poser.app.shelf.names() == []


def test_one_upload_at_a_time(poser):
    with poser.app._upload_lock:  # an upload being decoded
        status, answer, _ = request(poser, "POST", "/api/character", upload("mine.png", character_png()))
    assert status == 400 and "another upload" in answer["error"]
    status, answer, _ = request(poser, "POST", "/api/character", upload("mine.png", character_png()))
    assert status == 200 and poser.app.shelf.names() == ["mine.png"]
    assert Path(answer["name"]).name == "mine.png"
