"""The poser's routes on the local web server (vtube_plugin/web): the page, its static files and a small JSON
API over one PreviewWorker.

Bound to 127.0.0.1: the page is for the person at this computer. Who may ask (our Host names only, the page's token,
JSON and our Origin for every POST, bounded bodies, connections and time) is decided once, in vtube_plugin/web.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from pathlib import Path

from aiohttp import web

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.layer import load_presets
from vtube_plugin.pose import GROUPS, PARAMETERS, THA2_SIZE, THA3_SIZE, Pose
from vtube_plugin.poser.characters import CharacterShelf
from vtube_plugin.poser.presets import describe, with_expression
from vtube_plugin.poser.preview import Frame, PreviewWorker
from vtube_plugin.web.rules import BODY, error
from vtube_plugin.web.server import REQUEST_SECONDS, LocalServer

STATIC_FILES = {"poser.js": "text/javascript", "poser.css": "text/css"}
MAX_BODY = 32 * 1024 * 1024  # an upload is one 512x512 image; anything near this is not a character
LONG_POLL_SECONDS = 20.0  # a waiting page asks again after this; short enough to survive idle proxies
MAX_CONNECTIONS = 32  # at once; a browser opens at most 6 per host, the rest would be someone else


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


def _int(text: object) -> int:
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def _routes(server: LocalServer, app: PoserApp) -> None:
    """What the page can ask for, as HTTP: each route only translates to PoserApp."""
    async def setup(request: web.Request) -> web.Response:
        return web.json_response(app.setup())

    async def presets(request: web.Request) -> web.Response:
        return web.json_response(await server.blocking(app.presets))

    async def newer_frame(request: web.Request) -> web.Response:
        frame = await server.blocking(app.worker.wait_newer, _int(request.query.get("after", "0")), LONG_POLL_SECONDS)
        if frame is None:
            return web.json_response({"ticket": None})
        return web.json_response({"ticket": frame.ticket, "error": frame.error,
                                  "url": None if frame.png is None else f"/frame/{frame.ticket}.png"})

    async def frame_png(request: web.Request) -> web.Response:
        match = re.fullmatch(r"/frame/(\d+)\.png", request.path)
        frame = app.worker.frame(int(match.group(1))) if match else None
        if frame is None or frame.png is None:
            return error(404, "that frame is no longer kept")
        return web.Response(body=frame.png, content_type="image/png")

    async def saved(request: web.Request) -> web.Response:
        path = app.saved_file(request.path[len("/saved/"):])
        if path is None or not path.is_file():
            return error(404, "no such saved file")
        kind = "image/png" if path.suffix == ".png" else "application/json"
        return web.Response(body=path.read_bytes(), content_type=kind,
                            headers={"Content-Disposition": f'attachment; filename="{path.name}"'})

    def post(action):
        async def answer(request: web.Request) -> web.Response:
            return web.json_response(await server.blocking(action, request[BODY]))
        return answer

    server.page("vtube_plugin.poser", "static", STATIC_FILES, at="/", static="/static/")
    server.add("GET", "/api/setup", setup)
    server.add("GET", "/api/expressions", presets)
    server.add("GET", "/api/frame", newer_frame)
    server.add("GET", "/frame/", frame_png, prefix=True)
    server.add("GET", "/saved/", saved, prefix=True)
    server.add("POST", "/api/pose", post(app.submit), changes_state=True)
    server.add("POST", "/api/expression", post(app.apply_expression), changes_state=True)
    server.add("POST", "/api/save", post(lambda body: app.save(_int(body.get("ticket")))), changes_state=True)
    server.add("POST", "/api/load-pose", post(lambda body: app.load_pose(str(body.get("text", "")))),
               changes_state=True, max_body=MAX_BODY)
    server.add("POST", "/api/character", post(app.upload), changes_state=True, max_body=MAX_BODY,
               too_big=f"that upload is over {MAX_BODY // 2**20} MB; a character image is far smaller")


class PoserServer:
    """The page at `url`, listening from construction and served from a background thread until `close()`."""

    def __init__(self, app: PoserApp, port: int = 0, host: str = "127.0.0.1", request_seconds: float = REQUEST_SECONDS):
        self.app = app
        self.web = LocalServer(host, port, request_seconds=request_seconds, max_connections=MAX_CONNECTIONS,
                               name="poser")
        _routes(self.web, app)
        try:
            self.web.start()
        except OSError as exc:
            app.worker.close()  # close() ends the worker with the server; a server that never started must too
            raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                            "pick another --port or leave it out") from None

    @property
    def token(self) -> str:
        """What the page sends in X-Page-Token with every POST (it is written into the page it serves)."""
        return self.web.token

    @property
    def port(self) -> int:
        return self.web.port

    @property
    def url(self) -> str:
        return self.web.url

    def start(self) -> PoserServer:
        return self

    def close(self) -> None:
        self.web.close()
        self.app.worker.close()

    def __enter__(self) -> PoserServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
