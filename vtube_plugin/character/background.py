"""Removing a flat or softly graded background (white, one colour, a gradient) from a picture without
transparency, keeping anti-aliased edges as partial alpha. A busy background is refused: that needs a real
background-removal tool.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vtube_plugin.errors import UserError

BUSY_HELP = (
    "Remove the background first with a background-removal tool (for example `rembg`, remove.bg, Krita's or "
    "Photoshop's 'Remove Background', or GIMP's Foreground Select), save as PNG, and run `character fit` again."
)
_BORDER = 3  # pixels of each edge read to learn the background's colour


@dataclass(frozen=True)
class Background:
    """What the background was: its colour at the picture's centre and how evenly it was painted."""

    colour: tuple[int, int, int]
    noise: float  # typical distance of the border's background pixels from the fitted colour, 0..441
    share: float  # how much of the border the background covers, 0..1


def remove_background(rgb: np.ndarray) -> tuple[np.ndarray, Background]:
    """`rgb` (uint8, h x w x 3) without its background: uint8 RGBA with straight alpha, and what was removed.

    The background's colour is learnt from the border as a smooth surface (a gradient or a vignette fits);
    a pixel's alpha is how far its colour sits from the background towards the nearby character's colour,
    and its colour is un-mixed from the background, so a soft edge stays soft and does not keep a halo.
    Only background connected to the picture's edge is removed: white inside the character (a shirt, the
    eyes) stays.
    """
    image = rgb.astype(np.float32)
    height, width = image.shape[:2]
    surface, background = _fit_background(image)
    if background.share < 0.55 or background.noise > 14:
        raise UserError(
            f"the picture's background is not one flat colour or a soft gradient (only {background.share:.0%} of "
            f"its edge matches one, with a spread of {background.noise:.0f}), so it cannot be removed here. "
            + BUSY_HELP)
    difference = image - surface
    distance = np.linalg.norm(difference, axis=2)
    low = max(10.0, 3.0 * background.noise)  # below: background with JPEG or scanner noise
    high = low + 60.0  # above: surely the character
    sure = distance > high
    # The character's colour near each pixel, from the sure pixels within a few pixels of it.
    weight = cv2.boxFilter(sure.astype(np.float32), -1, (9, 9), normalize=False)
    near = cv2.boxFilter(image * sure[..., None], -1, (9, 9), normalize=False) / np.maximum(weight, 1)[..., None]
    towards = near - surface
    span = np.linalg.norm(towards, axis=2)
    projected = (difference * towards).sum(axis=2) / np.maximum(span, 1) ** 2
    ramp = np.clip((distance - low) / (high - low), 0, 1)
    # Where the character's colour is known and far from the background, the projection is the mix; else the ramp.
    alpha = np.where((weight > 0) & (span > high), np.clip(projected, 0, 1), ramp)
    alpha = np.maximum(alpha, ramp * (distance > high))

    # Only what joins the picture's edge through background-coloured pixels is background.
    loose = (distance <= low).astype(np.uint8)
    count, labels = cv2.connectedComponents(loose, connectivity=4)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.isin(labels, edge_labels[edge_labels > 0])
    band = cv2.dilate(outside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    alpha = np.where(band, alpha, 1.0)
    alpha[outside & (alpha < 0.1)] = 0.0

    # Un-mix: the observed colour is alpha * character + (1 - alpha) * background.
    safe = np.maximum(alpha, 0.05)[..., None]
    colour = np.clip(surface + difference / safe, 0, 255)
    colour = np.where((alpha < 0.05)[..., None], near, colour)
    colour = np.where((alpha >= 1.0)[..., None], image, colour)
    rgba = np.dstack([colour, alpha * 255.0])
    rgba = np.rint(rgba).astype(np.uint8)
    rgba[rgba[..., 3] == 0, :3] = 0
    return rgba, background


def _fit_background(image: np.ndarray) -> tuple[np.ndarray, Background]:
    """A smooth colour surface (quadratic in x and y, per channel) fitted to the border, robust to the part
    of the character that touches an edge (a bust cut off at the bottom)."""
    height, width = image.shape[:2]
    border = np.zeros((height, width), bool)
    border[:_BORDER] = border[-_BORDER:] = True
    border[:, :_BORDER] = border[:, -_BORDER:] = True
    ys, xs = np.nonzero(border)
    colours = image[ys, xs]

    def terms(y: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
        u, v = x / max(1, width - 1) - 0.5, y / max(1, height - 1) - 0.5
        return [np.ones_like(u * v), u, v, u * u, v * v, u * v]

    design = np.stack(terms(ys.astype(np.float32), xs.astype(np.float32)), axis=-1)
    keep = np.ones(len(ys), bool)
    for _ in range(5):
        coef, *_ = np.linalg.lstsq(design[keep], colours[keep], rcond=None)
        residual = np.linalg.norm(colours - design @ coef, axis=1)
        limit = max(8.0, 3.0 * float(np.median(residual[keep])))
        keep = residual < limit
        if keep.sum() < 0.2 * len(ys):
            break
    noise = float(np.median(residual[keep])) if keep.any() else 441.0
    gy, gx = np.ogrid[0:height, 0:width]
    surface = np.zeros((height, width, 3), np.float32)
    for k, term in enumerate(terms(gy.astype(np.float32), gx.astype(np.float32))):
        surface += term[..., None] * coef[k].astype(np.float32)
    centre = tuple(int(c) for c in np.clip(np.rint(surface[height // 2, width // 2]), 0, 255))
    return surface, Background(centre, noise, float((residual < 25).mean()))
