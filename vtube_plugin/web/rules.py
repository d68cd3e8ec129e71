"""Who may talk to a page of ours, written once for every page (poser, studio, the Browser Source feed).

A page on 127.0.0.1 is reachable from every web site the user opens, so: only our own Host names are answered
(DNS rebinding); opened to the LAN, every request carries the LAN token instead. A state change needs the page's
token in X-Page-Token, a JSON body and no foreign Origin or cross-site fetch (a cross-site form or fetch cannot send
them without a CORS preflight, which is refused); a WebSocket opens only for our own page (or a non-browser tool,
which sends no Origin). Bodies are bounded in size and in the time they take to arrive.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import traceback
from typing import Any, Protocol

from aiohttp import web

from vtube_plugin.errors import UserError

TOKEN_HEADER = "X-Page-Token"
ROUTE: web.RequestKey = web.RequestKey("route", object)  # the Route the request asked for
BODY: web.RequestKey = web.RequestKey("json", dict)  # a state change's JSON object
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


class Route(Protocol):
    """What the rules read of a route (web/server.py's Route)."""

    changes_state: bool  # needs the token, JSON and our Origin
    websocket: bool  # opens only for our own page's Origin (or none)
    max_body: int
    too_big: str | None  # what a body over max_body is told


class LocalServer(Protocol):
    """What the rules read of the server they guard (web/server.py's LocalServer; this module cannot import it,
    which imports these rules)."""

    name: str
    port: int
    token: str
    lan_token: str | None
    request_seconds: float
    connections: Any  # web/connections.py's ConnectionGuard

    def route_for(self, method: str, path: str) -> Route | None: ...


def error(status: int, message: str) -> web.Response:
    """Every refusal and every failed request: {"error": "a sentence"}, which the pages show as it is."""
    return web.json_response({"error": message}, status=status)


def make_middleware(server: LocalServer):
    @web.middleware
    async def rules(request: web.Request, handler) -> web.StreamResponse:
        server.connections.request_started(request.transport)
        try:
            response = await _answer(server, request, handler)
        finally:
            server.connections.request_ended(request.transport)
        if not response.prepared:
            response.headers["Cache-Control"] = "no-store"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return rules


async def _answer(server: LocalServer, request: web.Request, handler) -> web.StreamResponse:
    refused = _who(server, request)
    if refused is not None:
        return refused
    if request.method == "OPTIONS":
        # A CORS preflight: answered without any Access-Control-Allow-* header, so the browser never sends the
        # cross-site request that asked for it.
        return error(405, "cross-origin requests are not accepted")
    route = server.route_for(request.method, request.path)
    if route is None:
        return error(404, f"nothing at {request.path}")
    request[ROUTE] = route
    if route.websocket:
        origins = request.headers.getall("Origin", [])
        if origins and not all(o.lower() in _our_origins(server, request) for o in origins):
            return error(403, "only the page served here may open this stream")
    if route.changes_state:
        refused = _may_change(server, request)
        if refused is not None:
            return refused
        body = await _body(server, request, route)
        if isinstance(body, web.Response):
            return body
        request[BODY] = body
    try:
        return await handler(request)
    except UserError as err:
        return error(400, str(err))
    except web.HTTPException:
        raise
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as err:  # our bug: the traceback on the console, a sentence for the page
        traceback.print_exc()
        return error(500, f"the {server.name} server failed: {err}")


def _who(server: LocalServer, request: web.Request) -> web.Response | None:
    hosts = request.headers.getall("Host", [])
    if len(hosts) != 1:
        return error(400, "one Host header, please")
    if server.lan_token is not None:
        given = request.query.get("token", "")
        if not hmac.compare_digest(given.encode(), server.lan_token.encode()):
            return error(403, "wrong or missing token: use the URL vtube-plugin printed, with its ?token=...")
        return None
    if hosts[0].strip().lower() not in _local_hosts(server):
        return error(403, f"this page answers only as http://127.0.0.1:{server.port}/ (or localhost)")
    return None


def _local_hosts(server: LocalServer) -> set[str]:
    return {f"{name}:{server.port}" for name in LOCAL_NAMES}


def _our_origins(server: LocalServer, request: web.Request) -> set[str]:
    if server.lan_token is not None:  # any of this PC's names: the one the page was opened with is its origin
        return {f"http://{request.headers.get('Host', '').strip().lower()}"}
    return {f"http://{host}" for host in _local_hosts(server)}


def _may_change(server: LocalServer, request: web.Request) -> web.Response | None:
    """A state change from our page: our Origin (when sent), no cross-site fetch, JSON, the page's token."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.lower() not in _our_origins(server, request):
        return error(403, f"requests from {origin} are not accepted; use the {server.name} page itself")
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return error(403, f"cross-site requests are not accepted; use the {server.name} page itself")
    if request.content_type != "application/json":
        return error(415, f"the {server.name} page's requests take Content-Type: application/json")
    if not hmac.compare_digest(request.headers.get(TOKEN_HEADER, "").encode(), server.token.encode()):
        return error(403, f"missing or wrong {TOKEN_HEADER}: reload the {server.name} page")
    return None


async def _body(server: LocalServer, request: web.Request, route: Route) -> dict | web.Response:
    """The JSON object sent, read within the server's time and the route's size; else the refusal."""
    too_big = error(413, route.too_big or f"that request is larger than the {route.max_body} bytes this page takes")
    if request.content_length is not None and request.content_length > route.max_body:
        return too_big
    try:
        data = await asyncio.wait_for(_read_at_most(request, route.max_body), server.request_seconds)
    except asyncio.TimeoutError:
        return error(408, "the request took too long to arrive")
    if data is None:
        return too_big
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return error(400, "the request body is not JSON")
    if not isinstance(value, dict):
        return error(400, "the request body must be a JSON object")
    return value


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes (a body without Content-Length is bounded too)."""
    data = bytearray()
    async for chunk in request.content.iter_any():
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)
