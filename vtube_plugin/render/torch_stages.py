"""The torch engine: the network's stages run eagerly, each at its own precision (bf16 autocast per stage on CPUs).

Holds each stage's last result so the Renderer can rerun only the stages whose inputs changed.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import Tensor, nn


class TorchStages:
    """run_from(first, pose): stages `first`..4 of (decompose, morph_eyebrows, morph_face, rotate, edit)."""

    label = "torch"

    def __init__(self, network: nn.Module, device: torch.device, plan: dict[str, str]):
        self.device, self.plan = device, dict(plan)
        self.dtype = torch.float16 if "fp16" in plan.values() else torch.float32
        self.network = network.eval().requires_grad_(False).to(device, self.dtype)
        self._image: Tensor | None = None
        self._cache: dict[str, object] = {}

    def set_character(self, image: Tensor) -> None:
        self._image = image.to(self.device, self.dtype)
        self._cache.clear()

    def _precision(self, stage: str):
        if self.plan.get(stage) == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def pose_tensor(self, values: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(values, np.float32)).unsqueeze(0).to(self.device, self.dtype)

    @torch.inference_mode()
    def run_from(self, first: int, values: np.ndarray) -> Tensor:
        net, cache, image = self.network, self._cache, self._image
        pose = self.pose_tensor(values)
        if first <= 0:
            cache["decompose"] = net.decompose(image)
        if first <= 1:
            with self._precision("morph_eyebrows"):
                cache["morph_eyebrows"] = net.morph_eyebrows(cache["decompose"], pose)
        if first <= 2:
            with self._precision("morph_face"):
                cache["morph_face"] = net.morph_face(image, cache["morph_eyebrows"], pose)
        with self._precision("rotate"):
            cache["rotate"] = net.rotate(cache["morph_face"], pose)
        with self._precision("edit"):
            frame = net.edit(cache["morph_face"], cache["rotate"], pose)
        return frame.float()
