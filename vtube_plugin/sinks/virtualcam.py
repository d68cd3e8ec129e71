"""The virtual camera sink: frames go to a webcam device OBS, Discord or Zoom can pick, through pyvirtualcam.

Linux: a v4l2loopback device; Windows and macOS: OBS's virtual camera (pyvirtualcam's backends).
"""

from __future__ import annotations

import platform

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.compose import Background, Compositor

PIXEL_FORMATS = ("RGB", "BGR")


def how_to_get_a_virtual_camera(system: str | None = None) -> str:
    """What to install or start on this OS so a virtual camera device exists."""
    system = system or platform.system()
    if system == "Linux":
        return (
            "Linux needs the v4l2loopback kernel module: install it (Debian/Ubuntu: "
            "`sudo apt install v4l2loopback-dkms`; Fedora: `sudo dnf install v4l2loopback`) and load it with\n"
            "    sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=\"VTube Plugin\"\n"
            "then run this again."
        )
    if system in ("Windows", "Darwin"):
        where = ("macOS 13 or newer: OBS 30+; approve its system extension when asked" if system == "Darwin"
                 else "OBS 26 or newer")
        return (
            "Windows and macOS use OBS Studio's virtual camera: install OBS Studio (" + where + "), "
            "start it once and click 'Start Virtual Camera', then stop it and close OBS; the device stays installed."
        )
    return f"pyvirtualcam has no virtual camera backend for {system}; use --output window or --output file:out.mp4."


class VirtualCameraSink:
    """`with VirtualCameraSink(1280, 720, 30) as cam: cam.send(rgba)`: composited over the background, sent as
    RGB or BGR.

    The live loop says when a frame repeats the last one (`timed`): it is sent again without compositing anew.
    """

    timed = True  # send() takes at= and repeat= (live/loop.py)

    def __init__(self, width: int, height: int, fps: float, *, background: Background = Background(),
                 pixel_format: str = "RGB", device: str | None = None, backend: str | None = None):
        if pixel_format.upper() not in PIXEL_FORMATS:
            raise UserError(f"pixel format '{pixel_format}' is not one of {', '.join(PIXEL_FORMATS)}")
        self.width, self.height, self.fps = width, height, fps
        self.pixel_format = pixel_format.upper()
        self.device, self.backend = device, backend
        self._compose = Compositor((width, height), background)
        self._camera = None
        self._last: np.ndarray | None = None  # the frame as last sent

    @property
    def name(self) -> str:
        return f"virtual camera {self._camera.device}" if self._camera is not None else "virtual camera"

    def __enter__(self) -> VirtualCameraSink:
        try:
            import pyvirtualcam
        except ImportError:
            raise UserError("the virtual camera needs pyvirtualcam: `pip install pyvirtualcam`") from None
        fmt = pyvirtualcam.PixelFormat[self.pixel_format]
        if self.backend is not None and self.backend not in pyvirtualcam.camera.BACKENDS:
            known = ", ".join(pyvirtualcam.camera.BACKENDS) or "none on this machine"
            raise UserError(f"unknown virtual camera backend '{self.backend}' (available: {known})")
        try:
            self._camera = pyvirtualcam.Camera(self.width, self.height, self.fps, fmt=fmt,
                                               device=self.device, backend=self.backend)
        except (RuntimeError, ValueError) as exc:
            detail = str(exc).strip().replace("\n", "; ")
            raise UserError(f"no virtual camera could be opened ({detail}).\n{how_to_get_a_virtual_camera()}") from None
        return self

    def send(self, rgba: np.ndarray, at: float | None = None, repeat: bool = False) -> None:
        if self._camera is None:
            raise RuntimeError("VirtualCameraSink.send outside its `with` block")
        if not repeat or self._last is None:
            rgb = self._compose(rgba)
            self._last = np.ascontiguousarray(rgb[..., ::-1]) if self.pixel_format == "BGR" else rgb
        self._camera.send(self._last)

    def __exit__(self, *exc) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None
            self._last = None
