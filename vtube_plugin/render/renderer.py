"""The renderer: owns the network, the device, the precision, image conversion and the stage cache.

A character is set once (the per-character stage is cached); each frame takes a Pose and returns an
RGBA frame. A stage reruns only when its inputs changed: a pure head turn reruns the last two stages.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from vtube_plugin.errors import UserError
from vtube_plugin.pose import EYEBROW_SLICE, FACE_SLICE, Pose
from vtube_plugin.render.convert import rgba_to_tensor, tensor_to_rgba

PRECISIONS = ("fp32", "fp16", "bf16")
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


def check_precision(precision: str, device: torch.device) -> None:
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision '{precision}': choose one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type != "cuda":
        raise UserError("fp16 needs a CUDA device; on the CPU use --precision bf16 (or fp32)")


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

    def __init__(self, network: torch.nn.Module, device: str | torch.device = "cpu", precision: str = "fp32"):
        self.device = resolve_device(device)
        check_precision(precision, self.device)
        self.precision = precision
        self.network = network.eval().requires_grad_(False).to(self.device)
        if precision == "fp16":
            self.network.half()
        # Characters come in at `size` for every model; frames come out at the network's own `frame_size`
        # (THA2 poses the top-centre 256x256 of the character, where its head framing puts the head).
        self.size: int = CHARACTER_SIZE
        self.frame_size: int = network.image_size
        self.pose_size: int = network.pose_size
        self.last_stages_run: tuple[str, ...] = ()
        self._image: Tensor | None = None
        self._cache: dict[str, object] = {}
        self._cached_pose: np.ndarray | None = None

    @classmethod
    def load(cls, model: str = "tha3", weights_dir: str | Path | None = None, device: str = "cpu",
             precision: str = "fp32") -> Renderer:
        dev = resolve_device(device)
        check_precision(precision, dev)
        if dev.type == "cpu":
            from vtube_plugin.render.allocator import tune_allocator

            tune_allocator()
        return cls(load_network(model, weights_dir), dev, precision)

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
        dtype = torch.float16 if self.precision == "fp16" else torch.float32
        self._image = image.to(self.device, dtype)
        self._cache.clear()
        self._cached_pose = None

    # --- frames -------------------------------------------------------------------------------
    def render(self, pose: Pose) -> np.ndarray:
        """Pose -> uint8 (frame_size, frame_size, 4) RGBA."""
        return tensor_to_rgba(self.render_tensor(pose.as_array(self.pose_size)))

    def render_tensor(self, pose: np.ndarray | Tensor) -> Tensor:
        """A pose of `pose_size` values -> float32 (1, 4, frame_size, frame_size) in network space."""
        if self._image is None:
            raise RuntimeError("set a character first (set_character)")
        values = (pose.detach().float().cpu().numpy() if isinstance(pose, Tensor) else np.asarray(pose, np.float32))
        values = values.reshape(-1)[: self.pose_size]
        first = self._first_stage_to_run(values)
        if first < len(STAGES):
            self._run_from(first, values)
        self.last_stages_run = STAGES[first:]
        self._cached_pose = values.copy()
        return self._cache["edit"].float()  # type: ignore[union-attr]

    def _first_stage_to_run(self, values: np.ndarray) -> int:
        old = self._cached_pose
        if "decompose" not in self._cache:
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

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def _run_from(self, first: int, values: np.ndarray) -> None:
        net, cache, image = self.network, self._cache, self._image
        pose = torch.from_numpy(values).unsqueeze(0).to(self.device, image.dtype)
        with self._autocast():
            if first <= 0:
                cache["decompose"] = net.decompose(image)
            if first <= 1:
                cache["morph_eyebrows"] = net.morph_eyebrows(cache["decompose"], pose)
            if first <= 2:
                cache["morph_face"] = net.morph_face(image, cache["morph_eyebrows"], pose)
            cache["rotate"] = net.rotate(cache["morph_face"], pose)
            cache["edit"] = net.edit(cache["morph_face"], cache["rotate"], pose)
