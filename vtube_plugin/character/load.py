"""Loading a character picture: check it is a square image with a transparent background, and bring it
to the size the network takes. Every problem becomes a UserError that says how to fix the picture.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vtube_plugin.errors import UserError

MIN_SIZE = 256
# The network works at 512; a bigger side buys nothing and costs memory: a 546 KiB PNG of 12000x12000 took
# 1.7 GB to decode. The size is read from the header, before anything is decoded.
MAX_SIDE = 4096
GUIDE = "docs/character-images.md"
_HOW_TO_MAKE_TRANSPARENT = (
    "The character must be on a transparent background: `vtube-plugin character fit IMAGE -o fitted.png` "
    "removes a flat one (white, one colour, a soft gradient) and frames the character; or remove it in an image editor "
    "(GIMP: Layer > Transparency > Add Alpha Channel, then select the background and delete it; or a "
    "background-removal tool) and save as PNG or WebP, which keep transparency (JPEG does not)."
)


def load_character(path: str | Path, size: int) -> np.ndarray:
    """The picture at `path` as a contiguous uint8 (size, size, 4) RGBA array with straight alpha.

    A square picture of another size (at least 256 px) is resized with LANCZOS, and a notice saying so
    goes to stderr.
    """
    path = Path(path).expanduser()
    image = read_picture(path)

    image = _with_alpha(image, path)
    width, height = image.size
    if width != height:
        raise UserError(
            f"character image {path} is {width}x{height}; it must be square. `vtube-plugin character fit "
            f"IMAGE -o fitted.png` makes it square with the head in the network's box (see {GUIDE})."
        )
    if width < MIN_SIZE:
        raise UserError(
            f"character image {path} is {width}x{height}, too small: the smallest usable size is "
            f"{MIN_SIZE}x{MIN_SIZE} and the network works at {size}x{size}. Use a larger picture."
        )
    pixels = np.asarray(image)
    if pixels[..., 3].min() == 255:
        raise UserError(f"character image {path} has an alpha channel but no transparent pixels. "
                        f"{_HOW_TO_MAKE_TRANSPARENT}")
    if width != size:
        # Pillow resizes RGBA premultiplied, so the colour of invisible pixels cannot bleed into edges.
        image = image.resize((size, size), Image.Resampling.LANCZOS)
        print(f"{path.name}: resized {width}x{height} -> {size}x{size}", file=sys.stderr)
        pixels = np.asarray(image)
    return np.ascontiguousarray(pixels, dtype=np.uint8)


def read_picture(path: Path, kinds: str = "a PNG or WebP file") -> Image.Image:
    """The decoded picture at `path`; its size is checked from the header first (MAX_SIDE)."""
    if path.is_dir():
        raise UserError(f"character image {path} is a folder; give the path of {kinds}.")
    if not path.is_file():
        raise UserError(f"character image {path} not found.")
    try:
        with warnings.catch_warnings():  # Pillow warns of big pictures at open; the size check below says why
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(path)  # reads the header only
        with opened:
            width, height = opened.size
            if max(width, height) > MAX_SIDE:
                raise UserError(
                    f"character image {path} is {width}x{height}; the largest picture taken is {MAX_SIDE} pixels "
                    f"on a side (the network works at 512x512). Scale it down to 512x512 in an image editor."
                )
            opened.load()  # decode now: a truncated file fails here, not later in the renderer
            return opened.copy()
    except UnidentifiedImageError:
        raise UserError(f"character image {path} is not an image (expected {kinds}).") from None
    except Image.DecompressionBombError:
        raise UserError(f"character image {path} is far too large to be a character picture.") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise UserError(
            f"character image {path} is damaged or incomplete ({err}); export it again from your editor."
        ) from None


def _with_alpha(image: Image.Image, path: Path) -> Image.Image:
    has_alpha = "A" in image.getbands() or (image.mode in ("P", "L", "RGB") and "transparency" in image.info)
    if not has_alpha:
        raise UserError(f"character image {path} has no transparency (alpha channel). {_HOW_TO_MAKE_TRANSPARENT}")
    return image.convert("RGBA")
