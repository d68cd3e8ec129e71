"""Browser viewers that misbehave for as long as a stream lasts, against a real BrowserSink on loopback: a page
reloaded hundreds of times (closed cleanly, or cut off mid-stream), and viewers that stall and never read again.
Memory and threads stay flat, and a viewer that reads keeps getting every newest frame throughout.
"""

from __future__ import annotations

import base64
import io
import os
import socket
import threading
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from vtube_plugin.sinks.browser import BrowserSink

websockets_client = pytest.importorskip("websockets.sync.client")

RELOADS = 300
STALLED = 3


def resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def frame(seed: int) -> np.ndarray:
    """A 256x256 frame of noise (a PNG of ~250 KB, enough to fill a stalled viewer's socket buffers), its seed in
    the first pixel's red."""
    rgba = np.random.default_rng(seed).integers(0, 256, (256, 256, 4), dtype=np.uint8)
    rgba[0, 0] = (seed % 256, 0, 0, 255)
    return rgba


def stalled_viewer(port: int) -> socket.socket:
    """A page that opens the stream and then never reads again (a frozen tab, a paused OBS source)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET /stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)  # the answer's headers only; the frames after them are never read
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def reload_page(port: int, number: int) -> None:
    """What a Browser Source reload does: fetch the page, open the stream, get a frame, go away (every third
    time without saying goodbye)."""
    if number % 10 == 0:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
    if number % 3:
        with websockets_client.connect(f"ws://127.0.0.1:{port}/stream", open_timeout=10, max_size=None) as viewer:
            viewer.recv(timeout=10)
    else:
        sock = stalled_viewer(port)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset on close
        sock.close()


def test_hundreds_of_reloads_and_stalled_viewers_leave_memory_threads_and_other_viewers_alone():
    with BrowserSink((256, 256), port=0) as sink:
        stop, still, sent = threading.Event(), threading.Event(), [0]

        def render():  # the loop: a new frame every 20 ms, until it is told to stand still
            while not still.wait(0.02):
                sent[0] += 1
                sink.send(frame(sent[0]))

        got: list[int] = []

        def watch():  # OBS's page, reading every frame it is sent
            with websockets_client.connect(f"ws://127.0.0.1:{sink.port}/stream", open_timeout=10,
                                           max_size=None) as viewer:
                while not stop.is_set():
                    try:
                        png = viewer.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    got.append(int(np.asarray(Image.open(io.BytesIO(png)))[0, 0, 0]))

        threads = [threading.Thread(target=f, daemon=True) for f in (render, watch)]
        for thread in threads:
            thread.start()
        stalled = []
        try:
            for n in range(30):  # warm-up: the first connections allocate what every later one reuses
                reload_page(sink.port, n)
            before_mb, before_threads = resident_mb(), threading.active_count()
            got_before = len(got)
            stalled = [stalled_viewer(sink.port) for _ in range(STALLED)]
            for n in range(RELOADS):
                reload_page(sink.port, n)
            after_mb, after_threads = resident_mb(), threading.active_count()
            got_during = len(got) - got_before
            still.set()
            threads[0].join(timeout=10)
            deadline = time.monotonic() + 10
            while (not got or got[-1] != sent[0] % 256) and time.monotonic() < deadline:
                time.sleep(0.05)
            while sink._server.viewers != 1 + STALLED and time.monotonic() < deadline:
                time.sleep(0.05)  # the reloaded pages are all gone; the stalled ones are still open
            viewers = sink._server.viewers
        finally:
            still.set()
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            for sock in stalled:
                sock.close()
        assert after_threads <= before_threads  # (a client thread of the warm-up may still have been ending)
        assert after_mb - before_mb < 15, (before_mb, after_mb)  # a few frames in flight, not one per reload
        assert viewers == 1 + STALLED  # no connection left behind by the reloads
        assert got_during > 20, got_during  # the reading viewer was served all along
        assert got[-1] == sent[0] % 256  # and has the newest frame at the end
