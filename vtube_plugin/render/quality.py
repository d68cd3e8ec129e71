"""How close two frames are: the one PSNR every engine, plan and benchmark is judged by."""

from __future__ import annotations

import numpy as np

# Every engine and precision plan must stay at or above this against fp32 (and the authors' reference).
MIN_PSNR_DB = 45.0


def premultiplied_psnr(a, b) -> float:
    """PSNR of two network-space RGBA frames (numpy arrays or tensors), compared in [0, 1] with RGB
    premultiplied by alpha (colour hidden under transparent pixels does not count)."""
    def prem(x):
        x = np.asarray(x.float().cpu() if hasattr(x, "float") and not isinstance(x, np.ndarray) else x)
        x = (x.astype(np.float64) + 1) / 2
        return np.concatenate([x[:, :3] * x[:, 3:4], x[:, 3:4]], axis=1)

    mse = float(np.mean((prem(a) - prem(b)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)
