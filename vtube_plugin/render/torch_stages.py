"""The torch engine: the network's stages run eagerly, each in its plan's precision (bf16 autocast per stage on
CPUs) and upsampling form (render/plan.py).

Holds each stage's last result so the Renderer can rerun only the stages whose inputs changed.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import Tensor, nn

from vtube_plugin.nn.encoder_decoder import set_upsampling
from vtube_plugin.render.plan import FRAME_STAGES, Plan, StageChoice


class TorchStages:
    """run_from(first, pose): stages `first`..4 of (decompose, morph_eyebrows, morph_face, rotate, edit)."""

    label = "torch"

    def __init__(self, network: nn.Module, device: torch.device, plan: Plan):
        self.device = device
        self.dtype = torch.float16 if any(c.precision == "fp16" for c in plan.values()) else torch.float32
        self.network = network.eval().requires_grad_(False).to(device, self.dtype)
        self._image: Tensor | None = None
        self._cache: dict[str, object] = {}
        self.plan: Plan = {}
        for stage in FRAME_STAGES:
            self.use(stage, plan[stage])

    def _module(self, stage: str) -> nn.Module:
        return getattr(self.network, self.network.stage_modules[stage])

    def _precision(self, stage: str, choice: StageChoice | None = None):
        if (choice or self.plan[stage]).precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def use(self, stage: str, choice: StageChoice) -> None:
        self.plan[stage] = choice
        set_upsampling(self._module(stage), choice.form)
        self._cache.clear()

    def drop_unused(self) -> None:
        """Nothing is compiled per choice in eager torch."""

    def runner(self, stage: str, choice: StageChoice):
        """The stage run as `choice` says, on flat inputs (what render/tuning.py times side by side)."""
        from vtube_plugin.render.export import StageModule

        module, flat = self._module(stage), StageModule(self.network, stage)

        @torch.inference_mode()
        def run(*inputs: Tensor) -> list[Tensor]:
            set_upsampling(module, choice.form)
            try:
                with self._precision(stage, choice):
                    out = flat(*inputs)
            finally:
                set_upsampling(module, self.plan[stage].form)
            return list(out) if isinstance(out, tuple) else [out]

        return run

    # --- what the tuner feeds the stages with ----------------------------------------------------
    def as_input(self, values: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(values, np.float32)).unsqueeze(0).to(self.device, self.dtype)

    pose_tensor = as_input

    def image(self) -> Tensor:
        return self._image

    @torch.inference_mode()
    def decompose(self) -> list[Tensor]:
        return list(self.network.decompose(self._image))

    # --- frames ---------------------------------------------------------------------------------
    def set_character(self, image: Tensor) -> None:
        self._image = image.to(self.device, self.dtype)
        self._cache.clear()

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
