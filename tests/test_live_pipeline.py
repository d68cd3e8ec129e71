"""The live pipeline when rendering is slower than the outputs: the render worker on its own thread, outputs
paced at their own frame rate repeating the newest frame, real-time recordings, and the latency measured from
a tracking frame's arrival to its rendered frame reaching the outputs.

The slow renderer is a stand-in with the Renderer interface that takes 100 ms a frame (it sleeps), so these
tests run in real time on the real loop and the real file writer; the bounds are generous because the test
machine is shared, and nothing asserts on speed: only on what the outputs got against the loop's own clock.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from loop_clock import LoopClock

from vtube_plugin.live.loop import LiveLoop
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.sinks.file import FileSink
from vtube_plugin.sinks.video import partial_name
from vtube_plugin.sources.base import SourceStats
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.none import NoSource

FPS = 30


class SlowRenderer:
    """100 ms a frame, and each frame shows its own number as the red of an opaque square."""

    size = 64

    def __init__(self, seconds: float = 0.1):
        self.seconds = seconds
        self.count = 0

    def render(self, pose):
        time.sleep(self.seconds)
        self.count += 1
        rgba = np.zeros((64, 64, 4), np.uint8)
        rgba[16:48, 16:48] = (min(self.count * 8, 255), 40, 40, 255)
        return rgba


class TimedSink:
    """Keeps what the loop handed over: the frame time on the output clock, the picture, whether it repeats."""

    timed = True

    def __init__(self):
        self.frames: list[tuple[float, np.ndarray, bool]] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def send(self, rgba, at, repeat):
        self.frames.append((at, rgba, repeat))


def loop_with(renderer, sinks, **options):
    return LiveLoop(source=options.pop("source", NoSource()), mapper=Mapper(load_profile("arkit")),
                    renderer=renderer, sinks=sinks, fps=FPS, status_stream=io.StringIO(), **options)


def test_a_slow_renderer_still_gives_the_output_its_frame_rate():
    renderer, sink = SlowRenderer(), TimedSink()
    summary = loop_with(renderer, [sink], max_frames=12).run()

    assert summary.frames == 12 and 12 <= renderer.count <= 13  # one more may be under way at the stop
    times = [at for at, _, _ in sink.frames]
    steps = [round((b - a) * FPS, 6) for a, b in zip(times, times[1:])]
    # Every output frame time is one period after the one before (a skipped one would be a step of 2 or more):
    # the output got its 30 fps while rendering managed about 10.
    assert all(step >= 1 and step == int(step) for step in steps), steps
    assert sorted(steps)[len(steps) // 2] == 1, steps
    assert len(sink.frames) >= 2 * summary.frames, steps  # about 3 output frames per render
    new = [rgba for _, rgba, repeat in sink.frames if not repeat]
    assert len(new) == 12  # every rendered frame went out once as new, in order, and was then repeated
    assert [int(rgba[32, 32, 0]) for rgba in new] == [min(n * 8, 255) for n in range(1, 13)]
    repeats = [(rgba, previous) for (_, rgba, repeat), (_, previous, _) in zip(sink.frames[1:], sink.frames) if repeat]
    assert repeats and all(rgba is previous for rgba, previous in repeats)
    # Counted against the wall clock, with room for a busy machine: well above the 10 renders a second.
    assert summary.output_fps > 18 and summary.fps < 12, (summary.output_fps, summary.fps)


def test_a_recording_is_real_time_however_slow_the_renderer(tmp_path):
    path = tmp_path / "take.mp4"
    renderer = SlowRenderer()
    started = time.monotonic()
    summary = loop_with(renderer, [FileSink(path, (64, 64), FPS)], max_frames=30).run()
    wall = time.monotonic() - started

    assert summary.frames == 30 and summary.output_frames >= 75  # 3 s at 30 fps, about 90 (repeats included)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = list(container.decode(video=0))
        duration = float(stream.duration * stream.time_base)
    # Each rendered frame is in the file once and shows until the next one: 30 pictures lasting the 3 s the
    # take lasted (to the frame), not 30 frames of 1/30 s (a 1 s video).
    assert len(decoded) == 30
    assert duration == pytest.approx(summary.output_seconds + 1 / FPS, abs=0.2)
    assert 2.7 < duration <= wall
    assert [round(f.to_ndarray(format="rgb24")[32, 32, 0] / 8) for f in decoded[:5]] == [1, 2, 3, 4, 5]
    starts = [float(f.pts * f.time_base) for f in decoded]
    assert starts == sorted(starts) and starts[-1] > 2.4  # shown at their real times
    assert not partial_name(path).exists()


class ArrivedEarlier:
    """A tracker whose newest frame always arrived `age` seconds before the loop looks (the loop's clock)."""

    name = "scripted"

    def __init__(self, clock, age):
        self.clock, self.age = clock, age
        self.stats = SourceStats()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def latest(self):
        return FaceFrame({"jawOpen": 0.4}, timestamp=self.clock.now - self.age, source="scripted")


class InstantRenderer:
    size = 32

    def render(self, pose):
        return np.zeros((32, 32, 4), np.uint8)


def test_the_status_line_and_the_pose_recording_carry_the_latency(tmp_path):
    clock = LoopClock()
    out = io.StringIO()
    poses = tmp_path / "poses.jsonl"
    loop = LiveLoop(source=ArrivedEarlier(clock, 0.045), mapper=Mapper(load_profile("arkit")),
                    renderer=InstantRenderer(), sinks=[TimedSink()], fps=FPS, record_poses=poses, max_frames=2 * FPS,
                    status_stream=out, clock=clock, sleep=clock.sleep, render_thread=False)
    summary = loop.run()

    rows = [json.loads(line) for line in poses.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2 * FPS and all(row["tracking"] for row in rows)
    assert {row["latency_ms"] for row in rows} == {45.0}  # arrived 45 ms before the frame went out
    assert set(rows[0]) == {"time", "tracking", "pose", "latency_ms"}
    last = out.getvalue().rstrip().split("\r")[-1]
    assert "latency  45/ 45 ms" in last  # median / 95th percentile of the last seconds
    assert summary.latency_ms(50) == pytest.approx(45.0) and summary.latency_ms(95) == pytest.approx(45.0)


def test_without_tracking_there_is_no_latency_to_show(tmp_path):
    clock = LoopClock()
    poses = tmp_path / "poses.jsonl"
    summary = LiveLoop(source=NoSource(), mapper=Mapper(load_profile("arkit")), renderer=InstantRenderer(),
                       sinks=[TimedSink()], fps=FPS, record_poses=poses, max_frames=3, status_stream=io.StringIO(),
                       clock=clock, sleep=clock.sleep, render_thread=False).run()
    rows = [json.loads(line) for line in poses.read_text(encoding="utf-8").splitlines()]
    assert [row["latency_ms"] for row in rows] == [None, None, None]
    assert summary.latency_ms(50) is None


def test_an_error_in_the_render_worker_stops_the_stream_and_keeps_the_recording(tmp_path):
    class Failing(SlowRenderer):
        def render(self, pose):
            if self.count == 5:
                raise RuntimeError("the GPU went away")
            return super().render(pose)

    path = tmp_path / "take.mp4"
    with pytest.raises(RuntimeError, match="the GPU went away"):
        loop_with(Failing(seconds=0.02), [FileSink(path, (64, 64), FPS)]).run()
    kept = partial_name(path)
    assert not path.exists() and kept.is_file()  # named as what it is: a recording that did not finish
    with av.open(str(kept)) as container:
        assert len(list(container.decode(video=0))) == 5


SIGNALS_CHILD = """
import os, signal, sys, time
from vtube_plugin.live.signals import stop_on_signals
reasons = []
before = signal.getsignal(signal.SIGTERM)
with stop_on_signals(reasons.append):
    os.kill(os.getpid(), signal.SIGHUP)
    os.kill(os.getpid(), signal.SIGTERM)
    deadline = time.monotonic() + 5
    while len(reasons) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # handlers run between bytecodes of the main thread
print(",".join(reasons), signal.getsignal(signal.SIGTERM) is before)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on Windows")
def test_sighup_and_sigterm_become_a_clean_stop():
    # In a fresh interpreter, as `vtube-plugin run` is: signals sent to the test process itself would also reach
    # the threads that native libraries loaded by other tests keep running.
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", SIGNALS_CHILD], capture_output=True, text=True, timeout=60,
                            cwd=root, env=dict(os.environ, PYTHONPATH=str(root)))
    assert result.returncode == 0, result.stderr
    # both became a stop, in order, and the previous handler is put back after the stream
    assert result.stdout.split() == ["SIGHUP,SIGTERM", "True"]


def test_a_stop_request_ends_the_loop_with_its_reason():
    class StopsAfterThree(TimedSink):
        def send(self, rgba, at, repeat):
            super().send(rgba, at, repeat)
            if len(self.frames) == 3:
                loop.stop("SIGTERM")

    sink = StopsAfterThree()
    loop = loop_with(SlowRenderer(seconds=0.0), [sink])
    summary = loop.run()
    assert summary.stopped_by == "SIGTERM" and len(sink.frames) == 3


def test_the_virtual_camera_gets_its_frame_rate_from_a_slow_renderer():
    pyvirtualcam = pytest.importorskip("pyvirtualcam")
    from test_virtualcam import RecordingBackend

    from vtube_plugin.sinks.virtualcam import VirtualCameraSink

    RecordingBackend.opened.clear()
    pyvirtualcam.register_backend("vtube-live-test", RecordingBackend)
    try:
        camera = VirtualCameraSink(64, 64, FPS, backend="vtube-live-test")
        summary = loop_with(SlowRenderer(), [camera], max_frames=8).run()
    finally:
        pyvirtualcam.camera.BACKENDS.pop("vtube-live-test", None)
    (device,) = RecordingBackend.opened
    assert device.closed and summary.frames == 8
    assert len(device.frames) >= 2 * 8  # about 3 camera frames per render: the newest one repeated
    distinct = [f for f, before in zip(device.frames, [None, *device.frames]) if before is None or (f != before).any()]
    assert len(distinct) == 8  # each render shows up once, then repeats until the next


def test_max_frames_counts_frames_handed_out_even_when_one_is_overtaken(tmp_path):
    class SlowFirst(SlowRenderer):
        """The first frame is slow (a warm-up), the others instant: the frame asked for meanwhile is done at
        once, before the first one's output time, and overtakes it."""

        def render(self, pose):
            self.seconds = 0.6 if self.count == 0 else 0.0
            return super().render(pose)

    poses, sink = tmp_path / "poses.jsonl", TimedSink()
    summary = LiveLoop(source=NoSource(), mapper=Mapper(load_profile("arkit")), renderer=SlowFirst(), sinks=[sink],
                       fps=10, record_poses=poses, max_frames=5, status_stream=io.StringIO()).run()
    rows = poses.read_text(encoding="utf-8").splitlines()
    new = [rgba for _, rgba, repeat in sink.frames if not repeat]
    assert summary.frames == 5 and len(rows) == 5 and len(new) == 5  # one line and one picture per frame shown


def test_each_output_keeps_its_own_frame_times_and_a_late_wake_up_skips_what_it_missed():
    from vtube_plugin.live.pacing import OutputClock

    clock = OutputClock([30.0, 10.0], start=0.0)
    assert clock.due(0.0) == {0: 0.0, 1: 0.0}
    assert clock.next_time() == pytest.approx(1 / 30)
    assert clock.due(1 / 30) == {0: pytest.approx(1 / 30)}  # the 10 fps output is not due yet
    assert clock.due(0.1) == {0: pytest.approx(3 / 30), 1: pytest.approx(0.1)}  # 2/30 was missed: skipped
    assert clock.due(0.1) == {}  # nothing twice
    late = clock.due(0.35)  # a long stall: each output shows its newest frame time, no burst to catch up
    assert late == {0: pytest.approx(10 / 30), 1: pytest.approx(0.3)}
    assert clock.next_time() == pytest.approx(11 / 30)
