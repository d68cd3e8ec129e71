"""The Syphon output (macOS): the character as a shared Metal texture, with alpha, for OBS's built-in Syphon source.

Needs `pip install "vtube-plugin[syphon]"` (syphon-python). Frames go top-down, straight alpha: in OBS's
"Syphon Client" source tick "Allow Transparency" (docs/obs.md).
"""

from __future__ import annotations

import platform
from types import SimpleNamespace

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.rgba_frame import require_rgba

DEFAULT_NAME = "vtube-plugin"


def _syphon_library():
    if platform.system() != "Darwin":
        raise UserError(f"--output syphon is for macOS; this is {platform.system()}. Use --output browser "
                        "(OBS's Browser Source, every OS) or, on Windows, --output spout.")
    try:
        import syphon
        from syphon.utils.numpy import copy_image_to_mtl_texture
        from syphon.utils.raw import create_mtl_texture
    except ImportError:
        raise UserError('--output syphon needs syphon-python (macOS 11 or newer): '
                        'pip install "vtube-plugin[syphon]"') from None
    return SimpleNamespace(SyphonMetalServer=syphon.SyphonMetalServer, create_mtl_texture=create_mtl_texture,
                           copy_image_to_mtl_texture=copy_image_to_mtl_texture)


class SyphonSink:
    """`with SyphonSink("vtube-plugin") as out: out.send(rgba)`; `library` stands in for syphon-python in tests
    (SyphonMetalServer, create_mtl_texture, copy_image_to_mtl_texture)."""

    def __init__(self, name: str = DEFAULT_NAME, *, library=None):
        self.server_name = name
        self.name = f"Syphon server '{name}'"
        self._library = library
        self._lib = None
        self._server = None
        self._texture = None
        self._texture_size: tuple[int, int] | None = None

    def __enter__(self) -> SyphonSink:
        self._lib = self._library or _syphon_library()
        self._server = self._lib.SyphonMetalServer(self.server_name)
        return self

    def send(self, rgba: np.ndarray) -> None:
        if self._server is None:
            raise RuntimeError("SyphonSink.send outside its `with` block")
        require_rgba(rgba)
        height, width = rgba.shape[:2]
        if self._texture_size != (width, height):
            # RGBA8Unorm (create_mtl_texture's default) holds our bytes as they are: no channel swizzle.
            self._texture = self._lib.create_mtl_texture(self._server.device, width, height)
            self._texture_size = (width, height)
        self._lib.copy_image_to_mtl_texture(np.ascontiguousarray(rgba), self._texture)
        # A Metal texture's origin is its top-left, like our rows: not flipped. Straight alpha, as OBS's Syphon
        # source draws it with "Allow Transparency" ticked.
        self._server.publish_frame_texture(self._texture, is_flipped=False)

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            self._texture = None
            server.stop()
