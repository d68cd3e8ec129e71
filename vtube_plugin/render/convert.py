"""The one place images become network tensors and back (the reference model's value space).

Network space: float (1, 4, H, W), linear-light RGB, straight alpha, every channel scaled to [-1, 1],
and fully transparent pixels set to (0, 0, 0, 0) before scaling.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: Tensor) -> Tensor:
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.pow(1.0 / 2.4) - 0.055)


def rgba_to_tensor(rgba: np.ndarray, device: torch.device | str = "cpu") -> Tensor:
    """uint8 (H, W, 4) -> float32 (1, 4, H, W) in network space, on `device`."""
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected a uint8 (H, W, 4) RGBA array, got {rgba.dtype} {rgba.shape}")
    x = rgba.astype(np.float64) / 255.0  # float64 like the reference loader, then float32
    x[..., :3] = srgb_to_linear(x[..., :3])
    x[x[..., 3] == 0] = 0.0
    t = torch.from_numpy((x * 2.0 - 1.0).astype(np.float32)).permute(2, 0, 1).unsqueeze(0)
    return t.contiguous().to(device)


# Alpha below this (what would round to 1/255) is made exactly 0. The network leaves a faint fringe (up to
# ~0.5/255 in fp32, ~1/255 in bf16) round the character; without the floor a pixel at the edge of rounding
# shows up as 1/255 in one plan and 0 in another: a haze in OBS nobody can see but every alpha check finds.
ALPHA_FLOOR = 1.5 / 255.0


def rgba8(t: Tensor) -> Tensor:
    """float (1, 4, H, W) in network space -> uint8 (H, W, 4) sRGB with straight alpha, on t's device (the CUDA
    path converts inside its graph)."""
    x = (t[0].float() + 1.0) * 0.5
    rgb = linear_to_srgb(x[:3])
    alpha = x[3:4].clamp(0.0, 1.0)
    alpha = alpha.masked_fill(alpha < ALPHA_FLOOR, 0.0)
    out = torch.cat([rgb, alpha], dim=0).mul(255.0).round().to(torch.uint8)
    return out.permute(1, 2, 0).contiguous()


def tensor_to_rgba(t: Tensor) -> np.ndarray:
    """float (1, 4, H, W) in network space -> uint8 (H, W, 4) sRGB with straight alpha."""
    return rgba8(t).cpu().numpy()
