"""Sample characters moved about as a user's own picture would come: scaled, shifted on a canvas of another
shape, the transparency flattened onto white or one colour, saved as JPEG."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from vtube_plugin.models.store import sample_character


def sample(name: str) -> np.ndarray:
    return np.array(Image.open(sample_character(name)).convert("RGBA"))


def moved(rgba: np.ndarray, factor: float, canvas: tuple[int, int], at: tuple[int, int],
          flatten: tuple[int, int, int] | None = None, jpeg: bool = False) -> tuple[np.ndarray, float]:
    """The picture and the scale it was really given (the scaled size is rounded to whole pixels)."""
    side = round(rgba.shape[1] * factor)
    out = Image.new("RGBA", canvas, (0, 0, 0, 0))
    out.alpha_composite(Image.fromarray(rgba, "RGBA").resize((side, side), Image.Resampling.LANCZOS), at)
    if flatten is not None:
        background = Image.new("RGBA", canvas, flatten + (255,))
        background.alpha_composite(out)
        out = background.convert("RGB")
    if jpeg:
        buffer = io.BytesIO()
        out.convert("RGB").save(buffer, "JPEG", quality=90)
        out = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return np.array(out), side / rgba.shape[1]


def silhouette_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of two alpha channels' opaque halves (alpha >= 0.5)."""
    a, b = a >= 128, b >= 128
    return float((a & b).sum() / max(1, (a | b).sum()))
