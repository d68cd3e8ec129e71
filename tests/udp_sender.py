"""Loopback UDP for the tracking tests: datagrams sent to a source (waiting until it counted them), free ports."""

from __future__ import annotations

import socket


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
