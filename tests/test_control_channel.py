"""The control channel answers only the user's own processes: a browser's request is cut off, a client without
the run's secret is refused, and lines, connections and idle time are bounded. Real TCP on 127.0.0.1."""

from __future__ import annotations

import socket
import stat
import sys
import time

import pytest

from vtube_plugin.expressions.control import MAX_CONNECTIONS, MAX_LINE, ControlServer, send_command
from vtube_plugin.expressions.layer import ExpressionLayer, parse_presets

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def layer() -> ExpressionLayer:
    return ExpressionLayer(parse_presets(tomllib.loads("[happy]\npose = { mouth_raised_corner = 1.0 }\n")))


@pytest.fixture
def server(layer, tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path))
    with ControlServer(layer, port=0, idle_seconds=1.0) as running:
        yield running


def connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def everything(sock: socket.socket) -> bytes:
    """What the server says until it hangs up."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def secret(server) -> str:
    return server.secret_file.read_text().strip()


def test_a_browser_style_post_is_cut_off_and_switches_nothing(server, layer):
    request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"
               b"happy trigger\n" % server.port)
    with connect(server) as sock:
        sock.sendall(request)
        assert everything(sock) == b""  # closed without an answer a page could read
    # even with the secret known (it is not, to a page), an HTTP line ends the conversation
    with connect(server) as sock:
        sock.sendall(f"secret {secret(server)}\nGET /happy HTTP/1.1\nhappy trigger\n".encode())
        assert everything(sock) == b""
    assert layer.active() == []


def test_a_client_without_the_secret_is_refused(server, layer):
    for first in (b"happy trigger\n", b"secret 0123456789abcdef0123456789abcdef\nhappy trigger\n"):
        with connect(server) as sock:
            sock.sendall(first)
            answer = everything(sock).decode()
        assert answer.startswith("error this channel wants the run's secret first") and answer.count("\n") == 1
    assert layer.active() == []
    assert send_command("expression happy", server.port) == "ok happy on"  # the real client reads the file
    assert layer.active() == ["happy"]


def test_the_secret_is_new_each_run_owner_only_and_removed_after(layer, tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path))
    seen = []
    for _ in range(2):
        with ControlServer(layer, port=0) as server:
            path = server.secret_file
            assert path.parent == tmp_path and path.name == f"control-{server.port}.secret"
            if sys.platform != "win32":
                assert stat.S_IMODE(path.stat().st_mode) == 0o600
            seen.append(path.read_text().strip())
            assert len(seen[-1]) == 32
        assert not path.exists()
    assert seen[0] != seen[1]


def test_a_long_line_is_refused_and_the_channel_keeps_serving(server, layer):
    with connect(server) as sock:
        sock.sendall(f"secret {secret(server)}\n".encode() + b"happy " + b"x" * (MAX_LINE * 100) + b"\n")
        assert everything(sock).startswith(b"error line too long")
    assert layer.active() == []
    assert send_command("happy", server.port) == "ok happy on"


def test_connections_are_bounded_and_idle_ones_time_out(server, layer):
    held = [connect(server) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)  # let the server take them all
        with connect(server) as extra:
            assert everything(extra) == b""  # one too many: hung up at once, no thread kept for it
        started = time.monotonic()
        for sock in held:
            assert everything(sock) == b""  # each closed by the server after idle_seconds of silence
        assert time.monotonic() - started < 8
    finally:
        for sock in held:
            sock.close()
    assert send_command("happy", server.port) == "ok happy on"  # and the slots are free again
