"""The OpenVINO and ONNX Runtime engines: the four per-frame stages run as exported ONNX graphs.

The per-character decomposer runs once in torch (fp32, CPU). Each stage keeps its last outputs, so the
Renderer's stage skipping works as with torch: a head-only change runs just the rotate and edit graphs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from vtube_plugin.render.export import EXPORTED_STAGES, STAGE_IO


class ExportedStages:
    label = "exported"

    def __init__(self, network: nn.Module, folder: Path, plan: dict[str, str], threads: int):
        self.network = network.eval().requires_grad_(False).cpu().float()
        self.plan, self.folder, self.threads = dict(plan), Path(folder), threads
        self._image: np.ndarray | None = None
        self._image_tensor: Tensor | None = None
        self._out: dict[str, list[np.ndarray]] = {}
        for stage in EXPORTED_STAGES:
            self.load_stage(stage, self.folder / f"{stage}.onnx", plan[stage])

    def load_stage(self, stage: str, path: Path, precision: str) -> None:
        raise NotImplementedError

    def run_stage(self, stage: str, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def set_character(self, image: Tensor) -> None:
        self._image_tensor = image.detach().to("cpu", torch.float32).contiguous()
        self._image = self._image_tensor.numpy()
        self._out.clear()

    def _run(self, stage: str, *arrays: np.ndarray) -> list[np.ndarray]:
        names = STAGE_IO[stage][0]
        self._out[stage] = self.run_stage(stage, dict(zip(names, arrays)))
        return self._out[stage]

    def run_from(self, first: int, values: np.ndarray) -> Tensor:
        pose = np.ascontiguousarray(values, np.float32).reshape(1, -1)
        if first <= 0:
            with torch.inference_mode():
                eyebrow, background = self.network.decompose(self._image_tensor)
            self._out["decompose"] = [eyebrow.numpy(), background.numpy()]
        if first <= 1:
            self._run("morph_eyebrows", *self._out["decompose"], pose)
        if first <= 2:
            self._run("morph_face", self._image, self._out["morph_eyebrows"][0], pose)
        face = self._out["morph_face"][0]
        warped, grid_change = self._run("rotate", face, pose)
        frame = self._run("edit", face, warped, grid_change, pose)[0]
        # A copy: an engine may reuse its output buffer on the next frame, and callers keep frames.
        return torch.from_numpy(np.array(frame, dtype=np.float32, copy=True))


OPENVINO_PRECISION = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}


class OpenVINOStages(ExportedStages):
    """target: "CPU", or "GPU" for an Intel GPU (--engine openvino-gpu)."""

    def __init__(self, network: nn.Module, folder: Path, plan: dict[str, str], threads: int, target: str = "CPU"):
        self.target = target
        self.label = "openvino" if target == "CPU" else "openvino-gpu"
        super().__init__(network, folder, plan, threads)

    def load_stage(self, stage: str, path: Path, precision: str) -> None:
        import openvino as ov

        if not hasattr(self, "_core"):
            self._core = ov.Core()
            self._requests = {}
        config = {"INFERENCE_PRECISION_HINT": OPENVINO_PRECISION[precision], "PERFORMANCE_HINT": "LATENCY"}
        if self.target == "CPU":
            config["INFERENCE_NUM_THREADS"] = self.threads
        else:  # a GPU compiles its kernels on the first start (many seconds); later starts read them back
            config["CACHE_DIR"] = str(self.folder / "openvino-gpu-cache")
        compiled = self._core.compile_model(self._core.read_model(str(path)), self.target, config)
        self._requests[stage] = compiled.create_infer_request()

    def run_stage(self, stage: str, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        request = self._requests[stage]
        request.infer(inputs, share_inputs=True)  # no copy: the arrays stay untouched while it runs
        # Views of the request's own buffers: valid until this stage runs again, which is exactly as long
        # as the Renderer's cache keeps them (the final frame is copied in run_from).
        return [request.get_output_tensor(i).data for i in range(len(STAGE_IO[stage][1]))]


# ONNX Runtime's providers in the order we prefer them where installed; the CPU is always last.
PROVIDER_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "DmlExecutionProvider",
                  "CoreMLExecutionProvider", "CPUExecutionProvider")
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def onnxruntime_providers(device_type: str) -> list[str]:
    """The providers to ask for: every accelerated one present (TensorRT, CUDA, DirectML, CoreML), then the CPU.
    --device cuda insists on a CUDA provider."""
    import onnxruntime as ort

    from vtube_plugin.errors import UserError

    available = set(ort.get_available_providers())
    chosen = [p for p in PROVIDER_ORDER if p in available]
    if device_type == "cuda" and not any(p in available for p in GPU_PROVIDERS):
        raise UserError("--engine onnxruntime --device cuda: this ONNX Runtime has no CUDA provider. `pip install "
                        '"vtube-plugin[onnxruntime-gpu]"` (it replaces onnxruntime), or use --engine torch')
    if device_type == "cpu" and "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


class OnnxRuntimeStages(ExportedStages):
    label = "onnxruntime"

    def __init__(self, network: nn.Module, folder: Path, plan: dict[str, str], threads: int, providers: list[str]):
        self.providers = providers
        super().__init__(network, folder, plan, threads)

    def load_stage(self, stage: str, path: Path, precision: str) -> None:
        import onnxruntime as ort

        if not hasattr(self, "_sessions"):
            self._sessions = {}
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about providers are ours to say, once
        providers: list = []
        for name in self.providers:
            if name == "TensorrtExecutionProvider":  # building a TensorRT engine takes minutes: keep it on disk
                providers.append((name, {"trt_engine_cache_enable": True,
                                         "trt_engine_cache_path": str(self.folder / "tensorrt")}))
            else:
                providers.append(name)
        session = ort.InferenceSession(str(path), options, providers=providers)
        self._sessions[stage] = session
        if stage == EXPORTED_STAGES[0] and session.get_providers() != ["CPUExecutionProvider"]:
            print(f"onnxruntime providers: {', '.join(session.get_providers())}", file=sys.stderr, flush=True)

    def run_stage(self, stage: str, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._sessions[stage].run(None, inputs)
