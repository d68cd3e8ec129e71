"""In-between frames: pictures between two renders (interpolate) or a little ahead of the newest (extrapolate),
made from the optical flow between them, so a renderer slower than the output still moves on every frame.

`FlowPair(older, newer)` does the slow part once per pair of renders (the flows both ways, a few ms); each frame
is then two remaps and a blend. Pixels are warped premultiplied by alpha, so edges stay clean, and only inside
the box the character covers in either render (outside it both are transparent, and so is every in-between).
Where the renders differ in a way the flow cannot carry (a blink, the mouth opening: the picture changes in
place rather than moves), the pair cross-fades instead of warping, so an eye never smears.
"""

from __future__ import annotations

import cv2
import numpy as np

# A pixel counts as changed between the renders above this difference (premultiplied colour or alpha, 0..1).
CHANGED = 0.02
# Where the flow, run all the way, fails to rebuild one render from the other by more than this (averaged over
# a few pixels, so the thin misses along edges do not count), the picture changes in place: it cross-fades.
# (Measured on real renders: 0.25 still fades a whole blink without a smear; 0.12 also faded the edges of a
# turning head, which the warp carries better, 2-4 dB.)
RESIDUAL = 0.25
RESIDUAL_AVERAGE = 5  # pixels
# How far around such a place the fade reaches, and how softly it hands over to the warp (pixels).
FADE_GROW = 4
FADE_SOFTEN = 3.0
# DIS optical flow: the finest level it works out (1: half the size) and the step between its patches (pixels).
FLOW_FINEST_SCALE = 1
FLOW_PATCH_STRIDE = 6
FULL = 255 * 255  # 1.0 in the uint16 premultiplied form pixels are worked on
# The box the pixels are worked on: the character in either render, and this much around it (pixels).
MARGIN = 8
# Extrapolation trusts the flow only while the places it cannot carry are at most this share of what changed,
# and goes at most this far past the newest render (a share of the step between the two renders).
EXTRAPOLATE_UNRELIABLE = 0.25
EXTRAPOLATE_MAX = 1.0


def use_one_thread() -> None:
    """OpenCV's own thread pool, beside the renderer's, slows both on a small CPU (measured: fewer renders and
    about half the in-between frames on two cores); a frame's remaps are small enough for one thread."""
    cv2.setNumThreads(1)


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    """uint8 straight-alpha RGBA -> float32 0..1 with RGB multiplied by alpha (what quality is measured in)."""
    x = rgba.astype(np.float32)
    x *= 1.0 / 255.0
    x[..., :3] *= x[..., 3:4]
    return x


def _premultiplied16(rgba: np.ndarray) -> np.ndarray:
    """uint8 straight-alpha RGBA -> uint16 RGB times alpha and alpha times 255 (all four 0..65025): exact, and
    remapped and blended by OpenCV's integer paths, several times faster than float."""
    alpha = np.ascontiguousarray(rgba[..., 3])
    by = cv2.merge([alpha, alpha, alpha, np.full_like(alpha, 255)])
    return cv2.multiply(np.ascontiguousarray(rgba), by, dtype=cv2.CV_16U)


def _largest_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pixel, the largest difference of the four channels."""
    r, g, b_, alpha = cv2.split(cv2.absdiff(a, b))
    return cv2.max(cv2.max(r, g), cv2.max(b_, alpha))


def _straight16(x: np.ndarray) -> np.ndarray:
    """The uint16 premultiplied form back to uint8 straight-alpha RGBA; where alpha rounds to 0, all 0."""
    alpha8 = cv2.convertScaleAbs(x[..., 3], alpha=1.0 / 255.0)  # rounds to nearest
    alpha16 = cv2.multiply(alpha8, 255, dtype=cv2.CV_16U)
    # colour = premultiplied * 255 / alpha, at most 255; OpenCV's integer divide gives 0 where alpha is 0
    colour = cv2.divide(cv2.cvtColor(x, cv2.COLOR_RGBA2RGB), cv2.merge([alpha16, alpha16, alpha16]), scale=255.0)
    return cv2.merge([*cv2.split(cv2.convertScaleAbs(colour)), alpha8])


def _grey(x: np.ndarray) -> np.ndarray:
    """What the flow follows: the premultiplied picture's brightness, with the silhouette mixed in so a dark
    edge against transparency still has something to follow."""
    lum = cv2.cvtColor(x, cv2.COLOR_RGBA2GRAY)  # the colour's brightness; alpha is not part of it
    return cv2.convertScaleAbs(cv2.addWeighted(lum, 0.7, x[..., 3], 0.3, 0.0, dtype=cv2.CV_32F), alpha=1.0 / 255.0)


def _flow(one: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Flow f with one(x) ~ other(x + f(x)), float32 (H, W, 2)."""
    # One per call: DIS keeps state between calls, and pairs may be worked on from more than one thread.
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    # The preset stops at a quarter of the size; at half, with its patches placed a little further apart, the
    # flow costs about the same and an in-between frame gains 3-8 dB (benchmarks/inbetween_quality.py).
    dis.setFinestScale(FLOW_FINEST_SCALE)
    dis.setPatchStride(FLOW_PATCH_STRIDE)
    return dis.calc(one, other, None)


