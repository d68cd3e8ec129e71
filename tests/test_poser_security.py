"""The poser's own refusals: its page carries a token of its own, a decompression bomb and a file name with control
characters are refused with a message, one upload is decoded at a time (the rules every page shares, Host, Origin,
token, JSON, preflight, bounds, are in tests/test_web_security.py). A real server on
127.0.0.1 with a stand-in renderer (what is tested here is the HTTP side; tests/test_poser.py drives the page
over the real network in Chromium)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from bomb_png import bomb_png, write_bomb
from local_http import local_request
from PIL import Image

from vtube_plugin.character import MAX_SIDE, load_character
from vtube_plugin.errors import UserError
from vtube_plugin.poser.characters import CharacterShelf
from vtube_plugin.poser.preview import PreviewWorker
from vtube_plugin.poser.server import PoserApp, PoserServer

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
    return local_request(server.port, server.token, method, path, body, **headers)


def upload(name: str, data: bytes) -> dict:
    return {"name": name, "data": base64.b64encode(data).decode()}


def test_the_page_carries_its_own_token_and_the_token_is_new_for_each_server(poser, tmp_path):
    status, page, _ = request(poser, "GET", "/")
    assert status == 200 and f'<meta name="page-token" content="{poser.token}">'.encode() in page
    assert len(poser.token) >= 32
    worker = PreviewWorker(FlatRenderer(), characters=lambda name: None)
    other = PoserServer(PoserApp(worker, CharacterShelf(SIZE), model="tha3", save_dir=tmp_path,
                                 default_character="x.png"))
    try:
        assert other.token != poser.token
    finally:
        other.close()


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
