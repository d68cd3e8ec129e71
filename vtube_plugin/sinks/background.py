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


# Above this share of pixels neither transparent nor opaque, the whole frame is mixed at once (faster then).
MOSTLY_EDGES = 0.25


def over_background(frame: np.ndarray, colour: Colour | np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 image: RGBA `frame` (straight alpha) composited over `colour` (or over an (H, W, 3)
    uint8 picture of the same size); RGB passes through.

    Exactly (colour * alpha + background * (255 - alpha) + 127) // 255 per channel, but worked out only where
    alpha is neither 0 (the background as it is) nor 255 (the frame as it is): a character's edges are a few
    per cent of the frame, so this is about six times faster than mixing every pixel (docs/performance.md).
    """
    import cv2

    if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (height, width, 3 or 4) frame, got {frame.dtype} {frame.shape}")
    if frame.shape[2] == 3:
        return frame
    frame = np.ascontiguousarray(frame)
    alpha = np.ascontiguousarray(frame[..., 3])
    if isinstance(colour, np.ndarray):
        out = np.array(colour, np.uint8, order="C", copy=True)
    else:
        h, w = frame.shape[:2]  # a row first, then rows: numpy's broadcast fill is slow for three values
        out = np.tile(np.tile(np.asarray(colour, np.uint8), (w, 1))[None], (h, 1, 1))
    rgb = cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB)
    edges = np.flatnonzero(alpha.reshape(-1) - np.uint8(1) < np.uint8(254))  # alpha 1..254
    if edges.size > MOSTLY_EDGES * alpha.size:
        a3 = cv2.merge([alpha, alpha, alpha])
        mixed = cv2.add(cv2.multiply(rgb, a3, dtype=cv2.CV_16U),
                        cv2.multiply(out, cv2.bitwise_not(a3), dtype=cv2.CV_16U))
        # Rounds to nearest: v / 255 is never half way, so this is (v + 127) // 255 exactly.
        return cv2.convertScaleAbs(mixed, alpha=1.0 / 255.0)
    cv2.copyTo(rgb, (alpha == 255).view(np.uint8), out)
    if edges.size:
        # uint16 is enough (255 * 255 + 127 < 65536).
        a = alpha.reshape(-1)[edges, None].astype(np.uint16)
        flat = out.reshape(-1, 3)
        mixed = rgb.reshape(-1, 3)[edges] * a + flat[edges] * (255 - a)
        mixed += 127
        mixed //= 255
        flat[edges] = mixed
    return out


def scaled_over(frame: np.ndarray, size: tuple[int, int], under: np.ndarray) -> np.ndarray:
    """RGBA `frame` (straight alpha, uint8) scaled to `size` (width, height) and composited over `under`, an
    (height, width, 3) uint8 picture. Resampled premultiplied by alpha, so the colour of invisible pixels cannot
    bleed into the edges, and mixed as premultiplied: colour + background * (255 - alpha) / 255, so a
    transparent pixel is the background as it is and an opaque one the frame. Bilinear up, area averaging down
    (OpenCV: about a seventh of what Pillow's premultiplied resize took at 1280x720, docs/performance.md)."""
    import cv2

    frame = np.ascontiguousarray(frame)
    alpha = np.ascontiguousarray(frame[..., 3])
    premultiplied = cv2.multiply(frame, cv2.merge([alpha, alpha, alpha, np.full_like(alpha, 255)]), scale=1 / 255)
    up = size[0] > frame.shape[1]
    scaled = cv2.resize(premultiplied, size, interpolation=cv2.INTER_LINEAR if up else cv2.INTER_AREA)
    clear = cv2.bitwise_not(np.ascontiguousarray(scaled[..., 3]))  # 255 - alpha
    behind = cv2.multiply(np.ascontiguousarray(under), cv2.merge([clear, clear, clear]), scale=1 / 255)
    return cv2.add(cv2.cvtColor(scaled, cv2.COLOR_RGBA2RGB), behind)  # saturates: never wraps past 255
