"""The poser's local web server: the page, its static files and a small JSON API over one PreviewWorker.

Standard library only (ThreadingHTTPServer), bound to 127.0.0.1: the page is for the person at this computer.
Every web page that person opens can reach 127.0.0.1 too, so: only our own Host names are answered (DNS
rebinding), a POST needs the page's token, a JSON body and no foreign Origin (a cross-site form or fetch
cannot send them without a CORS preflight, which is refused), and requests are bounded in time and number.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.layer import load_presets
from vtube_plugin.ports import BoundedConnections
from vtube_plugin.pose import GROUPS, PARAMETERS, THA2_SIZE, THA3_SIZE, Pose
from vtube_plugin.poser.characters import CharacterShelf
from vtube_plugin.poser.presets import describe, with_expression
from vtube_plugin.poser.preview import Frame, PreviewWorker

STATIC_FILES = {"index.html": "text/html", "poser.js": "text/javascript", "poser.css": "text/css"}
MAX_BODY = 32 * 1024 * 1024  # an upload is one 512x512 image; anything near this is not a character
LONG_POLL_SECONDS = 20.0  # a waiting page asks again after this; short enough to survive idle proxies
REQUEST_SECONDS = 15.0  # a client that sends nothing (or half a request) for this long is hung up on
MAX_CONNECTIONS = 32  # at once; a browser opens at most 6 per host, the rest would be someone else
TOKEN_HEADER = "X-Poser-Token"
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
TOKEN_PLACEHOLDER = b"__POSER_TOKEN__"  # in index.html, replaced by this server's token


class PoserApp:
    """What the page can ask for, independent of HTTP: the handler below only translates."""

    def __init__(self, worker: PreviewWorker, shelf: CharacterShelf, *, model: str, save_dir: Path,
                 default_character: str, expressions: Path | None = None):
        self.worker = worker
        self.expressions = expressions  # None: the user's presets file, else the shipped one
        self.shelf = shelf
        self.model = model
        self.save_dir = save_dir
        self.default_character = default_character
        self.pose_size = THA2_SIZE if model == "tha2" else THA3_SIZE
        self._saved: dict[str, Path] = {}  # only files this session saved can be downloaded again
        self._save_lock = threading.Lock()
        self._upload_lock = threading.Lock()  # one upload decoded at a time: each can cost a big picture's memory

    def setup(self) -> dict:
        return {
            "parameters": [
                {"name": p.name, "group": p.group, "minimum": p.minimum, "maximum": p.maximum,
                 "enabled": p.index < self.pose_size}
                for p in PARAMETERS
            ],
            "groups": list(GROUPS),
            "characters": self.shelf.names(),
            "character": self.default_character,
            "model": self.model,
            "save_dir": str(self.save_dir),
        }

    def submit(self, body: dict) -> dict:
        character = str(body.get("character") or self.default_character)
        if character not in self.shelf:
            raise UserError(f"no character named {character!r}; pick one from the list or upload a PNG with alpha")
        values = body.get("pose")
        if not isinstance(values, dict):
            raise UserError("the request must hold a pose: {name: value}")
        return {"ticket": self.worker.submit(Pose.from_dict(values), character)}

    def presets(self) -> dict:
        # Read on every page load, so an edited presets file shows after a browser refresh.
        return {"presets": describe(load_presets(self.expressions))}

    def apply_expression(self, body: dict) -> dict:
        values = body.get("pose")
        if not isinstance(values, dict):
            raise UserError("the request must hold a pose: {name: value}")
        pose = with_expression(Pose.from_dict(values), load_presets(self.expressions), str(body.get("name")))
        return {"pose": pose.to_dict()}

    def upload(self, body: dict) -> dict:
        """An uploaded character: {"name": file name, "data": the file, base64}."""
        name, data = body.get("name"), body.get("data")
        if not isinstance(name, str) or not isinstance(data, str):
            raise UserError('an upload is {"name": "file.png", "data": "<base64>"}')
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise UserError(f"{name}: the upload is not base64") from None
        if not self._upload_lock.acquire(blocking=False):
            raise UserError("another upload is still being checked; try again in a moment")
        try:
            added = self.shelf.add_upload(name, raw)
        finally:
            self._upload_lock.release()
        return {"name": added, "characters": self.shelf.names()}

    def load_pose(self, text: str) -> dict:
        """A pose file as the page's "load pose" sends it: the JSON "save PNG" writes, or a plain {name: value}."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UserError(f"the pose file is not valid JSON: {exc}") from None
        character = data.get("character") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(data.get("pose"), dict):
            data = data["pose"]
        if not isinstance(data, dict):
            raise UserError('a pose file holds {"pose": {name: value, ...}} or {name: value, ...}')
        pose = Pose.from_dict(data)
        answer: dict = {"pose": pose.to_dict()}
        if isinstance(character, str) and character in self.shelf:
            answer["character"] = character
        elif character:
            answer["note"] = (f"the pose was saved with {character}, which is not in the list; "
                              "keeping the current character")
        return answer

    def save(self, ticket: int) -> dict:
        frame = self.worker.frame(ticket)
        if frame is None or frame.png is None:
            raise UserError("that frame is no longer kept; move a slider and save again")
        stem = f"{Path(frame.character).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        with self._save_lock:
            written: list[Path] = []
            try:
                self.save_dir.mkdir(parents=True, exist_ok=True)
                png, meta = _free_pair(self.save_dir, stem)
                written.append(png)
                png.write_bytes(frame.png)
                written.append(meta)
                meta.write_text(json.dumps(self.pose_record(frame), indent=2) + "\n", encoding="utf-8")
            except OSError as exc:
                for path in written:  # a picture without its pose (or half a picture) is no save
                    path.unlink(missing_ok=True)
                raise UserError(f"cannot save to {self.save_dir} ({exc.strerror or exc}); "
                                "start the poser with another --save-dir") from None
            self._saved[png.name] = png
            self._saved[meta.name] = meta
        return {"png": str(png), "json": str(meta), "png_url": f"/saved/{png.name}", "json_url": f"/saved/{meta.name}"}

    def pose_record(self, frame: Frame) -> dict:
        return {"pose": frame.pose.to_dict(self.pose_size), "character": frame.character, "model": self.model}

    def saved_file(self, name: str) -> Path | None:
        with self._save_lock:
            return self._saved.get(name)


