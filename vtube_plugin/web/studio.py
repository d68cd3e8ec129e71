"""The studio's routes on the local web server: one page that drives a running live session through its
SessionCommands (every click is one JSON command with the page's token) and shows its events over a WebSocket.

    /studio                 the page (its token written in); /studio/static/...  its script and style
    /studio/api/setup       the choices: sources and their options, profiles, microphones, characters, the OBS URL
    /studio/api/state       the session's state()
    /studio/api/command     POST {"type": ..., "data": {...}} -> SessionCommands.run
    /studio/api/character   POST {"name": "me.png", "data": base64}: kept in the config folder, then set_character
    /studio/api/obs         POST {}: the Browser Source added to OBS, as `obs setup --browser-source` does
    /studio/events          WebSocket: {"type": "state", "data": state()} first, then every session event
The preview is the Browser Source feed's own /stream on the same server.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from pathlib import Path

from aiohttp import web

from vtube_plugin.errors import UserError
from vtube_plugin.web.rules import BODY
from vtube_plugin.web.server import LocalServer

STATIC_FILES = {"studio.js": "text/javascript", "new_preset.js": "text/javascript", "studio.css": "text/css"}
MAX_UPLOAD = 16 * 1024 * 1024  # a character picture is far below this (512x512 PNG: well under 1 MB)
MAX_UPLOAD_BODY = MAX_UPLOAD * 4 // 3 + 4096  # as base64 in JSON
EVENTS_KEPT = 64  # per page: a page that stops reading loses the oldest events, never blocks the session
CHARACTERS_FOLDER = "characters"  # in the config folder: what the user uploaded through the page


class Studio:
    """What the page can ask for, independent of HTTP (the routes below only translate)."""

    def __init__(self, commands, *, browser_source_url: str, size: tuple[int, int] = (512, 512),
                 uploads: Path | None = None, samples: Path | None = None):
        from vtube_plugin.config_dir import config_dir

        self.commands = commands
        self.browser_source_url = browser_source_url
        self.size = size
        self.uploads = uploads or config_dir() / CHARACTERS_FOLDER
        self.samples = samples

    def session(self):
        """The session's SessionCommands; until it streams (the model is loading) a UserError the page shows."""
        if self.commands is None:
            raise UserError("the live session is starting (loading the model takes a moment); "
                            "this page connects by itself when it is ready")
        return self.commands

    def setup(self) -> dict:
        return {"sources": _sources(), "profiles": _profiles(), "microphones": _microphones(),
                "characters": self.characters(), "browser_source_url": self.browser_source_url,
                "max_upload": MAX_UPLOAD, "parameters": _parameters()}

    def characters(self) -> list[dict]:
        """The pictures the picker offers: the samples from `models fetch`, then the user's uploads."""
        folders = [f for f in (self.samples, self.uploads) if f is not None and f.is_dir()]
        return [{"name": p.name, "path": str(p)} for folder in folders
                for p in sorted(folder.iterdir()) if p.suffix.lower() in (".png", ".webp")]

    def command(self, body: dict) -> dict:
        kind = body.get("type")
        data = body.get("data")
        if not isinstance(kind, str):
            raise UserError('a command is {"type": "set_idle", "data": {...}}')
        return {"result": self.session().run(kind, data)}

    def upload(self, body: dict) -> dict:
        """A picture from the page, made the character. One that fits the network's frame is kept as it is; with
        "fit" (the page's default) any other (any size, no transparency on a flat background, JPEG, the head
        off the box) is fitted as `character fit` does and the fitted picture kept. Refused, nothing is kept and
        the running character stays. The answer's "fitted" says whether it was fitted, "said" what was done."""
        name, data, fit = body.get("name"), body.get("data"), body.get("fit", True)
        commands = self.session()
        if not isinstance(name, str) or not isinstance(data, str) or not isinstance(fit, bool):
            raise UserError('an upload is {"name": "file.png", "data": "<base64>", "fit": true}')
        stem = Path(name).name
        kinds = (".png", ".webp", ".jpg", ".jpeg") if fit else (".png", ".webp")
        if not stem or any(ord(c) < 32 for c in stem) or Path(stem).suffix.lower() not in kinds:
            raise UserError(f"{stem[:80]!r}: a character is a .png or .webp picture with a transparent background"
                            + (" (or a .jpg to fit)" if fit else ""))
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise UserError(f"{stem}: the upload is not base64") from None
        if len(raw) > MAX_UPLOAD:
            raise UserError(f"{stem} is {len(raw) / 2**20:.1f} MB; a character picture must be under "
                            f"{MAX_UPLOAD // 2**20} MB")
        self.uploads.mkdir(parents=True, exist_ok=True)
        checking = self.uploads / f".checking-{stem}"  # a picture the contract refuses never replaces a kept one
        checking.write_bytes(raw)
        try:
            path, fitted, said = self._keep(checking, stem, fit)
        finally:
            checking.unlink(missing_ok=True)
        return {"result": commands.run("set_character", {"path": str(path)}), "characters": self.characters(),
                "fitted": fitted, "said": said}

    def _keep(self, checking: Path, stem: str, fit: bool) -> tuple[Path, bool, list[str]]:
        """Where the picture is kept, whether it was fitted, and what to tell the user."""
        from PIL import Image

        from vtube_plugin.character import load_character
        from vtube_plugin.character.check import framing_findings
        from vtube_plugin.character.fit import fit_character

        def named(err: Exception) -> str:  # the user's file name, not our temporary one
            return str(err).replace(str(checking), stem).replace(checking.name, stem)

        try:
            problems = [f.message for f in framing_findings(load_character(checking, self.size[0]))]
        except UserError as err:
            if not fit:
                raise UserError(named(err)) from None
            problems = [named(err)]
        if not problems or not fit:  # fits as it is, or the user wants it as it is: kept, with what to know
            path = self.uploads / stem
            checking.replace(path)
            return path, False, [f"note: {problem}" for problem in problems]
        try:
            fitted = fit_character(checking)
        except UserError as err:
            raise UserError(f"{stem}: {'; '.join(problems)}; and it cannot be fitted: {named(err)}") from None
        path = self.uploads / f"{Path(stem).stem}.png"
        Image.fromarray(fitted.image, "RGBA").save(path)
        return path, True, [f"{stem} was fitted to the network's frame ({'; '.join(problems)})", *fitted.summary()]

    def add_to_obs(self) -> dict:
        from vtube_plugin.obs import open_requests, resolve_settings
        from vtube_plugin.obs.browser_source import setup_browser_source
        from vtube_plugin.obs.connection import describe_failure

        settings = resolve_settings()
        requests = open_requests(settings)
        try:
            lines = setup_browser_source(requests, self.browser_source_url, self.size)
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - OBS closing or refusing is news for the user, not a traceback
            raise describe_failure(exc, settings) from None
        finally:
            requests.disconnect()
        return {"said": lines}


