"""The UDP receive loop shared by network trackers (VMC, iFacialMocap).

One datagram at a time on the source's own thread; a datagram that breaks anything is dropped and
counted, so no packet, however broken, can stop the stream.
"""

from __future__ import annotations

import errno
import socket

from vtube_plugin.errors import UserError
from vtube_plugin.sources.base import Malformed, Source

MAX_DATAGRAM = 65535
# A burst of bundles (VSeeFace splits a frame into several) must not overflow the kernel's queue
# while our thread is busy; 4 MiB is asked for, the OS may grant less.
RECEIVE_BUFFER = 4 * 1024 * 1024
POLL_SECONDS = 0.2  # how often the loop looks at the stop flag and runs `_idle`


def open_udp_socket(host: str, port: int, what: str) -> socket.socket:
    """A bound UDP socket, or a UserError that says which port is taken and what to do."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as err:
        raise UserError(f"{what}: '{host}' is not an address this PC can listen on ({err}). "
                        "Use 0.0.0.0 or 127.0.0.1.") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    except OSError:
        pass
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        in_use = err.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1))
        if in_use or getattr(err, "winerror", None) == 10048:  # 10048: Windows says WSAEADDRINUSE this way
            raise UserError(
                f"{what}: UDP port {port} on {host} is already in use by another program "
                "(another vtube-plugin, or a tracker app that also receives on it). "
                "Close that program, or choose another port here and in the sending app."
            ) from None
        raise UserError(f"{what}: cannot listen on UDP {host}:{port}: {err.strerror or err}.") from None
    sock.settimeout(POLL_SECONDS)
    return sock


class UdpSource(Source):
    """A source fed by UDP datagrams. Subclasses implement `_handle(data, sender)`."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where the source listens (the real port when it was started with port 0)."""
        if self._sock is None:
            return (self.host, self.port)
        return self._sock.getsockname()[:2]

    def _open(self) -> None:
        self._sock = open_udp_socket(self.host, self.port, f"{self.name} source")

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _loop(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stopping.is_set():
            try:
                data, sender = sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                self._idle()
                continue
            except ConnectionResetError:
                # Windows reports an earlier send's "port unreachable" on the next receive; harmless.
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                raise
            try:
                self._handle(data, sender)
            except Malformed as bad:
                self._drop(bad.reason)
            except Exception as err:  # a parser bug must cost one packet, never the stream
                self._drop(f"unexpected {type(err).__name__}")
            self._received()  # counted once handled, so "packets == sent" means all were dealt with
            self._idle()

    def _handle(self, data: bytes, sender: tuple) -> None:
        raise NotImplementedError

    def _idle(self) -> None:
        """Called after each datagram and every POLL_SECONDS of silence."""
