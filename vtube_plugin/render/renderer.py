"""The renderer: owns the engine, the device, the precision, image conversion and the stage cache.

A character is set once (the per-character stage is cached); each frame takes a Pose and returns an
RGBA frame. A stage reruns only when its inputs changed: a pure head turn reruns the last two stages,
whichever engine (torch, OpenVINO, ONNX Runtime; render/engine.py) runs them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from vtube_plugin.errors import UserError
from vtube_plugin.pose import EYEBROW_SLICE, FACE_SLICE, Pose
from vtube_plugin.render.convert import rgba_to_tensor, tensor_to_rgba
from vtube_plugin.render.engine import PRECISIONS, EngineChoice, choose_engine, cpu_has_native_bf16, fixed_plan
from vtube_plugin.render.plan import Plan, describe_plan, plan_precisions

CHARACTER_SIZE = 512  # the app loads every character at this size, framed by docs/character-images.md
# The stages in order; each reruns when anything before it reran or its pose slice changed.
STAGES = ("decompose", "morph_eyebrows", "morph_face", "rotate", "edit")


def resolve_device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(f"unknown device '{device}': use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            raise UserError(
                f"--device {device}: CUDA is not available (this PyTorch {torch.__version__} is {build}, or no NVIDIA "
                "driver/GPU was found). Install the CUDA build of PyTorch from pytorch.org, or use --device cpu.")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) present")
    elif dev.type != "cpu":
        raise UserError(f"unsupported device '{device}': use cpu or cuda")
    return dev


def check_precision(precision: str, device: torch.device, engine: str = "torch") -> None:
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision '{precision}': choose one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type != "cuda" and engine != "openvino-gpu":
        raise UserError("fp16 needs a CUDA device; on the CPU use --precision bf16 (or fp32)")


def _say_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def make_stages(network: torch.nn.Module, weights_dir: str | Path | None, device: torch.device, engine: str,
                plan: Plan, say: Callable[[str], None], forms: set[str] | None = None):
    """The engine's stages running `plan`; `forms`: the upsampling forms to have exported (the plan's own
    when not given; the tuner asks for both)."""
    if engine == "torch":
        if device.type == "cuda" and os.environ.get("VTUBE_PLUGIN_CUDA_GRAPHS", "1") != "0":
            from vtube_plugin.render.cuda_graphs import CudaGraphStages

            return CudaGraphStages(network, device, plan)
        from vtube_plugin.render.torch_stages import TorchStages

        return TorchStages(network, device, plan)
    from vtube_plugin.models.store import require_tha3_weights
    from vtube_plugin.render.engine import LABELS
    from vtube_plugin.render.export import ensure_exported
    from vtube_plugin.render.exported_stages import OnnxRuntimeStages, OpenVINOStages, onnxruntime_providers

    network = network.float().cpu()
    weights = require_tha3_weights(weights_dir)
    folders = {form: ensure_exported(network, weights, engine_label=f"{LABELS[engine]} ({form} upsampling)",
                                     upsampling=form, say=say)
               for form in sorted(forms or {choice.form for choice in plan.values()})}
    threads = torch.get_num_threads()
    if engine == "openvino":
        return OpenVINOStages(network, folders, plan, threads)
    if engine == "openvino-gpu":
        return OpenVINOStages(network, folders, plan, threads, target="GPU")
    return OnnxRuntimeStages(network, folders, plan, threads, onnxruntime_providers(device.type))


def build_stages(network: torch.nn.Module, model: str, weights_dir: str | Path | None, device: torch.device,
                 engine: str, precision: str, say: Callable[[str], None], choice: EngineChoice | None = None,
                 tuning: str = "auto"):
    """The engine that runs the stages, with its per-stage plan; says what `auto` chose and where the plan came
    from. `choice`: what `choose_engine` already said for these arguments (it asks the installed engines for
    devices). `tuning` (for `--precision auto` on a CPU, render/tuning.py): "auto" reads the plan measured on
    this machine or measures it now, "cached" only reads it (fp32 until measured), "again" measures anew."""
    choice = choice or choose_engine(engine, device.type, model)
    if precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16(choice.engine):
        say("note: this CPU has no native bf16, so bf16 is emulated and far slower than fp32 here; "
            "--precision auto picks what is fastest")
    plan = fixed_plan(choice.engine, precision, device.type, model)
    if plan is not None:
        if engine == "auto" or precision == "auto":
            say(f"{choice.reason}; precision {describe_plan(plan)}")
        return make_stages(network, weights_dir, device, choice.engine, plan, say)
    from vtube_plugin.render.tuning import measured_stages

    stages, where = measured_stages(lambda p, forms=None: make_stages(network, weights_dir, device, choice.engine, p,
                                                                     say, forms),
                                    choice.engine, network, weights_dir, tuning, say)
    say(f"{choice.reason}; precision {where}")
    return stages


def load_network(model: str, weights_dir: str | Path | None):
    """The named network with its weights loaded strictly (on the CPU, float32)."""
    if model == "tha3":
        from vtube_plugin.models.store import require_tha3_weights
        from vtube_plugin.nn.tha3.network import THA3

        return THA3.from_dir(require_tha3_weights(weights_dir))
    if model == "tha2":
        from vtube_plugin.nn.tha2.network import HOW_TO_GET, THA2

        if not weights_dir:
            raise UserError(f"THA2 needs --weights DIR: its weights are not downloadable by this tool. {HOW_TO_GET}")
        return THA2.from_dir(Path(weights_dir))
    raise UserError(f"unknown model '{model}': choose tha3 or tha2")


class Renderer:
    """Pose + character -> RGBA frame. Build with `Renderer.load(...)`."""

    def __init__(self, network: torch.nn.Module, device: str | torch.device = "cpu", precision: str = "fp32",
                 stages=None, engine: str = "torch"):
        self.device = resolve_device(device)
        check_precision(precision, self.device, engine)
        self.precision = precision
        self.network = network
        if stages is None:
            stages = build_stages(network, "", None, self.device, "torch", precision, _say_stderr)
        self.stages = stages  # the engine: set_character(image) and run_from(first stage, pose) -> frame
        self.engine = engine
        self.plan: Plan = dict(stages.plan)
        self.stage_precisions: dict[str, str] = plan_precisions(self.plan)
        # Characters come in at `size` for every model; frames come out at the network's own `frame_size`
        # (THA2 poses the top-centre 256x256 of the character, where its head framing puts the head).
        self.size: int = CHARACTER_SIZE
        self.frame_size: int = network.image_size
        self.pose_size: int = network.pose_size
        self.last_stages_run: tuple[str, ...] = ()
        self._has_character = False
        self._decomposed = False
        self._frame: Tensor | None = None
        self._cached_pose: np.ndarray | None = None

    @classmethod
    def load(cls, model: str = "tha3", weights_dir: str | Path | None = None, device: str = "cpu",
             precision: str = "fp32", engine: str = "torch", say: Callable[[str], None] = _say_stderr,
             tuning: str = "auto") -> Renderer:
        """engine: auto, torch, openvino or onnxruntime; precision: auto (the plan measured fastest on this
        machine at >= 45 dB), fp32 (accurate), bf16 (CPU) or fp16 (CUDA); tuning: see build_stages.
        docs/engines.md says what each needs."""
        dev = resolve_device(device)
        if precision not in PRECISIONS:
            raise UserError(f"unknown precision '{precision}': choose one of {', '.join(PRECISIONS)}")
        choice = choose_engine(engine, dev.type, model)  # a missing engine is said before the slow weight load
        if dev.type == "cpu":
            from vtube_plugin.render.allocator import tune_allocator

            tune_allocator()
        network = load_network(model, weights_dir)
        stages = build_stages(network, model, weights_dir, dev, engine, precision, say, choice, tuning)
        return cls(network, dev, precision, stages=stages, engine=stages.label)

    # --- characters ---------------------------------------------------------------------------
    def set_character(self, rgba: np.ndarray) -> None:
        """uint8 (size, size, 4), as `vtube_plugin.character.load_character` returns it (or already cut to
        the network's own frame_size)."""
        if rgba.shape[:2] == (self.size, self.size):
            top, left, n = self.network.character_box
            rgba = rgba[top:top + n, left:left + n]
        elif rgba.shape[:2] != (self.frame_size, self.frame_size):
            raise ValueError(f"characters are {self.size}x{self.size}, got {rgba.shape[1]}x{rgba.shape[0]}")
        self.set_character_tensor(rgba_to_tensor(np.ascontiguousarray(rgba), self.device))

    def set_character_tensor(self, image: Tensor) -> None:
        """(1, 4, frame_size, frame_size) in network space."""
        self.stages.set_character(image)
        self._has_character = True
        self._decomposed = False
        self._frame = None
        self._cached_pose = None

    # --- frames -------------------------------------------------------------------------------
    def render(self, pose: Pose) -> np.ndarray:
        """Pose -> uint8 (frame_size, frame_size, 4) RGBA."""
        frame = self.render_tensor(pose.as_array(self.pose_size))
        if hasattr(self.stages, "rgba"):  # CUDA: converted on the GPU, copied back through pinned memory
            return self.stages.rgba()
        return tensor_to_rgba(frame)

    def render_tensor(self, pose: np.ndarray | Tensor) -> Tensor:
        """A pose of `pose_size` values -> float32 (1, 4, frame_size, frame_size) in network space."""
        if not self._has_character:
            raise RuntimeError("set a character first (set_character)")
        values = (pose.detach().float().cpu().numpy() if isinstance(pose, Tensor) else np.asarray(pose, np.float32))
        values = values.reshape(-1)[: self.pose_size].astype(np.float32)
        first = self._first_stage_to_run(values)
        if first < len(STAGES):
            self._frame = self.stages.run_from(first, values)
            self._decomposed = True
        self.last_stages_run = STAGES[first:]
        self._cached_pose = values.copy()
        return self._frame

    def _first_stage_to_run(self, values: np.ndarray) -> int:
        old = self._cached_pose
        if not self._decomposed:
            return 0
        if old is None:
            return 1
        if not np.array_equal(old[EYEBROW_SLICE], values[EYEBROW_SLICE]):
            return 1
        if not np.array_equal(old[FACE_SLICE], values[FACE_SLICE]):
            return 2
        if not np.array_equal(old, values):
            return 3
        return len(STAGES)
