"""The CUDA path: the frame's stages captured once as CUDA graphs and replayed, so a frame costs a few launches.

Static shapes make this possible: the character, the pose and every stage's result live in fixed device
buffers. One graph per way a frame can start (eyebrows changed, face changed, only head/body moved) writes
the same buffers, so stage skipping still holds. The final frame is also turned into 8-bit RGBA on the GPU
inside the graph and copied to pinned host memory asynchronously. Only built for --device cuda; a CPU
machine never imports torch.cuda from here. Untimed so far (no GPU machine was lent; docs/performance.md).
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from torch import Tensor, nn

from vtube_plugin.render.convert import rgba8
from vtube_plugin.render.plan import Plan
from vtube_plugin.render.torch_stages import TorchStages

WARMUP_RUNS = 3  # eager runs on a side stream before capture (cuDNN picks its algorithms, allocator settles)


class CudaGraphStages(TorchStages):
    label = "torch+cuda-graphs"

    def __init__(self, network: nn.Module, device: torch.device, plan: Plan):
        super().__init__(network, device, plan)
        self._graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self._pool = None
        self._stream = torch.cuda.Stream(device)
        self._copy_stream = torch.cuda.Stream(device)
        self._copied = torch.cuda.Event()
        self._static: dict[str, object] = {}
        self._host_rgba: Tensor | None = None

    # --- the character: fixed buffers, filled in place so captured graphs stay valid -------------
    @torch.inference_mode()
    def set_character(self, image: Tensor) -> None:
        image = image.to(self.device, self.dtype)
        s = self._static
        if "image" in s and s["image"].shape == image.shape:
            s["image"].copy_(image)
            eyebrow, background = self.network.decompose(s["image"])
            s["eyebrow"].copy_(eyebrow)
            s["background"].copy_(background)
        else:
            self._graphs.clear()
            s.clear()
            s["image"] = image.clone()
            eyebrow, background = self.network.decompose(s["image"])
            s["eyebrow"], s["background"] = eyebrow.clone(), background.clone()
            s["pose"] = torch.zeros(1, self.network.pose_size, device=self.device, dtype=self.dtype)
        self._ready = False  # the eyebrow/face buffers hold the old character until a full frame runs

    # --- the frame's work, written into the fixed buffers ------------------------------------------
    def _frame_from(self, first: int) -> None:
        net, s = self.network, self._static
        pose = s["pose"]
        if first <= 1:
            with self._precision("morph_eyebrows"):
                s["eyebrows"].copy_(net.morph_eyebrows((s["eyebrow"], s["background"]), pose))
        if first <= 2:
            with self._precision("morph_face"):
                s["face"].copy_(net.morph_face(s["image"], s["eyebrows"], pose))
        with self._precision("rotate"):
            rotated = net.rotate(s["face"], pose)
        with self._precision("edit"):
            frame = net.edit(s["face"], rotated, pose)
        s["frame"].copy_(frame)
        s["rgba"].copy_(rgba8(frame))

    def _allocate_outputs(self) -> None:
        net, s = self.network, self._static
        with torch.inference_mode():
            eyebrows = net.morph_eyebrows((s["eyebrow"], s["background"]), s["pose"])
            face = net.morph_face(s["image"], eyebrows, s["pose"])
            frame = net.edit(face, net.rotate(face, s["pose"]), s["pose"])
        s["eyebrows"], s["face"] = eyebrows.clone(), face.clone()
        s["frame"], s["rgba"] = frame.clone(), rgba8(frame)
        self._host_rgba = torch.empty(s["rgba"].shape, dtype=torch.uint8, pin_memory=True)

    def _capture(self, first: int) -> torch.cuda.CUDAGraph:
        self._stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self._stream), torch.inference_mode():
            for _ in range(WARMUP_RUNS):
                self._frame_from(first)
        torch.cuda.current_stream(self.device).wait_stream(self._stream)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph, pool=self._pool):
            self._frame_from(first)
        if self._pool is None:
            self._pool = graph.pool()  # the three graphs share one memory pool (they never run at once)
        return graph

    @torch.inference_mode()
    def run_from(self, first: int, values: np.ndarray) -> Tensor:
        s = self._static
        if "frame" not in s:
            self._allocate_outputs()
        if first <= 0 or not self._ready:
            first = 1  # the character's work is done in set_character; the rest reruns from the eyebrows
        s["pose"].copy_(self.pose_tensor(values))
        graph = self._graphs.get(first)
        if graph is None:
            try:
                graph = self._graphs[first] = self._capture(first)
            except RuntimeError as exc:  # a driver or op that cannot be captured: run eagerly, and say so once
                print(f"CUDA graphs unavailable ({exc}); rendering eagerly", file=sys.stderr, flush=True)
                self.__class__ = _EagerCuda
                return self.run_from(first, values)
        # The previous frame's copy to the host must finish before the replay overwrites its buffer.
        torch.cuda.current_stream(self.device).wait_event(self._copied)
        graph.replay()
        self._ready = True
        # The 8-bit frame goes to pinned host memory on its own stream; rgba() waits only for that copy.
        self._copy_stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self._copy_stream):
            self._host_rgba.copy_(s["rgba"], non_blocking=True)
            self._copied.record(self._copy_stream)
        return s["frame"].float().clone()  # a copy: the next replay overwrites the buffer

    def rgba(self) -> np.ndarray:
        """The last frame as uint8 (H, W, 4), from the asynchronous copy."""
        self._copied.synchronize()
        return self._host_rgba.numpy().copy()


class _EagerCuda(CudaGraphStages):
    """Fallback after a failed capture: the same fixed buffers, run eagerly each frame."""

    @torch.inference_mode()
    def run_from(self, first: int, values: np.ndarray) -> Tensor:
        s = self._static
        if "frame" not in s:
            self._allocate_outputs()
        if first <= 0 or not self._ready:
            first = 1
        s["pose"].copy_(self.pose_tensor(values))
        self._frame_from(first)
        self._ready = True
        self._host_rgba.copy_(s["rgba"])
        self._copied.record()
        return s["frame"].float().clone()
