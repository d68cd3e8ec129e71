"""One local web server for every page of this process (poser, studio, the Browser Source feed), on aiohttp.

It runs on a thread of its own with its own event loop; pages add their routes to it (also while it runs, so the
studio and the Browser Source feed can share one port). Who may talk to it is decided in rules.py, how many
connections it holds in connections.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources

from aiohttp import WSCloseCode, web

from vtube_plugin.web.connections import ConnectionGuard
from vtube_plugin.web.rules import ROUTE, make_middleware

REQUEST_SECONDS = 15.0  # a client that sends nothing (or half a request) for this long is hung up on
MAX_CONNECTIONS = 32  # at once; a browser opens at most 6 per host, OBS one per source or dock
MAX_JSON = 64 * 1024  # a state change is a few hundred bytes; an upload route says its own limit
TOKEN_PLACEHOLDER = b"__PAGE_TOKEN__"  # in a page's HTML, replaced by this server's token

# This process's listeners by (host, port), so that pages asking for the same port share one server (the studio
# and the Browser Source feed at http://127.0.0.1:41456/) instead of the second failing to bind.
_SHARED: dict[tuple[str, int], LocalServer] = {}
_SHARED_LOCK = threading.Lock()

# aiohttp logs every malformed request with a traceback; they are refused (400) and not ours to report, and a
# flood of them must not fill the console. Our own handlers' failures are printed by rules.py.
QUIET = logging.getLogger("vtube_plugin.web.malformed")
QUIET.setLevel(logging.CRITICAL + 1)
QUIET.propagate = False

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # exact, or a prefix when `prefix`
    handler: Handler
    changes_state: bool = False  # needs the token, JSON and our Origin; the JSON object is request[BODY]
    websocket: bool = False  # opens only for our own page's Origin (or none)
    prefix: bool = False
    max_body: int = MAX_JSON
    too_big: str | None = None  # what a body over max_body is told


class LocalServer:
    """`LocalServer(host, port).start()`; `add(...)` routes; `close()`. `token` goes into the pages it serves.

    Bound to 127.0.0.1 by default and answering only our own Host names; bound elsewhere (the LAN), every
    request must carry `lan_token` as ?token=.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, lan_token: str | None = None,
                 request_seconds: float = REQUEST_SECONDS, max_connections: int = MAX_CONNECTIONS,
                 name: str = "local"):
        self.host, self.port = host, port
        self.lan_token = lan_token
        self.request_seconds = request_seconds
        self.max_connections = max_connections
        self.name = name  # in messages: "use the poser page itself"
        self.token = secrets.token_urlsafe(24)
        self._exact: dict[tuple[str, str], Route] = {}
        self._prefixes: list[Route] = []
        self._routes_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_connections, thread_name_prefix=f"{name}-web")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.connections: ConnectionGuard | None = None
        self._users = 0
        self._sockets: set[web.WebSocketResponse] = set()

    # --- routes ---------------------------------------------------------------------------------
    def add(self, method: str, path: str, handler: Handler, **kind) -> None:
        route = Route(method.upper(), path, handler, **kind)
        with self._routes_lock:
            if route.prefix:
                self._prefixes.append(route)
            else:
                self._exact[(route.method, path)] = route

    def remove(self, paths: set[str]) -> None:
        """Take a page's routes away (its feed closed; the other pages on this server go on)."""
        with self._routes_lock:
            self._exact = {key: r for key, r in self._exact.items() if r.path not in paths}
            self._prefixes = [r for r in self._prefixes if r.path not in paths]

    def route_for(self, method: str, path: str) -> Route | None:
        with self._routes_lock:
            route = self._exact.get((method, path))
            if route is None:
                route = next((r for r in self._prefixes if r.method == method and path.startswith(r.path)), None)
        return route

    def page(self, package: str, folder: str, files: dict[str, str], *, at: str, static: str) -> None:
        """Serve a page: `at` its HTML (index.html, with the token written in), `static` + name its other files."""
        def read(name: str) -> bytes:
            return resources.files(package).joinpath(folder, name).read_bytes()

        async def index(request: web.Request) -> web.Response:
            body = read("index.html").replace(TOKEN_PLACEHOLDER, self.token.encode())
            return web.Response(body=body, content_type="text/html", charset="utf-8")

        async def other(request: web.Request) -> web.Response:
            name = request.path[len(static):]
            kind = files.get(name)
            if kind is None or name == "index.html":
                from vtube_plugin.web.rules import error

                return error(404, f"no static file {name}")
            return web.Response(body=read(name), content_type=kind, charset="utf-8")

        for path in (at, at + "index.html") if at.endswith("/") else (at,):
            self.add("GET", path, index)
        self.add("GET", static, other, prefix=True)

    # --- WebSockets ---------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def websocket(self, request: web.Request, *, max_msg_size: int):
        """`async with server.websocket(request, max_msg_size=N) as ws:` opened, and closed "going away" when the
        server stops (a page reconnects to the next run)."""
        ws = web.WebSocketResponse(max_msg_size=max_msg_size, compress=False)  # PNG and JSON gain nothing from it
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            yield ws
        finally:
            self._sockets.discard(ws)
            if not ws.closed:
                await ws.close()

    async def _close_sockets(self) -> None:
        for ws in list(self._sockets):
            try:
                await asyncio.wait_for(ws.close(code=WSCloseCode.GOING_AWAY, message=b"vtube-plugin stopped"), 2)
            except (asyncio.TimeoutError, ConnectionError):
                pass

    # --- blocking work, from a handler --------------------------------------------------------
    async def blocking(self, function: Callable, *args):
        """Run `function(*args)` on the server's threads (a render wait, an image check) and await it."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    def call_soon(self, function: Callable, *args) -> None:
        """Run `function(*args)` on the server's loop, from any thread; nothing once the server has stopped."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(function, *args)
            except RuntimeError:  # the loop closed between the check and the call
                pass

    # --- life cycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        where = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in where:
            where = f"[{where}]"
        return f"http://{where}:{self.port}/"

    def start(self) -> LocalServer:
        """Listen (an OSError if the port is taken: each page says it in its own words) and serve."""
        with _SHARED_LOCK:
            self._users += 1
            if self._thread is not None:
                return self
            self._thread = threading.Thread(target=self._run, name=f"{self.name}-web", daemon=True)
            self._thread.start()
            self._ready.wait(timeout=30)
            if self._error is not None:
                self._thread.join(timeout=5)
                self._thread, self._users = None, 0
                self._pool.shutdown(wait=False)
                for key, server in list(_SHARED.items()):
                    if server is self:
                        del _SHARED[key]
                raise self._error
            _SHARED[(self.host, self.port)] = self  # the real port: a page asking for it later joins this server
        return self

    def close(self) -> None:
        """Stop serving once every page that started it has closed it."""
        with _SHARED_LOCK:
            self._users -= 1
            if self._users > 0 or self._thread is None:
                return
            for key, server in list(_SHARED.items()):
                if server is self:
                    del _SHARED[key]
        if self._loop is not None and self._stop is not None:
            self.call_soon(self._stop.set)
        self._thread.join(timeout=10)
        self._thread = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - handed to start(), which raises it on the caller's thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application(middlewares=[make_middleware(self)], client_max_size=MAX_JSON,
                              handler_args={"max_headers": 128, "max_field_size": 8190,
                                            "keepalive_timeout": self.request_seconds, "logger": QUIET})
        app.router.add_route("*", "/{rest:.*}", self._dispatch)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2)
        await runner.setup()
        self.connections = ConnectionGuard(self._loop, runner.server, limit=self.max_connections,
                                           seconds=self.request_seconds)
        try:
            listener = await self._loop.create_server(self.connections, self.host, self.port, backlog=64,
                                                      reuse_address=True)
        except BaseException:
            await runner.cleanup()
            raise
        self.port = listener.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            listener.close()
            await self._close_sockets()
            await runner.cleanup()  # open WebSockets get "going away"; their pages reconnect to the next run

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        return await request[ROUTE].handler(request)  # the middleware found the route and checked the rules


def shared(host: str, port: int, **options) -> LocalServer:
    """The server this process already runs on host:port (options are then those it was made with), else a new
    one, not yet started. Port 0 is never shared: each asks for a free port of its own."""
    with _SHARED_LOCK:
        server = _SHARED.get((host, port)) if port else None
        return server if server is not None else LocalServer(host, port, **options)
