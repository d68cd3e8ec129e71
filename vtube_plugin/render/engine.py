"""Which engine runs the network (torch, OpenVINO, ONNX Runtime), at which precision per stage, and why.

`choose_engine` resolves `--engine auto` among what is installed; `fixed_plan` turns a named `--precision`
into one precision and upsampling form per stage for that engine (docs/engines.md has the table); `auto` on
a CPU is measured on the machine (render/tuning.py).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from vtube_plugin.errors import UserError
from vtube_plugin.render.plan import FRAME_STAGES, Plan, StageChoice, uniform_plan

# openvino-gpu: OpenVINO on an Intel GPU (integrated or Arc); frames still arrive as CPU tensors (--device cpu).
ENGINES = ("auto", "torch", "openvino", "openvino-gpu", "onnxruntime")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

INSTALL = {
    "openvino": "pip install openvino",
    "onnxruntime": 'pip install "vtube-plugin[onnxruntime]" (CPU), "vtube-plugin[directml]" (Windows GPUs), '
                   '"vtube-plugin[onnxruntime-gpu]" (NVIDIA)',
}
INSTALL["openvino-gpu"] = INSTALL["openvino"]
LABELS = {"torch": "PyTorch", "openvino": "OpenVINO", "openvino-gpu": "OpenVINO (Intel GPU)",
          "onnxruntime": "ONNX Runtime"}


def installed(engine: str) -> bool:
    if engine == "torch":
        return True
    module = {"openvino": "openvino", "openvino-gpu": "openvino", "onnxruntime": "onnxruntime"}[engine]
    return importlib.util.find_spec(module) is not None


def openvino_gpus(devices: list[str] | None = None) -> list[str]:
    """The Intel GPUs among OpenVINO's devices here (its names: GPU, or GPU.0, GPU.1 ...); `devices`: the list
    OpenVINO gave, when the caller already has it."""
    if devices is None:
        import openvino as ov

        devices = ov.Core().available_devices
    return [name for name in devices if name.split(".")[0] == "GPU"]


@dataclass(frozen=True)
class EngineChoice:
    engine: str
    reason: str  # one line for the user: what was chosen and why


def choose_engine(requested: str, device_type: str, model: str) -> EngineChoice:
    """The engine to use; a UserError when a named one cannot run here."""
    if requested not in ENGINES:
        raise UserError(f"unknown engine '{requested}': choose one of {', '.join(ENGINES)}")
    if requested == "auto":
        if model != "tha3":
            return EngineChoice("torch", f"engine: torch (auto: {model} runs on torch; the exported engines are "
                                         "THA3's)")
        if device_type == "cuda":
            return EngineChoice("torch", "engine: torch (auto: a CUDA device; torch runs it in fp16 with CUDA graphs)")
        for engine in ("openvino", "onnxruntime"):
            if installed(engine):
                why = "the fastest CPU engine" if engine == "openvino" else "OpenVINO is not installed"
                reason = f"engine: {engine} (auto: CPU, {why}; --engine torch for the plain path)"
                if engine == "openvino" and openvino_gpus():  # not picked by itself: unchecked on our machines
                    reason += "; OpenVINO also finds an Intel GPU here: try --engine openvino-gpu"
                return EngineChoice(engine, reason)
        return EngineChoice("torch", "engine: torch (auto: neither OpenVINO nor ONNX Runtime is installed; "
                                     "`pip install openvino` makes the CPU several times faster)")
    if requested != "torch":
        if not installed(requested):
            raise UserError(f"--engine {requested}: {LABELS[requested]} is not installed. Install it with "
                            f"`{INSTALL[requested]}`, or use --engine auto")
        if model != "tha3":
            raise UserError(f"--engine {requested} runs THA3 only; {model} runs with --engine torch")
        if requested == "openvino" and device_type != "cpu":
            raise UserError("--engine openvino runs on the CPU: use --device cpu (or --engine torch for CUDA)")
        if requested == "openvino-gpu" and device_type != "cpu":
            raise UserError("--engine openvino-gpu takes --device cpu (its frames come back to the CPU); "
                            "--engine torch for CUDA")
        if requested == "openvino-gpu":
            import openvino as ov

            devices = ov.Core().available_devices  # asked once: enumerating GPUs can take a while
            if not openvino_gpus(devices):
                raise UserError("--engine openvino-gpu: OpenVINO finds no Intel GPU here (it sees: "
                                f"{', '.join(devices) or 'nothing'}). An Intel GPU needs Intel's graphics driver "
                                "(on Linux its compute runtime, intel-opencl-icd); or use --engine auto")
    return EngineChoice(requested, f"engine: {requested}")


def engine_version(engine: str) -> str:
    """The installed version of what runs the stages (part of a measured plan's key)."""
    if engine in ("openvino", "openvino-gpu"):
        import openvino as ov

        return ov.get_version()
    if engine == "onnxruntime":
        import onnxruntime as ort

        return ort.__version__
    import torch

    return torch.__version__


def cpu_has_native_bf16(engine: str) -> bool:
    """True where bf16 runs in hardware (AVX-512 BF16 or AMX); elsewhere it is emulated and slower than fp32."""
    if engine == "openvino":
        import openvino as ov

        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def fixed_plan(engine: str, precision: str, device_type: str, model: str = "tha3") -> Plan | None:
    """--precision -> the plan for the four per-frame stages (decompose runs once, in fp32 on the CPU, or in
    the network's own precision on CUDA); None where it is measured on this machine instead: `auto` for THA3
    on a CPU (render/tuning.py). A named precision is never overruled."""
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision '{precision}': choose one of {', '.join(PRECISIONS)}")
    cuda = device_type == "cuda"
    if engine == "openvino-gpu":  # a GPU computes in fp16 natively: auto is fp16, fp32 is the accurate mode
        if precision == "bf16":
            raise UserError("--engine openvino-gpu runs fp16 or fp32: use --precision auto, fp16 or fp32")
        # The folded upsampling as before: nothing has been measured on an Intel GPU yet (docs/engines.md).
        return dict.fromkeys(FRAME_STAGES, StageChoice("fp16" if precision == "auto" else precision, "folded"))
    if precision == "fp16" and not (cuda and engine == "torch"):
        if engine == "torch":
            raise UserError("fp16 needs a CUDA device; on the CPU use --precision bf16 (or fp32)")
        raise UserError(f"--engine {engine} runs fp32 graphs (OpenVINO can add bf16); fp16 is for --engine torch "
                        "on CUDA. Use --precision auto or fp32")
    if engine == "onnxruntime" and precision == "bf16":
        raise UserError("--engine onnxruntime runs the fp32 graphs: use --precision fp32 (or auto), or --engine "
                        "openvino for bf16")
    if precision == "auto":
        if cuda:
            return uniform_plan(engine, "fp16", device_type)
        if model != "tha3":  # THA2 runs fp32 on torch: its bf16 plan has not been measured to pay
            return uniform_plan(engine, "fp32", device_type)
        return None
    return uniform_plan(engine, precision, device_type)
