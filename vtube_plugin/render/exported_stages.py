"""The OpenVINO and ONNX Runtime engines: the four per-frame stages run as exported ONNX graphs.

The per-character decomposer runs once in torch (fp32, CPU). Each stage runs the graph of its plan's form
(render/plan.py) at its plan's precision, and keeps its last outputs, so the Renderer's stage skipping works
as with torch: a head-only change runs just the rotate and edit graphs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from vtube_plugin.render.export import EXPORTED_STAGES, STAGE_IO
from vtube_plugin.render.plan import Plan, StageChoice

StageRun = Callable[..., list]  # a stage's inputs in STAGE_IO order -> its outputs


class ExportedStages:
    """folders: {form: the export holding that form's graphs} (render/export.py), for every form the plan uses."""

    label = "exported"

    def __init__(self, network: nn.Module, folders: dict[str, Path], plan: Plan, threads: int):
        self.network = network.eval().requires_grad_(False).cpu().float()
        self.folders = {form: Path(folder) for form, folder in folders.items()}
        self.plan: Plan = {}
        self.threads = threads
        self._image: np.ndarray | None = None
        self._image_tensor: Tensor | None = None
        self._out: dict[str, list[np.ndarray]] = {}
        self._compiled: dict[tuple[str, StageChoice], StageRun] = {}
        self._active: dict[str, StageRun] = {}
        for stage in EXPORTED_STAGES:
            self.use(stage, plan[stage])

    @property
    def folder(self) -> Path:
        """The export of the first stage's form (where engine caches such as TensorRT's are kept)."""
        return self.folders[self.plan[EXPORTED_STAGES[0]].form]

    def compile(self, stage: str, path: Path, precision: str) -> StageRun:
        raise NotImplementedError

    def runner(self, stage: str, choice: StageChoice) -> StageRun:
        """The stage compiled for `choice` (once; render/tuning.py times several side by side)."""
        key = (stage, choice)
        if key not in self._compiled:
            self._compiled[key] = self.compile(stage, self.folders[choice.form] / f"{stage}.onnx", choice.precision)
        return self._compiled[key]

    def use(self, stage: str, choice: StageChoice) -> None:
        self._active[stage] = self.runner(stage, choice)
        self.plan[stage] = choice
        self._out.clear()

    def drop_unused(self) -> None:
        """Forget the runners compiled for choices the plan did not take (after tuning): each holds its buffers."""
        self._compiled = {key: run for key, run in self._compiled.items() if self.plan.get(key[0]) == key[1]}

    # --- what the tuner feeds the stages with ----------------------------------------------------
    def as_input(self, values: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(values, np.float32).reshape(1, -1)

    def image(self) -> np.ndarray:
        return self._image

    def decompose(self) -> list[np.ndarray]:
        with torch.inference_mode():
            eyebrow, background = self.network.decompose(self._image_tensor)
        return [eyebrow.numpy(), background.numpy()]

    # --- frames ---------------------------------------------------------------------------------
    def set_character(self, image: Tensor) -> None:
        self._image_tensor = image.detach().to("cpu", torch.float32).contiguous()
        self._image = self._image_tensor.numpy()
        self._out.clear()

    def _run(self, stage: str, *arrays: np.ndarray) -> list[np.ndarray]:
        self._out[stage] = self._active[stage](*arrays)
        return self._out[stage]

    def run_from(self, first: int, values: np.ndarray) -> Tensor:
        pose = self.as_input(values)
        if first <= 0:
            self._out["decompose"] = self.decompose()
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

    def __init__(self, network: nn.Module, folders: dict[str, Path], plan: Plan, threads: int, target: str = "CPU"):
        import openvino as ov

        self.target = target
        self.label = "openvino" if target == "CPU" else "openvino-gpu"
        self._core = ov.Core()
        super().__init__(network, folders, plan, threads)

    def compile(self, stage: str, path: Path, precision: str) -> StageRun:
        config = {"INFERENCE_PRECISION_HINT": OPENVINO_PRECISION[precision], "PERFORMANCE_HINT": "LATENCY"}
        if self.target == "CPU":
            config["INFERENCE_NUM_THREADS"] = self.threads
        else:  # a GPU compiles its kernels on the first start (many seconds); later starts read them back
            config["CACHE_DIR"] = str(path.parent / "openvino-gpu-cache")
        request = self._core.compile_model(self._core.read_model(str(path)), self.target, config).create_infer_request()
        names, outputs = STAGE_IO[stage][0], len(STAGE_IO[stage][1])

        def run(*arrays: np.ndarray) -> list[np.ndarray]:
            request.infer(dict(zip(names, arrays)), share_inputs=True)  # no copy: the inputs stay untouched
            # Views of the request's own buffers: valid until this stage runs again, which is exactly as long
            # as the Renderer's cache keeps them (the final frame is copied in run_from).
            return [request.get_output_tensor(i).data for i in range(outputs)]

        return run


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

    def __init__(self, network: nn.Module, folders: dict[str, Path], plan: Plan, threads: int, providers: list[str]):
        self.providers = providers
        self._said_providers = False
        super().__init__(network, folders, plan, threads)

    def compile(self, stage: str, path: Path, precision: str) -> StageRun:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about providers are ours to say, once
        providers: list = []
        for name in self.providers:
            if name == "TensorrtExecutionProvider":  # building a TensorRT engine takes minutes: keep it on disk
                providers.append((name, {"trt_engine_cache_enable": True,
                                         "trt_engine_cache_path": str(path.parent / "tensorrt")}))
            else:
                providers.append(name)
        session = ort.InferenceSession(str(path), options, providers=providers)
        if not self._said_providers and session.get_providers() != ["CPUExecutionProvider"]:
            self._said_providers = True
            print(f"onnxruntime providers: {', '.join(session.get_providers())}", file=sys.stderr, flush=True)
        names = STAGE_IO[stage][0]
        return lambda *arrays: session.run(None, dict(zip(names, arrays)))
