"""Which renderer to build: the model, its weights, the device, the engine and the precision, as a value any
front end can fill."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderSettings:
    model: str = "tha3"  # tha3 or tha2
    weights: str | None = None  # folder with the model's .pt files; None: the cache `models fetch` fills
    device: str = "cpu"  # cpu, cuda or cuda:N
    precision: str = "auto"  # auto (measured fastest per stage at >= 45 dB), fp32, fp16 (CUDA) or bf16 (CPU)
    engine: str = "auto"  # auto, torch, openvino or onnxruntime (render/engine.py)
    tuning: str = "auto"  # auto: measure the plan once if not stored; cached: never wait for it (render/tuning.py)

    def load(self):
        """The ready Renderer (imports torch, loads the weights)."""
        from vtube_plugin.render.renderer import Renderer

        return Renderer.load(model=self.model, weights_dir=self.weights, device=self.device, precision=self.precision,
                             engine=self.engine, tuning=self.tuning)
