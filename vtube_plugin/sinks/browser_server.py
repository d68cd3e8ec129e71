"""The browser output's feed: the page OBS opens at / and a WebSocket at /stream that pushes the newest PNG frame,
served by the one local web server (vtube_plugin/web), which decides who may talk to it.

Who may talk to it: bound to 127.0.0.1 by default and answering only Host 127.0.0.1 / localhost / [::1] with its
own port; opened to the LAN, every request must carry the token instead. The stream opens only for our own page
(or a tool that sends no Origin). Viewers, connections and sizes are bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from vtube_plugin.errors import UserError
from vtube_plugin.web.rules import error
from vtube_plugin.web.server import LocalServer, shared

MAX_VIEWERS = 8  # OBS, a preview or two, another PC: far more than anyone needs, few enough to stay cheap
MAX_CONNECTIONS = 16  # viewers plus page loads in flight; anything beyond is answered 503 and closed
HANDSHAKE_SECONDS = 5  # a connection that has not finished its request by then is dropped
MAX_INCOMING = 1024  # the page never sends anything; a client that does gets closed above this
STREAM_PATH = "/stream"
PAGE_PATHS = ("/", "/index.html")
# aiohttp's parser bounds the request: a line (request line or one header) at most 8 KiB, 128 headers.


class FrameServer:
    """`FrameServer(host, port, page=html, token=None).start()`; `publish(png)` from any thread; `close()`.

    Each viewer has one slot for the newest frame, never a queue: while a slow page is still receiving,
    newer frames overwrite the slot and only the newest is sent next. When this process already serves a page
    on host:port (the studio), the feed joins that server.
    """

    def __init__(self, host: str, port: int, *, page: bytes, token: str | None = None,
                 on_viewers: Callable[[int], None] | None = None):
        self.host, self.port = host, port
        self.page = page
        self.token = token  # None: loopback only, checked by Host instead
        self.on_viewers = on_viewers or (lambda count: None)
        self.viewers = 0
        self._latest: bytes | None = None
        self._wakes: set[asyncio.Event] = set()
        self._web: LocalServer | None = None

    # --- life cycle (caller's thread) -----------------------------------------------------------
    def start(self) -> FrameServer:
        server = shared(self.host, self.port, lan_token=self.token, max_connections=MAX_CONNECTIONS,
                        request_seconds=HANDSHAKE_SECONDS, name="browser output")
        if server.lan_token != self.token:
            raise UserError(f"{self.host}:{self.port} already serves a page with another token; "
                            "pick another port with --output browser:port=N")
        for path in PAGE_PATHS:
            server.add("GET", path, self._page)
        server.add("GET", STREAM_PATH, self._stream, websocket=True)
        try:
            server.start()
        except OSError as exc:
            server.remove({*PAGE_PATHS, STREAM_PATH})
            raise UserError(f"--output browser cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); is "
                            "another `vtube-plugin run` using it? Pick another with --output browser:port=N") from None
        self._web = server
        self.port = server.port
        return self

    def publish(self, frame: bytes) -> None:
        """Make `frame` (one encoded picture) the newest; safe from any thread."""
        if self._web is not None:
            self._web.call_soon(self._set_latest, frame)

    def close(self) -> None:
        server, self._web = self._web, None
        if server is not None:
            server.remove({*PAGE_PATHS, STREAM_PATH})
            server.call_soon(self._set_latest, None)  # a viewer still open on a shared server ends with the feed
            server.close()

    # --- the server's loop ----------------------------------------------------------------------
    def _set_latest(self, frame: bytes | None) -> None:
        if frame is None:
            self._closing = True
        else:
            self._latest = frame
        for wake in self._wakes:
            wake.set()

    _closing = False

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(body=self.page, content_type="text/html", charset="utf-8")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if self.viewers >= MAX_VIEWERS:
            return error(503, f"already {MAX_VIEWERS} viewers")
        async with self._web.websocket(request, max_msg_size=MAX_INCOMING) as ws:
            wake = asyncio.Event()
            if self._latest is not None:
                wake.set()  # a page that connects shows the current frame at once
            self._wakes.add(wake)
            self._count(+1)
            # Reading also answers the page's close; it never sends anything else (max_msg_size closes one that does).
            closed = asyncio.ensure_future(_drain(ws))
            try:
                sent = None
                while not closed.done() and not self._closing:
                    woken = asyncio.ensure_future(wake.wait())
                    await asyncio.wait({woken, closed}, return_when=asyncio.FIRST_COMPLETED)
                    woken.cancel()
                    wake.clear()
                    frame = self._latest
                    if frame is not None and frame is not sent and not closed.done() and not self._closing:
                        await ws.send_bytes(frame)  # waits while the page is slow; newer frames replace _latest
                        sent = frame
            except ConnectionError:
                pass
            finally:
                closed.cancel()
                self._wakes.discard(wake)
                self._count(-1)
        return ws

    def _count(self, change: int) -> None:
        self.viewers += change
        self.on_viewers(self.viewers)


async def _drain(ws: web.WebSocketResponse) -> None:
    async for _ in ws:
        pass
