"""The network's per-frame stages as ONNX files, exported once and cached beside the weights.

Each stage (morph_eyebrows, morph_face, rotate, edit) is one static-shape fp32 graph (opset 17, the
TorchScript exporter). The folder's name is a key over the weight files, our network code and torch's
version, so a change to any of them exports again instead of running a stale graph.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from vtube_plugin.errors import UserError
from vtube_plugin.nn.encoder_decoder import set_upsampling

OPSET = 17
EXPORT_VERSION = 1  # bump when the stage wrappers below change what a graph computes
EXPORTED_STAGES = ("morph_eyebrows", "morph_face", "rotate", "edit")
# The names each graph's inputs and outputs carry, in order (the engines feed them by name).
STAGE_IO = {
    "morph_eyebrows": (("eyebrow", "background", "pose"), ("eyebrows",)),
    "morph_face": (("image", "eyebrows", "pose"), ("face",)),
    "rotate": (("face", "pose"), ("warped", "grid_change")),
    "edit": (("face", "warped", "grid_change", "pose"), ("frame",)),
}
EXPORT_SECONDS = 25  # about how long a first export takes on a 2-core machine (said to the user)
KEEP_EXPORTS = 3  # older exports (other code or weights) are removed beyond this many: each is ~45 MB


class StageModule(nn.Module):
    """One stage of `network` with flat tensor inputs and outputs, as the exporter needs."""

    def __init__(self, network: nn.Module, stage: str):
        super().__init__()
        self.network, self.stage = network, stage

    def forward(self, *inputs: Tensor):
        net = self.network
        if self.stage == "morph_eyebrows":
            eyebrow, background, pose = inputs
            return net.morph_eyebrows((eyebrow, background), pose)
        if self.stage == "morph_face":
            return net.morph_face(*inputs)
        if self.stage == "rotate":
            return net.rotate(*inputs)
        face, warped, grid_change, pose = inputs
        return net.edit(face, (warped, grid_change), pose)


def _code_hash() -> str:
    """Our network code (every file of vtube_plugin/nn) and this file: what decides the graphs' contents."""
    digest = hashlib.sha256()
    nn_dir = Path(__file__).resolve().parents[1] / "nn"
    for path in sorted(nn_dir.rglob("*.py")) + [Path(__file__).resolve()]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def export_key(network: nn.Module, weights_dir: Path, precision: str = "fp32", upsampling: str = "folded") -> str:
    """A short hash naming one export: the weight files (declared sha256, size and modification time, so a
    replaced file is noticed without hashing 58 MB on every start), our code, torch's version, the precision
    and the form of the upsampling (nn.encoder_decoder.set_upsampling)."""
    parts: dict[str, object] = {"version": EXPORT_VERSION, "opset": OPSET, "torch": torch.__version__.split("+")[0],
                                "precision": precision, "upsampling": upsampling,
                                "model": type(network).__name__, "code": _code_hash()}
    for attr, weight in sorted(network.weights.items()):
        path = Path(weights_dir) / weight.name
        stat = path.stat()
        parts[attr] = [weight.sha256, stat.st_size, stat.st_mtime_ns]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def export_root() -> Path:
    from vtube_plugin.models.store import cache_dir

    return cache_dir() / "tha3" / "onnx"


def sample_inputs(network: nn.Module) -> dict[str, tuple[Tensor, ...]]:
    """Inputs of the right static shapes for each stage (values do not matter to the tracer)."""
    size = network.image_size
    image = torch.zeros(1, 4, size, size)
    pose = torch.zeros(1, network.pose_size)
    with torch.inference_mode():
        eyebrow, background = network.decompose(image)
        eyebrows = network.morph_eyebrows((eyebrow, background), pose)
        face = network.morph_face(image, eyebrows, pose)
        warped, grid_change = network.rotate(face, pose)
    return {"morph_eyebrows": (eyebrow, background, pose), "morph_face": (image, eyebrows, pose),
            "rotate": (face, pose), "edit": (face, warped, grid_change, pose)}


def _say_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _prune(root: Path, keep: Path) -> None:
    """Drop all but the newest KEEP_EXPORTS exports (always keeping `keep`): stale keys are never read again."""
    others = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[KEEP_EXPORTS - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def ensure_exported(network: nn.Module, weights_dir: Path, *, engine_label: str, precision: str = "fp32",
                    upsampling: str = "folded", root: Path | None = None,
                    say: Callable[[str], None] = _say_stderr, stages: tuple[str, ...] = EXPORTED_STAGES) -> Path:
    """The folder holding the four stage graphs for this network, exporting them first when missing.
    upsampling: the form of the upsampling to export (nn.encoder_decoder.set_upsampling).

    Exports into a temporary folder and renames it into place, so two processes starting at once never
    read a half-written file (the loser of the rename drops its copy).
    """
    root = Path(root) if root is not None else export_root()
    folder = root / export_key(network, weights_dir, precision, upsampling)
    if all((folder / f"{stage}.onnx").is_file() for stage in stages):
        return folder
    say(f"preparing the {engine_label} engine once (~{EXPORT_SECONDS} s): exporting the network to ONNX in {folder}")
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = root / f".{folder.name}.{os.getpid()}.tmp"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
    except OSError as exc:
        raise UserError(f"cannot write the exported network to {root} ({exc.strerror or exc}); free some space or "
                        "set VTUBE_PLUGIN_CACHE to a writable folder, or use --engine torch") from None
    started = time.perf_counter()
    try:
        set_upsampling(network, upsampling)
        inputs = sample_inputs(network)
        for stage in stages:
            t0 = time.perf_counter()
            names_in, names_out = STAGE_IO[stage]
            with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
                # The tracer's notes (legacy exporter, InstanceNorm's train flag, shape checks turned into
                # constants) are all expected with static shapes; a user should not read them on first start.
                warnings.simplefilter("ignore")
                torch.onnx.export(StageModule(network, stage).eval(), inputs[stage], str(work / f"{stage}.onnx"),
                                  opset_version=OPSET, dynamo=False, input_names=list(names_in),
                                  output_names=list(names_out), do_constant_folding=True)
            say(f"  {stage}: exported in {time.perf_counter() - t0:.1f} s")
        (work / "manifest.json").write_text(json.dumps(
            {"key": folder.name, "stages": {s: {"inputs": STAGE_IO[s][0], "outputs": STAGE_IO[s][1]}
                                            for s in stages},
             "weights": str(weights_dir), "torch": torch.__version__, "opset": OPSET}, indent=2))
        try:
            work.rename(folder)
        except OSError:  # another process finished first (or a stale partial folder): keep a complete one
            if not all((folder / f"{stage}.onnx").is_file() for stage in stages):
                shutil.rmtree(folder, ignore_errors=True)
                work.rename(folder)
    except OSError as exc:
        raise UserError(f"cannot write the exported network to {root} ({exc.strerror or exc}); free some space or "
                        "set VTUBE_PLUGIN_CACHE to a writable folder, or use --engine torch") from None
    finally:
        set_upsampling(network, "folded")
        shutil.rmtree(work, ignore_errors=True)
    _prune(root, folder)
    say(f"  done in {time.perf_counter() - started:.0f} s; later starts reuse it")
    return folder