def _remap(x: np.ndarray, grid: np.ndarray, flow: np.ndarray, share: float) -> np.ndarray:
    maps = cv2.scaleAdd(flow, share, grid)  # (x, y) per pixel: one map of two channels, no copies of either
    return cv2.remap(x, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _box(alpha: np.ndarray) -> tuple[slice, slice] | None:
    rows, cols = np.nonzero(alpha.any(axis=1)), np.nonzero(alpha.any(axis=0))
    if not rows[0].size:
        return None
    h, w = alpha.shape
    return (slice(max(rows[0][0] - MARGIN, 0), min(rows[0][-1] + 1 + MARGIN, h)),
            slice(max(cols[0][0] - MARGIN, 0), min(cols[0][-1] + 1 + MARGIN, w)))


class FlowPair:
    """Two renders (uint8 straight-alpha RGBA of one size) and the flows both ways between them.

    `between(w)`: the picture a share w (0..1) of the way from `older` to `newer`; `ahead(w)`: w of one step
    past `newer` along the same motion (`newer` itself unless `steady`).
    """

    def __init__(self, older: np.ndarray, newer: np.ndarray):
        if older.shape != newer.shape or older.ndim != 3 or older.shape[2] != 4:
            raise ValueError(f"two RGBA frames of one size, got {older.shape} and {newer.shape}")
        self.older_rgba, self.newer_rgba = older, newer
        self.moving = False
        self.unreliable_share = 0.0
        box = _box((older[..., 3] > 0) | (newer[..., 3] > 0))
        if box is None:
            return
        self._box = box
        # Where neither render has the character, no in-between has it either: the warps' soft edges would
        # otherwise leave a faint haze over the background.
        self._empty = ((older[box][..., 3] == 0) & (newer[box][..., 3] == 0)).view(np.uint8)
        old, new = _premultiplied16(older[box]), _premultiplied16(newer[box])
        changed = cv2.countNonZero((_largest_difference(old, new) > CHANGED * FULL).view(np.uint8))
        if not changed:
            return
        self.moving = True
        self._old, self._new = old, new
        h, w = old.shape[:2]
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self._grid = np.dstack([xs, ys])
        grey_old, grey_new = _grey(old), _grey(new)
        self.forward = _flow(grey_old, grey_new)  # old(x) ~ new(x + forward(x))
        self.backward = _flow(grey_new, grey_old)  # new(x) ~ old(x + backward(x))
        # What each flow fails to explain: the newer render rebuilt from the older one, and the other way.
        miss = cv2.max(_largest_difference(_remap(old, self._grid, self.backward, 1.0), new),
                       _largest_difference(_remap(new, self._grid, self.forward, 1.0), old))
        miss = cv2.blur(miss.astype(np.float32), (RESIDUAL_AVERAGE, RESIDUAL_AVERAGE))
        unreliable = (miss > RESIDUAL * FULL).astype(np.uint8)
        self.unreliable_share = float(unreliable.sum()) / changed
        self._fade = None
        if unreliable.any():
            grown = cv2.dilate(unreliable, np.ones((2 * FADE_GROW + 1,) * 2, np.uint8))
            fade = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), FADE_SOFTEN)
            fade = np.minimum(fade * 2.0, 1.0)
            rows, cols = np.nonzero(fade.any(axis=1))[0], np.nonzero(fade.any(axis=0))[0]
            self._fade_box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            self._fade = fade[self._fade_box][..., None]  # 1: cross-fade, 0: warp

    @property
    def steady(self) -> bool:
        """Whether the flow explains most of what changed, so going on along it is worth the risk."""
        return self.moving and self.unreliable_share <= EXTRAPOLATE_UNRELIABLE

    def between(self, w: float) -> np.ndarray:
        """uint8 RGBA a share w of the way from the older render to the newer (0: the older, 1: the newer)."""
        w = min(max(float(w), 0.0), 1.0)
        if not self.moving or w == 1.0:
            return self.newer_rgba
        if w == 0.0:
            return self.older_rgba
        from_old = _remap(self._old, self._grid, self.backward, w)
        from_new = _remap(self._new, self._grid, self.forward, 1.0 - w)
        picture = cv2.addWeighted(from_old, 1.0 - w, from_new, w, 0.0)
        if self._fade is not None:
            box = self._fade_box
            faded = cv2.addWeighted(self._old[box], 1.0 - w, self._new[box], w, 0.0, dtype=cv2.CV_32F)
            part = picture[box].astype(np.float32)
            picture[box] = part + (faded - part) * self._fade + 0.5
        return self._whole(picture)

    def ahead(self, w: float) -> np.ndarray:
        """uint8 RGBA a share w (at most EXTRAPOLATE_MAX) of one step past the newer render along the same
        motion; where the flow cannot carry the change, the newer render's own pixels."""
        w = min(max(float(w), 0.0), EXTRAPOLATE_MAX)
        if not self.steady or w == 0.0:
            return self.newer_rgba
        picture = _remap(self._new, self._grid, self.backward, w)
        if self._fade is not None:
            box = self._fade_box
            part = picture[box].astype(np.float32)
            picture[box] = part + (self._new[box] - part) * self._fade + 0.5
        return self._whole(picture)

    def _whole(self, picture: np.ndarray) -> np.ndarray:
        cv2.bitwise_xor(picture, picture, dst=picture, mask=self._empty)  # 0 where the mask is set
        out = np.zeros_like(self.newer_rgba)
        out[self._box] = _straight16(picture)
        return out
