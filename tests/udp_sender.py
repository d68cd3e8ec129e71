"""Datagrams from a test's loopback socket to a tracking source, waiting until the source has counted them."""

from __future__ import annotations

import socket


def send_and_wait(source, sender: socket.socket, *datagrams: str | bytes) -> None:
    """Send each datagram (str is sent as UTF-8) to `source` and wait until its packet count has seen them all."""
    before = source.stats.packets
    for data in datagrams:
        sender.sendto(data.encode() if isinstance(data, str) else data, source.address)
    assert source.wait_until(lambda s: s.stats.packets >= before + len(datagrams), timeout=10)