def _free_pair(folder: Path, stem: str) -> tuple[Path, Path]:
    """A .png/.json pair of names not yet taken (two saves in one second must not overwrite each other)."""
    candidate, n = stem, 2
    while (folder / f"{candidate}.png").exists() or (folder / f"{candidate}.json").exists():
        candidate, n = f"{stem}-{n}", n + 1
    return folder / f"{candidate}.png", folder / f"{candidate}.json"


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # a slider drag is dozens of requests a second; the console is for the URL and errors

    # --- who may ask ----------------------------------------------------------------------------
    def setup(self) -> None:
        self.timeout = self.server.request_seconds  # on the socket: a half-sent request cannot hold a thread forever
        super().setup()

    def _local_origins(self) -> set[str]:
        port = self.server.server_address[1]
        return {f"{name}:{port}" for name in LOCAL_NAMES}

    def _host_is_ours(self) -> bool:
        """DNS rebinding: a page at evil.example resolving to 127.0.0.1 sends Host: evil.example."""
        if (self.headers.get("Host") or "").strip().lower() in self._local_origins():
            return True
        self._error(HTTPStatus.FORBIDDEN, "this page answers only as http://127.0.0.1:PORT/ (or localhost)")
        self.close_connection = True
        return False

    def _may_change_things(self) -> bool:
        """A POST from our page: our Origin (when sent), a JSON body and the page's token."""
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower().removeprefix("http://") not in self._local_origins():
            self._error(HTTPStatus.FORBIDDEN, f"requests from {origin} are not accepted; use the poser page itself")
            return False
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            self._error(HTTPStatus.FORBIDDEN, "cross-site requests are not accepted; use the poser page itself")
            return False
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "the poser's API takes Content-Type: application/json")
            return False
        if not hmac.compare_digest(self.headers.get(TOKEN_HEADER, "").encode(), self.server.token.encode()):
            self._error(HTTPStatus.FORBIDDEN, f"missing or wrong {TOKEN_HEADER}: reload the poser page")
            return False
        return True

    def do_OPTIONS(self) -> None:
        # A CORS preflight: answered without any Access-Control-Allow-* header, so the browser never sends the
        # cross-site request that asked for it.
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "cross-origin requests are not accepted")

    # --- routing ------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if not self._host_is_ours():
            return
        url = urlparse(self.path)
        app = self.server.app
        if url.path in ("/", "/index.html"):
            return self._static("index.html")
        if url.path.startswith("/static/"):
            return self._static(url.path[len("/static/"):])
        if url.path == "/api/setup":
            return self._json(app.setup())
        if url.path == "/api/expressions":
            return self._guarded(app.presets)
        if url.path == "/api/frame":
            after = _int(parse_qs(url.query).get("after", ["0"])[0])
            frame = app.worker.wait_newer(after, LONG_POLL_SECONDS)
            if frame is None:
                return self._json({"ticket": None})
            return self._json({"ticket": frame.ticket, "error": frame.error,
                               "url": None if frame.png is None else f"/frame/{frame.ticket}.png"})
        if match := re.fullmatch(r"/frame/(\d+)\.png", url.path):
            frame = app.worker.frame(int(match.group(1)))
            if frame is None or frame.png is None:
                return self._error(HTTPStatus.NOT_FOUND, "that frame is no longer kept")
            return self._bytes(frame.png, "image/png")
        if url.path.startswith("/saved/"):
            path = app.saved_file(unquote(url.path[len("/saved/"):]))
            if path is None or not path.is_file():
                return self._error(HTTPStatus.NOT_FOUND, "no such saved file")
            kind = "image/png" if path.suffix == ".png" else "application/json"
            return self._bytes(path.read_bytes(), kind, {"Content-Disposition": f'attachment; filename="{path.name}"'})
        self._error(HTTPStatus.NOT_FOUND, f"nothing at {url.path}")

    def do_POST(self) -> None:
        if not self._host_is_ours():
            return
        url = urlparse(self.path)
        app = self.server.app
        body = self._body()  # read even when refused, so the connection stays in step
        if body is None:
            return
        if not self._may_change_things():
            return
        if url.path == "/api/pose":
            return self._guarded(lambda: app.submit(_json_object(body)))
        if url.path == "/api/expression":
            return self._guarded(lambda: app.apply_expression(_json_object(body)))
        if url.path == "/api/save":
            return self._guarded(lambda: app.save(_int(_json_object(body).get("ticket"))))
        if url.path == "/api/load-pose":
            return self._guarded(lambda: app.load_pose(str(_json_object(body).get("text", ""))))
        if url.path == "/api/character":
            return self._guarded(lambda: app.upload(_json_object(body)))
        self._error(HTTPStatus.NOT_FOUND, f"nothing at {url.path}")

    # --- answers ------------------------------------------------------------------------------
    def _guarded(self, action) -> None:
        """Run an API action; a UserError becomes a 400 whose message the page shows."""
        try:
            answer = action()
        except UserError as err:
            return self._error(HTTPStatus.BAD_REQUEST, str(err))
        except Exception as err:  # our bug: keep the traceback on the console, tell the page something went wrong
            import traceback

            traceback.print_exc()
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"the poser server failed: {err}")
        self._json(answer)

    def _body(self) -> bytes | None:
        length = _int(self.headers.get("Content-Length", "0"))
        if length > MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"that is {length} bytes; a character image is far smaller")
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _static(self, name: str) -> None:
        kind = STATIC_FILES.get(name)
        if kind is None:
            return self._error(HTTPStatus.NOT_FOUND, f"no static file {name}")
        data = resources.files("vtube_plugin.poser").joinpath("static", name).read_bytes()
        if name == "index.html":  # the token travels in the page: only a page from our own origin can read it
            data = data.replace(TOKEN_PLACEHOLDER, self.server.token.encode())
        self._bytes(data, f"{kind}; charset=utf-8")

    def _json(self, value: object, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._bytes(json.dumps(value).encode("utf-8"), "application/json", status=status)

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json({"error": message}, status)

    def _bytes(self, data: bytes, kind: str, headers: dict[str, str] | None = None,
               status: HTTPStatus = HTTPStatus.OK) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the page closed or reloaded while waiting for a frame: nothing to tell it


def _int(text: object) -> int:
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def _json_object(body: bytes) -> dict:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise UserError("the request body is not JSON") from None
    if not isinstance(value, dict):
        raise UserError("the request body must be a JSON object")
    return value


class _HTTPServer(BoundedConnections, ThreadingHTTPServer):
    max_connections = MAX_CONNECTIONS
    daemon_threads = True
    request_queue_size = 64  # the listen backlog: a page opening many connections at once waits, not retries

    def __init__(self, address: tuple[str, int], app: PoserApp, request_seconds: float):
        self.app = app
        self.token = secrets.token_urlsafe(24)
        self.request_seconds = request_seconds
        super().__init__(address, _Handler)


class PoserServer:
    """The page at `url`, served from a background thread while the context is open."""

    def __init__(self, app: PoserApp, port: int = 0, host: str = "127.0.0.1", request_seconds: float = REQUEST_SECONDS):
        self.app = app
        try:
            self._http = _HTTPServer((host, port), app, request_seconds)
        except OSError as exc:
            app.worker.close()  # close() ends the worker with the server; a server that never started must too
            raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                            "pick another --port or leave it out") from None
        self._thread: threading.Thread | None = None

    @property
    def token(self) -> str:
        """What the page sends in X-Poser-Token with every POST (it is written into the page it serves)."""
        return self._http.token

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> PoserServer:
        self._thread = threading.Thread(target=self._http.serve_forever, name="poser-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join(timeout=10)
        self._http.server_close()
        self.app.worker.close()

    def __enter__(self) -> PoserServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
