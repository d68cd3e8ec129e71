"""The frame every sink takes: uint8 RGBA (height, width, 4), straight alpha, rows top-down."""

from __future__ import annotations

import numpy as np


def require_rgba(rgba: np.ndarray) -> None:
    """A ValueError naming what came instead, for a frame that is not uint8 (height, width, 4)."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGBA frame (height, width, 4), got {rgba.dtype} {rgba.shape}")
