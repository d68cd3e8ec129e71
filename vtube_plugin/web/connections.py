"""A bound on the connections one local page server holds, and a deadline for each request's head.

asyncio itself would keep any number of sockets open, and aiohttp waits without end for a request that is sent
half-way: a web page (or anything on this PC) could hold thousands. Each connection is wrapped here before aiohttp
sees it: beyond `limit` open ones a newcomer is answered 503 and closed, and one that has not sent a whole request
head within `seconds` of starting it is hung up on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

BUSY = b"too many connections\n"
REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(BUSY), BUSY))


class ConnectionGuard:
    """The protocol factory for `loop.create_server`: wraps the protocol `make_protocol()` gives (aiohttp's)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, make_protocol: Callable[[], asyncio.Protocol], *,
                 limit: int, seconds: float):
        self.loop, self.make_protocol = loop, make_protocol
        self.limit, self.seconds = limit, seconds
        self._open: dict[object, _Watched] = {}  # transport -> its wrapper
        self._accepted = 0  # made but not yet connected: asyncio accepts a burst before any connection_made runs

    @property
    def count(self) -> int:
        return len(self._open)

    def __call__(self) -> asyncio.Protocol:
        if len(self._open) + self._accepted >= self.limit:
            return _Refused()
        self._accepted += 1
        return _Watched(self, self.make_protocol())

    def request_started(self, transport: object) -> None:
        """Called once a request's head has arrived (from the page server's middleware)."""
        watched = self._open.get(transport)
        if watched is not None:
            watched.busy += 1
            watched.disarm()

    def request_ended(self, transport: object) -> None:
        watched = self._open.get(transport)
        if watched is not None:
            watched.busy -= 1


class _Refused(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        transport.write(REFUSAL)
        transport.close()


class _Watched(asyncio.Protocol):
    """Passes everything to aiohttp's protocol; keeps the count and the deadline."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol):
        self.guard, self.inner = guard, inner
        self.transport = None
        self.busy = 0  # requests being answered on this connection (a WebSocket stays busy while open)
        self._timer: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        if self._timer is None:
            self._timer = self.guard.loop.call_later(self.guard.seconds, self._expire)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if not self.busy and self.transport is not None:
            self.transport.abort()  # a request that never finished arriving: nothing to answer

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.guard._accepted -= 1
        self.guard._open[transport] = self
        self.arm()  # from the first byte on: the request head must arrive in time
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.busy:
            self.arm()  # the start of another request on a kept-alive connection
        self.inner.data_received(data)

    def eof_received(self):
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        self.guard._open.pop(self.transport, None)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()
