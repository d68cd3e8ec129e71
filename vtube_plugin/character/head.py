"""Finding the character's head from its alpha silhouette: the top of the hair, the head's width, and the neck
where the silhouette narrows. Offline, no model: it reads the shape, so any size and position works the same.

The answer is a `HeadBox`: the square, in the picture's pixels, that should land on the network's 128x128 box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vtube_plugin.errors import UserError

# The network's head box in its 512x512 picture (docs/character-images.md).
FRAME = 512
BOX_LEFT, BOX_TOP, BOX_SIZE = 192, 64, 128

# How a well-framed picture's silhouette measures in the 512 frame. Tuned on four of the ten sample characters
# (crypko_00, crypko_01, crypko_02, lambda_00) and measured on the other six (docs/character-images.md):
NECK_DEPTH = 130.5  # top of the hair to the narrowest row of the neck
HEAD_WIDTH = 115.0  # median silhouette width over the upper head (hair included), when no neck shows
HAIR_TOP = 65.0  # the first row as wide as a quarter of the head


@dataclass(frozen=True)
class HeadBox:
    """The square (x, y, size) in the picture's pixels that belongs on the network's head box."""

    x: float
    y: float
    size: float
    confidence: float  # 0..1
    how: str  # "neck" (the silhouette narrows under the chin), "width" (hair hides the neck), "given"

    @property
    def centre_x(self) -> float:
        return self.x + self.size / 2


def main_silhouette(alpha: np.ndarray) -> np.ndarray:
    """The largest connected part of the picture's opaque pixels (alpha >= 0.5), as a bool mask."""
    mask = (alpha >= 128).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        raise UserError("the picture has no visible character: every pixel is transparent (or nearly).")
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == biggest


def find_head(alpha: np.ndarray) -> HeadBox:
    """Where the head is in a picture whose background is transparent (`alpha`: uint8, height x width)."""
    silhouette = main_silhouette(alpha)
    widths = silhouette.sum(axis=1).astype(float)
    rows = np.nonzero(widths > 0)[0]
    head_width = float(np.median(widths[rows]))
    top = int(rows[0])
    # The head's width and its top define each other (the top skips a thin ahoge; the width is measured a
    # fixed share of the head below the top): iterate to the fixed point, which scales with the picture.
    for _ in range(40):
        top = int(rows[np.argmax(widths[rows] >= 0.25 * head_width)])
        lo, hi = top + int(0.2 * head_width), top + max(int(0.6 * head_width), int(0.2 * head_width) + 1)
        new = float(np.median(widths[lo:hi]))
        if abs(new - head_width) < 0.05 or new <= 0:
            break
        head_width = new
    if head_width < 4:
        raise UserError("the character in the picture is too small to find its head (under 4 pixels wide).")
    upper = silhouette[top:top + int(0.6 * head_width) + 1]
    centre_x = float(np.nonzero(upper)[1].mean())

    by_width = head_width * BOX_SIZE / HEAD_WIDTH
    neck = _neck_row(widths, top, head_width)
    if neck is None:
        size, trust = by_width, 0.0
    else:
        # The clearer the neck, the more its depth decides the size; in between, a blend, so that a picture
        # scaled or saved as JPEG (a neck a little more or less narrow) is sized nearly the same.
        row, narrowing = neck
        trust = float(np.clip((0.75 - narrowing) / 0.2, 0.0, 1.0))
        size = trust * (row - top) * BOX_SIZE / NECK_DEPTH + (1 - trust) * by_width
    how = "neck" if trust >= 0.5 else "width"
    confidence = 0.4 + 0.45 * trust
    confidence *= _symmetry(upper)
    y = top - (HAIR_TOP - BOX_TOP) * size / BOX_SIZE
    return HeadBox(centre_x - size / 2, y, size, round(confidence, 2), how)


def _neck_row(widths: np.ndarray, top: int, head_width: float) -> tuple[int, float] | None:
    """The row where the silhouette narrows under the head and widens again into the shoulders, if it does."""
    lo, hi = top + int(0.7 * head_width), min(len(widths), top + int(1.6 * head_width))
    if hi - lo < 3:
        return None
    row = lo + int(np.argmin(widths[lo:hi]))
    narrowing = widths[row] / head_width
    below = widths[row:row + int(0.6 * head_width)]
    # A neck is clearly narrower than the head, still there (a cut-off picture is not a neck), and the
    # shoulders follow below it.
    if narrowing < 0.75 and widths[row] > 0.2 * head_width and below.max() > 1.3 * widths[row]:
        return row, float(narrowing)
    return None


def _symmetry(upper: np.ndarray) -> float:
    """1 for a head silhouette that mirrors onto itself, down to 0.5 for one that does not at all."""
    ys, xs = np.nonzero(upper)
    if len(xs) == 0:
        return 0.5
    centre = int(round(xs.mean()))
    half = max(centre, upper.shape[1] - centre)
    padded = np.zeros((upper.shape[0], 2 * half + 1), bool)
    padded[:, half - centre:half - centre + upper.shape[1]] = upper
    overlap = (padded & padded[:, ::-1]).sum() / max(1, padded.sum())
    return float(0.5 + 0.5 * overlap)
