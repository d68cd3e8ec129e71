"""`vtube-plugin bench --encode`: what each output costs per frame on top of the render, measured on real frames.

Frames are rendered first (the head moves, so the video encoders see real motion); then each output's own work
is timed on them: the browser output's PNG (and WebP for comparison), video files, the virtual camera's compositing.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

VIDEO_FRAMES = 60  # encoders buffer frames (x264's lookahead): time enough of them, the final flush included


def _median_ms(work: Callable[[np.ndarray], object], frames: list[np.ndarray], rounds: int = 3) -> float:
    work(frames[0])  # warm-up: codec tables, first allocations
    times = []
    for _ in range(rounds):
        for frame in frames:
            start = time.perf_counter()
            work(frame)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _webp(rgba: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "WEBP", lossless=True, method=0, quality=0)
    return out.getvalue()


def _video_ms(suffix: str, frames: list[np.ndarray]) -> float:
    """Mean ms per frame of writing a whole file: compositing, encoding and the encoder's final flush."""
    from vtube_plugin.sinks.video import VideoWriter

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        with VideoWriter(Path(folder) / f"bench{suffix}", fps=30) as writer:
            for i in range(VIDEO_FRAMES):
                writer.write(frames[i % len(frames)])
        return (time.perf_counter() - start) * 1000 / VIDEO_FRAMES


def run_encode_benchmark(*, frames: int, warmup: int, device: str, engine: str, precision: str, character: Path | None,
                         say=print) -> dict[str, dict]:
    from vtube_plugin.bench.run import head_only_sequence, machine_line
    from vtube_plugin.character import load_character
    from vtube_plugin.models.store import sample_character
    from vtube_plugin.render import Renderer
    from vtube_plugin.render.convert import tensor_to_rgba
    from vtube_plugin.sinks.browser import encode_png
    from vtube_plugin.sinks.compose import Background, Compositor

    renderer = Renderer.load(device=device, engine=engine, precision=precision)
    renderer.set_character(load_character(Path(character) if character else sample_character(), renderer.size))
    rendered, render_ms = [], []
    for i, pose in enumerate(head_only_sequence(frames + warmup)):
        start = time.perf_counter()
        rgba = tensor_to_rgba(renderer.render_tensor(pose))
        if i >= warmup:
            render_ms.append((time.perf_counter() - start) * 1000)
            rendered.append(rgba)
    size = rendered[0].shape[1], rendered[0].shape[0]
    camera = Compositor(size, Background())
    camera_720 = Compositor((1280, 720), Background())

    rows = {
        "browser: PNG (what it sends)": {"ms": _median_ms(encode_png, rendered),
                                         "kb": statistics.median(len(encode_png(f)) for f in rendered) / 1024},
        "browser: WebP lossless (compared)": {"ms": _median_ms(_webp, rendered),
                                              "kb": statistics.median(len(_webp(f)) for f in rendered) / 1024},
        "file .mp4 (H.264 crf 18)": {"ms": _video_ms(".mp4", rendered)},
        "file .webm (VP9)": {"ms": _video_ms(".webm", rendered)},
        f"virtualcam: compose {size[0]}x{size[1]}": {"ms": _median_ms(camera, rendered)},
        "virtualcam: compose 1280x720": {"ms": _median_ms(camera_720, rendered)},
        "spout/syphon (before the GPU upload)": {"ms": _median_ms(np.ascontiguousarray, rendered)},
    }
    render = statistics.median(render_ms)
    say(f"machine: {machine_line(device)}")
    say(f"frames: {len(rendered)} rendered {size[0]}x{size[1]} frames (only the head moves), render median "
        f"{render:.1f} ms on {device} {engine} {precision}; video: {VIDEO_FRAMES} frames written per file")
    say("")
    say(f"{'output':36s} {'ms/frame':>9s} {'% of render':>12s} {'KB/frame':>9s}")
    for name, row in rows.items():
        kb = f"{row['kb']:9.0f}" if "kb" in row else f"{'-':>9s}"
        say(f"{name:36s} {row['ms']:9.2f} {100 * row['ms'] / render:11.1f}% {kb}")
    return {"render_ms": render, "outputs": rows}
