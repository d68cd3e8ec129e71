"""Fitting any picture of a character to the network's frame: background off (when flat), head found, then
scaled and placed so the head fills the 128x128 box of a 512x512 transparent picture, the body below it.

`fit_character` is the plain API (the CLI's `character fit` and the studio both call it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vtube_plugin.character.background import Background, remove_background
from vtube_plugin.character.head import BOX_LEFT, BOX_SIZE, BOX_TOP, FRAME, HeadBox, find_head
from vtube_plugin.character.load import read_picture
from vtube_plugin.errors import UserError

KINDS = "a PNG, WebP or JPEG file"
# Work on at most this many pixels a side: a 4096 picture fitted to 512 loses nothing visible at 2048, and
# background removal on 16 M pixels would take seconds and gigabytes.
WORK_SIDE = 2048
BLURRY_SCALE = 2.0  # enlarging more than this gives a visibly soft character


@dataclass(frozen=True)
class FitResult:
    """The fitted picture and what was done to get it."""

    image: np.ndarray  # uint8 (512, 512, 4), straight alpha
    scale: float  # output pixels per input pixel
    offset: tuple[float, float]  # where the input's top-left corner lands in the output
    head: HeadBox  # in the input's pixels
    background: Background | None  # what was removed, None when the picture had transparency
    notes: tuple[str, ...]  # things the user should know (enlarged a lot, parts cut off)

    @property
    def background_removed(self) -> bool:
        return self.background is not None

    @property
    def confidence(self) -> float:
        return self.head.confidence

    def summary(self) -> list[str]:
        """What was done, in lines a user reads."""
        how = {"neck": "found from the silhouette (where the neck narrows)",
               "width": "found from the silhouette's width (the neck is hidden, so less sure)",
               "given": "given with --head"}[self.head.how]
        lines = [f"head: {how}; {self.head.size:.0f} px square at x {self.head.x:.0f}, y {self.head.y:.0f} "
                 f"in the picture; confidence {self.confidence:.2f}",
                 f"scale {self.scale:.3f}, offset x {self.offset[0]:+.1f}, y {self.offset[1]:+.1f} "
                 f"(the head goes on the box x {BOX_LEFT}-{BOX_LEFT + BOX_SIZE - 1}, "
                 f"y {BOX_TOP}-{BOX_TOP + BOX_SIZE - 1})"]
        if self.background is None:
            lines.append("background: kept as it was (the picture already has transparency)")
        else:
            r, g, b = self.background.colour
            lines.append(f"background: removed (a flat colour near RGB {r},{g},{b}; edges kept soft)")
        lines += self.notes
        if self.head.how != "given" and self.confidence < 0.5:
            lines.append("check the result: if the head is not in the box, give it with --head X,Y,W,H "
                         "(the head's box in the picture's pixels, hair top to chin)")
        return lines


def fit_character(picture: np.ndarray | str | Path, head: tuple[float, float, float, float] | None = None
                  ) -> FitResult:
    """Fit `picture` (a path, or a uint8 RGB/RGBA array of any size) to the network's 512x512 frame.

    `head` (x, y, width, height in the picture's pixels) overrides the detection; the square of its longer
    side, centred on it, goes on the head box. A picture with transparency is only scaled and placed; one
    without has its flat background removed (a busy one is refused with a UserError).
    """
    pixels, shrink = _as_array(picture)
    rgba, background = _transparent(pixels)
    height, width = rgba.shape[:2]
    if head is not None:
        found = _given_head(head, width / shrink, height / shrink)
        work = HeadBox(found.x * shrink, found.y * shrink, found.size * shrink, found.confidence, found.how)
    else:
        work = find_head(rgba[..., 3])
        found = HeadBox(work.x / shrink, work.y / shrink, work.size / shrink, work.confidence, work.how)
    scale = BOX_SIZE / work.size
    offset = (BOX_LEFT - work.x * scale, BOX_TOP - work.y * scale)
    image = place(rgba, scale, offset)
    return FitResult(image, scale * shrink, offset, found, background, _notes(rgba, image, scale, found))


def place(rgba: np.ndarray, scale: float, offset: tuple[float, float], size: int = FRAME) -> np.ndarray:
    """`rgba` scaled by `scale` with its top-left corner at `offset`, on a transparent size x size picture.

    Resampled premultiplied (Pillow's RGBa), so the colour of invisible pixels never bleeds into edges.
    """
    height, width = rgba.shape[:2]
    ox, oy = offset
    left, top = max(0, int(np.ceil(ox))), max(0, int(np.ceil(oy)))
    right, bottom = min(size, int(np.floor(ox + width * scale))), min(size, int(np.floor(oy + height * scale)))
    out = Image.new("RGBa", (size, size))
    if right > left and bottom > top:
        box = (max(0.0, (left - ox) / scale), max(0.0, (top - oy) / scale),
               min(float(width), (right - ox) / scale), min(float(height), (bottom - oy) / scale))
        source = Image.fromarray(np.ascontiguousarray(rgba), "RGBA").convert("RGBa")
        out.paste(source.resize((right - left, bottom - top), Image.Resampling.LANCZOS, box=box), (left, top))
    pixels = np.array(out.convert("RGBA"))
    pixels[pixels[..., 3] == 0, :3] = 0
    return pixels


def _as_array(picture: np.ndarray | str | Path) -> tuple[np.ndarray, float]:
    """The picture as a uint8 RGB or RGBA array, shrunk to WORK_SIDE at most, and by how much it was shrunk."""
    if isinstance(picture, np.ndarray):
        if picture.dtype != np.uint8 or picture.ndim != 3 or picture.shape[2] not in (3, 4):
            raise ValueError(f"expected a uint8 RGB or RGBA array, got {picture.dtype} {picture.shape}")
        image = Image.fromarray(np.ascontiguousarray(picture), "RGBA" if picture.shape[2] == 4 else "RGB")
    else:
        image = read_picture(Path(picture).expanduser(), KINDS)
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    longest, shrink = max(image.size), 1.0
    if longest > WORK_SIDE:
        shrink = WORK_SIDE / longest
        image = image.resize((max(1, round(image.width * shrink)), max(1, round(image.height * shrink))),
                             Image.Resampling.LANCZOS, reducing_gap=3.0)
    if min(image.size) < 16:
        raise UserError(f"the picture is {image.width}x{image.height}: far too small to hold a character.")
    return np.array(image), shrink


def _transparent(pixels: np.ndarray) -> tuple[np.ndarray, Background | None]:
    """The picture with a transparent background: as it is when it has transparency, else background removed."""
    if pixels.shape[2] == 4 and pixels[..., 3].min() < 255:
        return pixels, None
    return remove_background(pixels[..., :3])


def _given_head(head: tuple[float, float, float, float], width: float, height: float) -> HeadBox:
    x, y, w, h = (float(v) for v in head)
    if w <= 0 or h <= 0:
        raise UserError(f"--head {x:g},{y:g},{w:g},{h:g}: the width and height must be more than 0")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise UserError(f"--head {x:g},{y:g},{w:g},{h:g} lies outside the {width:.0f}x{height:.0f} picture")
    side = max(w, h)
    return HeadBox(x + w / 2 - side / 2, y + h / 2 - side / 2, side, 1.0, "given")


def _notes(rgba: np.ndarray, fitted: np.ndarray, scale: float, head: HeadBox) -> tuple[str, ...]:
    notes = []
    if scale > BLURRY_SCALE:
        notes.append(f"enlarged {scale:.1f}x: the head is only {head.size:.0f} px in the picture, so the "
                     f"character will look soft; a larger picture gives a sharper one")
    kept = fitted[..., 3].astype(float).sum() / 255
    total = rgba[..., 3].astype(float).sum() / 255 * scale * scale
    if total > 0 and kept < 0.97 * total:
        notes.append(f"{1 - kept / total:.0%} of the character falls outside the 512x512 frame and is cut off "
                     f"(normal for the legs of a full-body picture)")
    return tuple(notes)
