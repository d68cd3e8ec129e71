"""The browser output: a local page that OBS opens as a Browser Source, showing the character with its alpha.

Frames go to the page as lossless PNG over a WebSocket (browser_server.py) and are drawn into a canvas on a
transparent page. Encoding happens on a thread of its own, only while a page watches, only for a new frame.
"""

from __future__ import annotations

import io
import os
import secrets
import socket
import sys
import threading
import zlib
from importlib import resources
from pathlib import Path
from typing import TextIO

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.rgba_frame import require_rgba

DEFAULT_PORT = 41456  # beside the expression control channel's 41455
SOURCE_NAME = "vtube-plugin character"  # the Browser Source `obs setup --browser-source` creates
TOKEN_FILE = "browser-token.txt"
# zlib's fastest level with run-length matching: the long transparent runs of a character frame pack ~10:1,
# faster and smaller than the default strategy (bench --encode, docs/performance.md).
PNG_LEVEL, PNG_STRATEGY = 1, zlib.Z_RLE


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def check_free(host: str, port: int) -> None:
    """A UserError now if `host:port` is taken (another run, another program), not after the slow model load."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: a just-stopped run is fine
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(f"--output browser cannot listen on {host}:{port} ({exc.strerror or exc}); is another "
                            "`vtube-plugin run` using it? Pick another with --output browser:port=N") from None


def encode_png(rgba: np.ndarray) -> bytes:
    """Lossless PNG of a uint8 (H, W, 4) straight-alpha frame, which is what browsers expect in an <img> or canvas."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG", compress_level=PNG_LEVEL, compress_type=PNG_STRATEGY)
    return out.getvalue()


def lan_token(folder: Path | None = None) -> str:
    """The token for a page opened to the LAN: made once, kept in the config folder (only the user may read it),
    so OBS's saved URL keeps working across runs. Delete the file for a new one."""
    from vtube_plugin.config_dir import config_dir

    path = (folder or config_dir()) / TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
        if len(token) >= 16:
            return token
    except OSError:
        pass
    token = secrets.token_urlsafe(18)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token + "\n")
    except OSError as exc:
        print(f"browser output: cannot keep the token in {path} ({exc.strerror or exc}); "
              "this run's URL works until it stops", file=sys.stderr)
    return token


def _lan_address() -> str:
    """This PC's address on the LAN, for the URL another PC opens (no packet is sent: a UDP connect only routes)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never answered, just picks the outgoing interface
            return probe.getsockname()[0]
    except OSError:
        return socket.gethostname()


def obs_steps(url: str, size: tuple[int, int]) -> str:
    """What to click in OBS, printed when the output starts (docs/obs.md shows the same with pictures)."""
    return (f"  In OBS: Sources > + > Browser > Create new, name it '{SOURCE_NAME}' > OK, then set\n"
            f"    URL: {url}\n"
            f"    Width: {size[0]}   Height: {size[1]}\n"
            "    leave 'Shutdown source when not visible' and 'Refresh browser when scene becomes active'\n"
            "    unticked > OK.\n"
            "  Or let `vtube-plugin obs setup --browser-source` add it to your current scene.")


class BrowserSink:
    """`with BrowserSink((512, 512)) as page: page.send(rgba)`; `page.url` is what OBS opens.

    `size` is the Browser Source's width and height (the page letterboxes the frame into it). Opened to the
    LAN (`host="0.0.0.0"`), every request needs the token in the URL.
    """

    def __init__(self, size: tuple[int, int], *, port: int = DEFAULT_PORT, host: str = "127.0.0.1",
                 token: str | None = None, stream: TextIO | None = None):
        self.size = size
        self.port, self.host = port, host
        self.token = None if is_loopback(host) else (token or lan_token())
        self.name = "browser source"
        self._stream = stream
        self._server = None
        self._wake = threading.Condition()
        self._frame: np.ndarray | None = None
        self._frame_number = 0
        self._viewers = 0
        self._closing = False
        self._encoder: threading.Thread | None = None
        self.frames_encoded = 0

    @property
    def url(self) -> str:
        """The URL for a page on this PC (with the token when opened to the LAN)."""
        where = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") or is_loopback(self.host) else self.host
        if ":" in where:
            where = f"[{where}]"
        return f"http://{where}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def __enter__(self) -> BrowserSink:
        from vtube_plugin.sinks.browser_server import FrameServer

        page = resources.files("vtube_plugin.sinks").joinpath("browser_page", "index.html").read_bytes()
        self._closing = False
        self._server = FrameServer(self.host, self.port, page=page, token=self.token,
                                   on_viewers=self._viewers_changed).start()
        self.port = self._server.port
        self._encoder = threading.Thread(target=self._encode_newest, name="browser-encoder", daemon=True)
        self._encoder.start()
        self._say()
        return self

    def _say(self) -> None:
        out = self._stream or sys.stderr
        if self.token is None:
            lines = [f"browser output: {self.url}  (this PC only)", obs_steps(self.url, self.size)]
        else:
            address = _lan_address() if self.host in ("0.0.0.0", "::") else self.host
            remote = f"http://{address}:{self.port}/?token={self.token}"
            lines = [f"browser output open to the LAN on {self.host}:{self.port}; only URLs with the token get in:",
                     f"  on another PC: {remote}", f"  on this PC:    {self.url}", obs_steps(remote, self.size)]
        print("\n".join(lines), file=out, flush=True)

    def send(self, rgba: np.ndarray) -> None:
        """Make `rgba` (uint8 (H, W, 4), straight alpha) the newest frame; cheap at any rate (a compare and a copy,
        no encode: that happens on the encoder thread, for the newest frame only, while a page watches)."""
        if self._server is None:
            raise RuntimeError("BrowserSink.send outside its `with` block")
        require_rgba(rgba)
        with self._wake:
            if self._frame is not None and np.array_equal(self._frame, rgba):
                return  # a character standing still costs no encoding and no bandwidth
            frame = rgba.copy()  # the caller may reuse its buffer for the next render
            self._frame, self._frame_number = frame, self._frame_number + 1
            if self._viewers:
                self._wake.notify()

    def _viewers_changed(self, count: int) -> None:
        with self._wake:
            self._viewers = count
            self._wake.notify()  # a page that just connected gets the current frame encoded

    def _encode_newest(self) -> None:
        self._encoded_number = 0
        while True:
            with self._wake:
                self._wake.wait_for(self._encode_due)
                if self._closing:
                    return
                frame, number = self._frame, self._frame_number
            self._server.publish(encode_png(frame))  # frames that came meanwhile are skipped: newest wins
            self.frames_encoded += 1
            self._encoded_number = number

    def _encode_due(self) -> bool:
        return self._closing or (self._viewers > 0 and self._frame_number != self._encoded_number)

    def __exit__(self, *exc) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._encoder is not None:
            self._encoder.join(timeout=10)
            self._encoder = None
        if self._server is not None:
            self._server.close()
            self._server = None
