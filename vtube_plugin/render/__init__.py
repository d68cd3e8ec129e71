"""Rendering: `Renderer` for the app (numpy RGBA in and out), `load_poser` for code that speaks tensors."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from vtube_plugin.render.renderer import Renderer

__all__ = ["Renderer", "Poser", "load_poser"]


class Poser:
    """The tensor entry point: `pose(image, pose)` in the reference implementation's value space."""

    def __init__(self, renderer: Renderer):
        self.renderer = renderer
        self.image_size = renderer.frame_size
        self.pose_size = renderer.pose_size
        self._image: Tensor | None = None

    def pose(self, image: Tensor, pose: Tensor) -> Tensor:
        """image (1, 4, H, W) linear RGB, straight alpha, [-1, 1]; pose (1, N) -> (1, 4, H, W) float32.

        A new image resets the caches; the same image again reuses its per-character work.
        """
        if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != 4 or image.shape[2:] != (self.image_size,) * 2:
            raise ValueError(f"image must be (1, 4, {self.image_size}, {self.image_size}), got {tuple(image.shape)}")
        if pose.dim() != 2 or pose.shape != (1, self.pose_size):
            raise ValueError(f"pose must be (1, {self.pose_size}), got {tuple(pose.shape)}")
        if self._image is None or self._image.device != image.device or not torch.equal(self._image, image):
            self._image = image.detach().clone()
            self.renderer.set_character_tensor(self._image)
        return self.renderer.render_tensor(pose)


def load_poser(model: str = "tha3", weights_dir: str | Path | None = None, device: str = "cpu",
               precision: str = "fp32", engine: str = "torch") -> Poser:
    """A ready poser: THA3 (512x512, 45 values; weights from `vtube-plugin models fetch` unless given)
    or THA2 (256x256, 42 values; `weights_dir` required).

    engine: torch (default: exact fp32, as before), auto, openvino or onnxruntime; precision: fp32, auto,
    bf16 or fp16 (docs/engines.md). The tensors in and out are the same on every engine.
    """
    return Poser(Renderer.load(model=model, weights_dir=weights_dir, device=device, precision=precision,
                               engine=engine))
