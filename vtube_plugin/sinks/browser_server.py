"""The browser output's listener: one port serves the page and a WebSocket that pushes the newest PNG frame.

Who may talk to it: bound to 127.0.0.1 by default and answering only Host 127.0.0.1 / localhost / [::1] with its
own port; opened to the LAN, every request must carry the token instead. Viewers, connections and sizes are bounded.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs

from vtube_plugin.errors import UserError

MAX_VIEWERS = 8  # OBS, a preview or two, another PC: far more than anyone needs, few enough to stay cheap
MAX_CONNECTIONS = 16  # viewers plus page loads in flight; anything beyond is answered 503 and closed
HANDSHAKE_SECONDS = 5  # a connection that has not finished its request by then is dropped
MAX_INCOMING = 1024  # the page never sends anything; a client that does gets closed above this
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
STREAM_PATH = "/stream"
# websockets' own parser bounds the request: a line (request line or one header) at most 8 KiB, 128 headers.


class FrameServer:
    """`FrameServer(host, port, page=html, token=None).start()`; `publish(png)` from any thread; `close()`.

    Each viewer has one slot for the newest frame, never a queue: while a slow page is still receiving,
    newer frames overwrite the slot and only the newest is sent next.
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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._stopped: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # --- life cycle (caller's thread) -----------------------------------------------------------
    def start(self) -> FrameServer:
        self._thread = threading.Thread(target=self._run, name="browser-output", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None:
            self._thread.join(timeout=5)
            raise self._error
        return self

    def publish(self, frame: bytes) -> None:
        """Make `frame` (one encoded picture) the newest; safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._set_latest, frame)
            except RuntimeError:  # the loop closed between the check and the call
                pass

    def close(self) -> None:
        if self._loop is not None and self._stopped is not None and self._thread is not None:
            try:
                self._loop.call_soon_threadsafe(self._stopped.set)
            except RuntimeError:
                pass
            self._thread.join(timeout=10)

    # --- the loop thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - handed to start(), which raises it on the caller's thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        try:
            server = await serve(self._viewer, self.host, self.port, process_request=self._check,
                                 open_timeout=HANDSHAKE_SECONDS, max_size=MAX_INCOMING, max_queue=4,
                                 compression=None)  # PNG does not deflate further; compressing costs CPU for nothing
        except OSError as exc:
            raise UserError(f"--output browser cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); is "
                            "another `vtube-plugin run` using it? Pick another with --output browser:port=N") from None
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopped.wait()
            server.close()  # open viewers get "going away"; their pages reconnect to the next run

    def _set_latest(self, frame: bytes) -> None:
        self._latest = frame
        for wake in self._wakes:
            wake.set()

    def _check(self, connection, request):
        """Who may talk to us: answered before anything else is read or sent. None lets the WebSocket open."""
        if len(getattr(connection.server, "handler_tasks", ())) > MAX_CONNECTIONS:  # every open TCP connection
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections\n")
        hosts = request.headers.get_all("Host")
        if len(hosts) != 1:
            return connection.respond(HTTPStatus.BAD_REQUEST, "one Host header, please\n")
        host = hosts[0].strip().lower()
        path, _, query = request.path.partition("?")
        if self.token is None:
            if host not in {f"{name}:{self.port}" for name in LOCAL_HOSTS}:
                # A web page's script reaching us under a foreign name (DNS rebinding) lands here.
                return connection.respond(HTTPStatus.FORBIDDEN, "this page answers only 127.0.0.1, localhost or [::1] "
                                                                f"on port {self.port}\n")
        else:
            given = parse_qs(query).get("token", [""])[0]
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return connection.respond(HTTPStatus.FORBIDDEN, "wrong or missing token: use the URL vtube-plugin "
                                                                "printed, with its ?token=...\n")
        if path == STREAM_PATH:
            origins = request.headers.get_all("Origin")
            # Browsers always send Origin on a WebSocket: only our own page may watch (other tools send none).
            if origins and origins != [f"http://{host}"]:
                return connection.respond(HTTPStatus.FORBIDDEN, "only the page served here may open the stream\n")
            if self.viewers >= MAX_VIEWERS:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, f"already {MAX_VIEWERS} viewers\n")
            return None
        if path in ("/", "/index.html"):
            return _page_response(self.page)
        return connection.respond(HTTPStatus.NOT_FOUND, "nothing here; the character is at /\n")

    async def _viewer(self, websocket) -> None:
        from websockets.exceptions import ConnectionClosed

        wake = asyncio.Event()
        if self._latest is not None:
            wake.set()  # a page that connects shows the current frame at once
        self._wakes.add(wake)
        self._count(+1)
        # Reading also answers the page's close; it never sends anything else (max_size closes one that does).
        closed = asyncio.ensure_future(_drain(websocket))
        try:
            sent = None
            while not closed.done():
                woken = asyncio.ensure_future(wake.wait())
                await asyncio.wait({woken, closed}, return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                wake.clear()
                frame = self._latest
                if frame is not None and frame is not sent and not closed.done():
                    await websocket.send(frame)  # waits while the page is slow; newer frames replace _latest
                    sent = frame
        except ConnectionClosed:
            pass
        finally:
            closed.cancel()
            self._wakes.discard(wake)
            self._count(-1)

    def _count(self, change: int) -> None:
        self.viewers += change
        self.on_viewers(self.viewers)


async def _drain(websocket) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async for _ in websocket:
            pass
    except ConnectionClosed:
        pass


def _page_response(page: bytes):
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    headers = Headers([
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(page))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Connection", "close"),
    ])
    return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, page)
