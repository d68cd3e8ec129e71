"""Keyframes -> values at every video frame: morphs linear between keys, bone rotations eased along
MMD's Bezier curve and slerped; before the first key the first value holds, after the last the last.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vtube_plugin.motion.vmd import MMD_FPS, BoneKey, MorphKey


def frame_positions(last_frame: int, fps: float) -> np.ndarray:
    """The MMD frame (fractional) shown at each video frame: the video runs from key 0 to `last_frame`."""
    count = int(np.floor(last_frame * fps / MMD_FPS + 1e-9)) + 1
    return np.arange(count, dtype=np.float64) * (MMD_FPS / fps)


def _latest_per_frame(keys: Sequence, frame_of) -> list:
    # Two keys on one frame: the later one in the file wins, as in MMD.
    by_frame = {frame_of(k): k for k in keys}
    return [by_frame[f] for f in sorted(by_frame)]


def morph_weights(keys: Sequence[MorphKey], positions: np.ndarray) -> np.ndarray:
    """One morph's weight at each position (keys of that morph only)."""
    keys = _latest_per_frame(keys, lambda k: k.frame)
    frames = np.array([k.frame for k in keys], dtype=np.float64)
    weights = np.array([k.weight for k in keys], dtype=np.float64)
    return np.interp(positions, frames, weights)  # holds the end values outside the keys


def bezier_ease(curve: tuple[float, float, float, float], u: np.ndarray) -> np.ndarray:
    """MMD's ease curve: the cubic Bezier from (0,0) to (1,1) with control points (x1,y1), (x2,y2);
    solve x(t) = u for t (x is monotonic because the control points lie in 0..1), return y(t)."""
    x1, y1, x2, y2 = curve
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)

    def cubic(a: float, b: float, t: np.ndarray) -> np.ndarray:
        s = 1.0 - t
        return 3 * s * s * t * a + 3 * s * t * t * b + t * t * t

    lo, hi = np.zeros_like(u), np.ones_like(u)
    for _ in range(40):  # bisection: 2^-40, always converges, and these arrays are short
        mid = (lo + hi) / 2
        below = cubic(x1, x2, mid) < u
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return cubic(y1, y2, (lo + hi) / 2)


def slerp(q0: np.ndarray, q1: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions (rows), taking the short way round."""
    q0, q1 = np.atleast_2d(q0), np.atleast_2d(q1)
    s = np.asarray(s, dtype=np.float64)[:, None]
    dot = np.sum(q0 * q1, axis=1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    near = sin < 1e-6  # nearly equal: a straight line is exact enough and avoids 0/0
    safe = np.where(near, 1.0, sin)
    w0 = np.where(near, 1.0 - s, np.sin((1.0 - s) * theta) / safe)
    w1 = np.where(near, s, np.sin(s * theta) / safe)
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def bone_rotations(keys: Sequence[BoneKey], positions: np.ndarray) -> np.ndarray:
    """One bone's rotation quaternion (x, y, z, w) at each position (keys of that bone only)."""
    keys = _latest_per_frame(keys, lambda k: k.frame)
    frames = np.array([k.frame for k in keys], dtype=np.float64)
    quats = np.array([k.rotation for k in keys], dtype=np.float64)
    norms = np.linalg.norm(quats, axis=1, keepdims=True)
    quats = np.where(norms > 1e-9, quats / np.maximum(norms, 1e-9), (0.0, 0.0, 0.0, 1.0))  # a zero key means rest
    if len(keys) == 1:
        return np.tile(quats[0], (len(positions), 1))
    # the key after each position; clipping to the ends makes u 0 or 1 there, so the end keys hold
    after = np.clip(np.searchsorted(frames, positions, side="right"), 1, len(frames) - 1)
    before = after - 1
    span = frames[after] - frames[before]
    u = np.clip((positions - frames[before]) / span, 0.0, 1.0)
    out = np.empty((len(positions), 4))
    for index in np.unique(after):  # each segment eases with the curve stored on its later key
        rows = after == index
        eased = bezier_ease(keys[index].rotation_curve, u[rows])
        out[rows] = slerp(quats[index - 1], quats[index], eased)
    return out


def euler_degrees(quats: np.ndarray) -> np.ndarray:
    """Rotations as angles (x, y, z) in degrees about MMD's axes, taken in MMD's Y-X-Z order.
    A pure rotation about one axis gives that axis its angle with the quaternion's sign."""
    x, y, z, w = (quats[:, i] for i in range(4))
    r02 = 2 * (x * z + y * w)
    r10 = 2 * (x * y + z * w)
    r11 = 1 - 2 * (x * x + z * z)
    r12 = 2 * (y * z - x * w)
    r20 = 2 * (x * z - y * w)
    r22 = 1 - 2 * (x * x + y * y)
    r00 = 1 - 2 * (y * y + z * z)
    pitch = np.arcsin(np.clip(-r12, -1.0, 1.0))
    locked = np.abs(r12) > 0.9999999  # looking straight up or down: yaw and roll are one axis
    yaw = np.where(locked, np.arctan2(-r20, r00), np.arctan2(r02, r22))
    roll = np.where(locked, 0.0, np.arctan2(r10, r11))
    return np.degrees(np.stack([pitch, yaw, roll], axis=1))
