"""The one place a frame meets its background (a colour or a picture): every sink and the video writer.

The frame is scaled to fit the output (letterboxed, never cropped or stretched), or keeps its own size;
the pixel arithmetic and colour parsing are `vtube_plugin.sinks.background`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.background import over_background, parse_colour, scaled_over

CHROMA_GREEN = (0, 255, 0)  # what OBS's chroma key filter expects by default: the live outputs' default
VIDEO_GREY = (128, 128, 128)  # neutral grey: no colour cast on the character's edges; video files' default
_HELP = "a colour (#00ff00, 0,255,0, or a name such as lime, blue, magenta, black) or the path of an image file"


@dataclass(frozen=True)
class Background:
    colour: tuple[int, int, int] = CHROMA_GREEN
    image: Path | None = None  # covers the output (scaled and centre-cropped) when given


def parse_background(spec: str) -> Background:
    """What a user types after --background: an image file, else a colour."""
    path = Path(spec.strip()).expanduser()
    if path.is_file():
        background = Background(image=path)
        _background_canvas(background, (16, 16))  # an unreadable picture is said now, not after the model loads
        return background
    try:
        return Background(colour=parse_colour(spec))
    except UserError:
        raise UserError(f"background '{spec}' is not {_HELP}") from None


def parse_size(spec: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    w, sep, h = spec.lower().partition("x")
    try:
        size = (int(w), int(h))
    except ValueError:
        size = (0, 0)
    if not sep or size[0] < 16 or size[1] < 16 or size[0] > 7680 or size[1] > 4320:
        raise UserError(f"size '{spec}' is not WIDTHxHEIGHT between 16x16 and 7680x4320 (for example 1280x720)")
    return size


def _background_canvas(background: Background, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    if background.image is None:
        return np.full((h, w, 3), background.colour, dtype=np.uint8)
    try:
        with Image.open(background.image) as im:
            im = im.convert("RGB")
            scale = max(w / im.width, h / im.height)  # cover the output, crop the overflow evenly
            sw, sh = max(w, round(im.width * scale)), max(h, round(im.height * scale))
            im = im.resize((sw, sh), Image.Resampling.LANCZOS)
            left, top = (sw - w) // 2, (sh - h) // 2
            return np.array(im.crop((left, top, left + w, top + h)))
    except OSError as exc:
        raise UserError(f"cannot read the background image {background.image}: {exc}") from None


class Compositor:
    """`compositor(rgba)` -> uint8 RGB (height, width, 3): the frame letterboxed over the background.

    `size` None: each frame keeps its own size (a video file, whose size is its first frame's). RGB frames
    are opaque: they are only fitted."""

    def __init__(self, size: tuple[int, int] | None, background: Background = Background()):
        self.background = background
        self._fixed = size is not None
        self.size = size or (0, 0)
        self._canvas = _background_canvas(background, size) if size is not None else None
        self._frame_shape: tuple[int, ...] | None = None
        self._box = (0, 0, 0, 0)
        self._under: np.ndarray | None = None  # the part of the background behind the frame

    def _place(self, fh: int, fw: int) -> None:
        w, h = self.size
        scale = min(w / fw, h / fh)
        bw, bh = max(1, round(fw * scale)), max(1, round(fh * scale))
        x, y = (w - bw) // 2, (h - bh) // 2
        self._box = (x, y, bw, bh)
        self._frame_shape = (fh, fw)
        self._under = self._canvas[y : y + bh, x : x + bw].copy()

    def __call__(self, rgba: np.ndarray) -> np.ndarray:
        if rgba.ndim != 3 or rgba.shape[2] not in (3, 4) or rgba.dtype != np.uint8:
            raise ValueError(f"expected a uint8 RGBA or RGB frame (height, width, 4 or 3), "
                             f"got {rgba.dtype} {rgba.shape}")
        if not self._fixed and self.size != (rgba.shape[1], rgba.shape[0]):
            self.size = (rgba.shape[1], rgba.shape[0])
            self._canvas = _background_canvas(self.background, self.size)
            self._frame_shape = None
        if rgba.shape[2] == 3:  # opaque: nothing shows through, it is only fitted
            if self.size == (rgba.shape[1], rgba.shape[0]):
                return rgba
            rgba = np.dstack([rgba, np.full(rgba.shape[:2], 255, np.uint8)])
        if self._frame_shape != rgba.shape[:2]:
            self._place(*rgba.shape[:2])
        x, y, bw, bh = self._box
        if (bw, bh) != (rgba.shape[1], rgba.shape[0]):
            composited = scaled_over(rgba, (bw, bh), self._under)
        else:
            composited = over_background(rgba, self._under)
        if (bw, bh) == self.size:
            return composited
        out = self._canvas.copy()
        out[y : y + bh, x : x + bw] = composited
        return out
