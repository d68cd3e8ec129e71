"""Putting the RGBA character over a solid colour, for sinks that cannot carry transparency (video files,
cameras): the one place a background colour is parsed and composited.
"""

from __future__ import annotations

import numpy as np

from vtube_plugin.errors import UserError

Colour = tuple[int, int, int]
DEFAULT_BACKGROUND: Colour = (128, 128, 128)  # neutral grey: no colour cast on the character's edges


def parse_colour(text: str) -> Colour:
    """'#00b140', '00b140', '0,177,64', 'rgb(0,177,64)' or a CSS name such as 'green' or 'white'."""
    from PIL import ImageColor

    spec = text.strip()
    if spec.count(",") == 2 and "(" not in spec:
        spec = f"rgb({spec})"
    elif len(spec) == 6 and all(c in "0123456789abcdefABCDEF" for c in spec):
        spec = f"#{spec}"
    try:
        red, green, blue, *_ = ImageColor.getrgb(spec)
    except ValueError:
        raise UserError(f"{text!r} is not a colour: use #rrggbb (e.g. #00b140), r,g,b (e.g. 0,177,64) or a name "
                        "such as green, white or black.") from None
    return red, green, blue


def over_background(frame: np.ndarray, colour: Colour = DEFAULT_BACKGROUND) -> np.ndarray:
    """An (H, W, 3) uint8 image: RGBA `frame` (straight alpha) composited over `colour`; RGB passes through."""
    if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (height, width, 3 or 4) frame, got {frame.dtype} {frame.shape}")
    if frame.shape[2] == 3:
        return frame
    alpha = frame[..., 3:4].astype(np.uint32)
    mixed = frame[..., :3] * alpha + np.asarray(colour, np.uint32) * (255 - alpha)
    return ((mixed + 127) // 255).astype(np.uint8)