def _parameters() -> list[dict]:
    """The poser's sliders, for a new preset: every pose parameter with its group and range."""
    from vtube_plugin.pose import PARAMETERS

    return [{"name": p.name, "group": p.group, "minimum": p.minimum, "maximum": p.maximum} for p in PARAMETERS]


def _sources() -> dict:
    """Each source and its options ({name: "port"|"number"|"text"|"on/off"}), for the picker's fields."""
    from vtube_plugin.sources import SOURCES, source_class

    kinds = {bool: "on/off", int: "number", float: "number", str: "text"}
    found = {}
    for name in SOURCES:
        try:
            options = source_class(name).OPTIONS
        except Exception:  # noqa: BLE001 - a source whose module cannot load here is still listed, without options
            options = {}
        found[name] = {key: kinds.get(kind, "number") for key, kind in options.items()}
    return found


def _profiles() -> list[str]:
    from vtube_plugin.mapping.profile import bundled_profiles

    return ["auto", *bundled_profiles()]


def _microphones() -> list[str]:
    try:
        from vtube_plugin.audio.capture import input_devices

        return [name for _, name, _ in input_devices()]
    except Exception:  # noqa: BLE001 - no PortAudio or no devices: the picker offers the default only
        return []


def add_studio(server: LocalServer, studio: Studio) -> None:
    """The studio's routes on `server` (which may already carry the Browser Source feed at / and /stream)."""
    def post(action):
        async def answer(request: web.Request) -> web.Response:
            return web.json_response(await server.blocking(action, request[BODY]))
        return answer

    async def setup(request: web.Request) -> web.Response:
        return web.json_response(await server.blocking(studio.setup))

    async def state(request: web.Request) -> web.Response:
        return web.json_response(await server.blocking(lambda: studio.session().state()))

    async def events(request: web.Request) -> web.StreamResponse:
        queue: asyncio.Queue = asyncio.Queue(EVENTS_KEPT)

        def keep(event: dict) -> None:  # on the server's loop
            if queue.full():
                queue.get_nowait()  # the oldest goes: the page catches up from the newest
            queue.put_nowait(event)

        commands = studio.session()  # before the WebSocket opens: a page that comes too early is told why
        async with server.websocket(request, max_msg_size=1024) as ws:
            unsubscribe = commands.subscribe(lambda event: server.call_soon(keep, event))
            reader = asyncio.ensure_future(_drain(ws))
            try:
                await ws.send_str(json.dumps({"type": "state", "data": await server.blocking(commands.state)}))
                while not reader.done():
                    taken = asyncio.ensure_future(queue.get())
                    await asyncio.wait({taken, reader}, return_when=asyncio.FIRST_COMPLETED)
                    if not taken.done():
                        taken.cancel()
                        break
                    await ws.send_str(json.dumps(taken.result(), default=str))
            except ConnectionError:
                pass
            finally:
                unsubscribe()
                reader.cancel()
        return ws

    server.page("vtube_plugin.web", "studio_page", STATIC_FILES, at="/studio", static="/studio/static/")
    server.add("GET", "/studio/", server.route_for("GET", "/studio").handler)
    server.add("GET", "/studio/api/setup", setup)
    server.add("GET", "/studio/api/state", state)
    server.add("POST", "/studio/api/command", post(studio.command), changes_state=True)
    server.add("POST", "/studio/api/character", post(studio.upload), changes_state=True, max_body=MAX_UPLOAD_BODY,
               too_big=f"that picture is over {MAX_UPLOAD // 2**20} MB; a character picture is far smaller "
                       "(512x512 pixels is enough)")
    server.add("POST", "/studio/api/obs", post(lambda body: studio.add_to_obs()), changes_state=True)
    server.add("GET", "/studio/events", events, websocket=True)


async def _drain(ws: web.WebSocketResponse) -> None:
    async for _ in ws:
        pass
