"""The seed paper's three image operations, which every stage's output feature map drives.

partial change: alpha-blend a generated change into an image; combine: alpha-blend two images' colour
while keeping the bottom one's alpha; warp: move pixels by an appearance flow (a grid change).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def partial_change(image: Tensor, change: Tensor, alpha: Tensor) -> Tensor:
    """Where alpha is 1 take `change`, where 0 keep `image` (all channels)."""
    return change * alpha + image * (1 - alpha)


def combine(top: Tensor, bottom: Tensor, alpha: Tensor) -> Tensor:
    """Blend `top`'s RGB over `bottom`'s RGB by alpha; the result keeps `bottom`'s alpha channel."""
    rgb = top[:, 0:3] * alpha + bottom[:, 0:3] * (1 - alpha)
    return torch.cat([rgb, bottom[:, 3:4]], dim=1)


def identity_grid(n: int, h: int, w: int, dtype: torch.dtype, device: torch.device, align_corners: bool) -> Tensor:
    """grid_sample's do-nothing grid (n, h, w, 2): pixel centres in [-1, 1].

    Built from plain arithmetic on every call (cheap next to the convolutions): no cache shared between
    renderers and threads, and a traced or exported graph holds ordinary ops (affine_grid needs ONNX opset 20).
    """
    def axis(size: int) -> Tensor:
        steps = torch.arange(size, dtype=dtype, device=device)
        if align_corners:
            return steps * (2.0 / max(size - 1, 1)) - 1.0
        return (steps * 2.0 + 1.0) / size - 1.0

    ys, xs = axis(h), axis(w)
    grid = torch.stack([xs.view(1, w).expand(h, w), ys.view(h, 1).expand(h, w)], dim=-1)
    return grid.unsqueeze(0).expand(n, h, w, 2)


def warp(image: Tensor, grid_change: Tensor, align_corners: bool = False) -> Tensor:
    """Resample `image` at identity + grid_change; grid_change is (n, 2, h, w) in grid_sample's [-1, 1] units.

    Under bf16 the grid and the sampling run in fp32: a bf16 grid blurs the image visibly (its step near
    1.0 is 1/128, several pixels) and grid_sample in bf16 on the CPU is broken.
    """
    if image.dtype == torch.bfloat16 or grid_change.dtype == torch.bfloat16:
        with torch.autocast(image.device.type, enabled=False):
            return warp(image.float(), grid_change.float(), align_corners)
    n, _, h, w = image.shape
    identity = identity_grid(n, h, w, grid_change.dtype, grid_change.device, align_corners)
    grid = identity + grid_change.permute(0, 2, 3, 1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=align_corners)
