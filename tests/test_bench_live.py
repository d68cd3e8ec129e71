"""`vtube-plugin bench --live`: a replayed phone's iFacialMocap datagrams over loopback UDP through the real source,
mapper and live loop. With a stand-in renderer of known speed (50 ms a frame) the report must show what that
pipeline does: every datagram received, the output at its frame rate, renders no faster than the renderer
allows, and a latency of at least one render. Nothing is asserted on the speed of this machine.
"""

from __future__ import annotations

import time

import numpy as np

from vtube_plugin.bench.live import run_live_benchmark


class FiftyMillisecondRenderer:
    size = 64

    def __init__(self):
        self.poses = []

    def render(self, pose):
        time.sleep(0.05)
        self.poses.append(pose)
        return np.zeros((64, 64, 4), np.uint8)


def test_the_live_benchmark_replays_tracking_through_the_pipeline():
    lines: list[str] = []
    renderer = FiftyMillisecondRenderer()
    result = run_live_benchmark(renderer=renderer, seconds=3.0, fps=30.0, say=lines.append)

    assert result["datagrams_sent"] >= 120  # about 60 a second for 3 s
    assert result["datagrams_received"] == result["datagrams_sent"] and result["dropped"] == 0
    # every frame rendered went out, but for the last ones: one done but not yet handed over and one still
    # being rendered when the replay ended
    assert result["rendered"] <= len(renderer.poses) <= result["rendered"] + 2
    assert result["render_fps"] < 21  # 50 ms a frame at best
    assert result["output_fps"] > 18  # asked for 30; generous for a shared machine
    assert result["latency_p50_ms"] >= 50 and result["latency_p95_ms"] >= result["latency_p50_ms"]
    # What the pipeline adds to each frame's own render (>= 50 ms each): every latency holds one render more.
    assert 0 <= result["beyond_render_p95_ms"] <= result["latency_p95_ms"] - 50 + 1e-6
    # the replayed face moves: the mouth opens and closes over the take
    mouths = [pose["mouth_aaa"] for pose in renderer.poses]
    assert max(mouths) - min(mouths) > 0.3
    assert lines[0].startswith("live: 3 s of iFacialMocap") and "latency p95" in lines[1]
    assert lines[3].startswith("beyond each frame's own render (tracking age + wait for the output): p95 ")
    assert "one output frame period (33 ms)" in lines[3]
