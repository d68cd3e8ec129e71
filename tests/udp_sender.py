"""Loopback UDP for the tracking tests: datagrams sent to a source (waiting until it counted them), free ports,
a VMC app that keeps sending an open mouth."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager


def send_and_wait(source, sender: socket.socket, *datagrams: str | bytes) -> None:
    """Send each datagram (str is sent as UTF-8) to `source` and wait until its packet count has seen them all."""
    before = source.stats.packets
    for data in datagrams:
        sender.sendto(data.encode() if isinstance(data, str) else data, source.address)
    assert source.wait_until(lambda s: s.stats.packets >= before + len(datagrams), timeout=10)


def free_udp_port() -> int:
    """A loopback UDP port nobody holds right now, for a command that binds it itself."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def vmc_open_mouth(port: int):
    """A VMC tracker app (python-osc, a real client) sending an open mouth to 127.0.0.1:`port` every 30 ms
    while the block runs."""
    from pythonosc.udp_client import SimpleUDPClient

    stop = threading.Event()

    def send() -> None:
        client = SimpleUDPClient("127.0.0.1", port)
        while not stop.wait(0.03):
            client.send_message("/VMC/Ext/Blend/Val", ["A", 1.0])
            client.send_message("/VMC/Ext/Blend/Apply", [])

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        yield
    finally:
        stop.set()
        sender.join(timeout=5)
