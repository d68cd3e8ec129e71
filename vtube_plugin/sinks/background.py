"""The pixel arithmetic under sinks/compose.py: an RGBA frame over a colour or a picture, and reading a colour
a user typed. Sinks and commands go through compose.py's Background and Compositor, not these.
"""

from __future__ import annotations

import numpy as np

from vtube_plugin.errors import UserError

Colour = tuple[int, int, int]


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
        if not all(0 <= v <= 255 for v in (red, green, blue)):  # Pillow lets rgb(300,0,0) through
            raise ValueError(spec)
    except ValueError:
        raise UserError(f"{text!r} is not a colour: use #rrggbb (e.g. #00b140), r,g,b (e.g. 0,177,64) or a name "
                        "such as green, white or black.") from None
    return red, green, blue


def over_background(frame: np.ndarray, colour: Colour | np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 image: RGBA `frame` (straight alpha) composited over `colour` (or over an (H, W, 3)
    uint8 picture of the same size); RGB passes through."""
    if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (height, width, 3 or 4) frame, got {frame.dtype} {frame.shape}")
    if frame.shape[2] == 3:
        return frame
    # uint16 is enough (255 * 255 + 127 < 65536) and twice as fast as wider integers on a live frame.
    alpha = frame[..., 3:4].astype(np.uint16)
    mixed = frame[..., :3] * alpha + np.asarray(colour, np.uint16) * (255 - alpha)
    mixed += 127
    mixed //= 255
    return mixed.astype(np.uint8)
