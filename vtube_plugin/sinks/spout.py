"""The Spout2 output (Windows): the character as a shared GPU texture, with alpha, for OBS's Spout2 plugin.

Needs `pip install "vtube-plugin[spout]"` (SpoutGL). Frames go top-down and in straight alpha: in OBS's
"Spout2 Capture" source set Composite mode to "Default" (docs/obs.md).
"""

from __future__ import annotations

import platform

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.rgba_frame import require_rgba

DEFAULT_NAME = "vtube-plugin"
GL_RGBA = 0x1908  # OpenGL's enum; SpoutGL.enums.GL_RGBA is the same number


def _spout_library():
    if platform.system() != "Windows":
        raise UserError(f"--output spout is for Windows (Spout2); this is {platform.system()}. Use --output browser "
                        "(OBS's Browser Source, every OS) or, on macOS, --output syphon.")
    try:
        import SpoutGL
    except ImportError:
        raise UserError('--output spout needs SpoutGL: pip install "vtube-plugin[spout]"') from None
    return SpoutGL


class SpoutSink:
    """`with SpoutSink("vtube-plugin") as spout: spout.send(rgba)`; `library` stands in for SpoutGL in tests."""

    def __init__(self, name: str = DEFAULT_NAME, *, library=None):
        self.sender_name = name
        self.name = f"Spout2 sender '{name}'"
        self._library = library
        self._sender = None

    def __enter__(self) -> SpoutSink:
        library = self._library or _spout_library()
        self._sender = library.SpoutSender()
        self._sender.setSenderName(self.sender_name)
        return self

    def send(self, rgba: np.ndarray) -> None:
        if self._sender is None:
            raise RuntimeError("SpoutSink.send outside its `with` block")
        require_rgba(rgba)
        height, width = rgba.shape[:2]
        # Spout's SendImage takes rows top-down (its shared texture is DirectX's, origin top-left): invert=False.
        # Straight alpha as rendered: OBS's Spout2 source blends it as such in its "Default" composite mode.
        self._sender.sendImage(np.ascontiguousarray(rgba), width, height, GL_RGBA, False, 0)
        self._sender.setFrameSync(self.sender_name)  # receivers waiting for a frame wake now

    def __exit__(self, *exc) -> None:
        if self._sender is not None:
            sender, self._sender = self._sender, None
            sender.releaseSender()
