"""The live loop with a scripted in-test source (the sources' surface: context manager, latest(), stats,
name) and a stand-in renderer with the Renderer interface (size, render(pose) -> RGBA), on a test clock so
nothing waits in real time. The end-to-end run with the real renderer and a real source is in test_run_command.py.
"""

import io
import json
import re

import numpy as np
import pytest
from loop_clock import LoopClock

from vtube_plugin.live.loop import LiveLoop
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.pose import NAMES, Pose
from vtube_plugin.sources.base import SourceStats
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.none import NoSource

FPS = 30


class ScriptedSource:
    """A tracker whose face at time t is `script(t)`: blendshapes, or None while it sends nothing."""

    name = "scripted"

    def __init__(self, clock, script, head=None):
        self.clock, self.script, self.head = clock, script, head
        self.stats = SourceStats()
        self.started = self.stopped = False
        self._latest = None

    def __enter__(self):
        self.started = True
        return self

    def __exit__(self, *exc):
        self.stopped = True

    def latest(self):
        shapes = self.script(self.clock.now - 100.0)
        if shapes is not None:
            self.stats.count_packet()
            self.stats.count_frame()
            self._latest = FaceFrame(dict(shapes), head=self.head, timestamp=self.clock.now, source="scripted")
        return self._latest


class StandInRenderer:
    """The Renderer interface; its frame shows mouth_aaa as the red of an opaque square."""

    size = 32

    def __init__(self, interrupt_at=None):
        self.poses = []
        self.interrupt_at = interrupt_at

    def render(self, pose: Pose) -> np.ndarray:
        if self.interrupt_at is not None and len(self.poses) == self.interrupt_at:
            raise KeyboardInterrupt
        self.poses.append(pose)
        rgba = np.zeros((32, 32, 4), np.uint8)
        rgba[8:24, 8:24] = (round(255 * pose["mouth_aaa"]), 50, 50, 255)
        return rgba


class CollectingSink:
    def __init__(self, close_after=None):
        self.frames, self.entered, self.exited = [], False, False
        self.close_after = close_after

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc):
        self.exited = True

    def send(self, rgba):
        self.frames.append(rgba)

    @property
    def closed(self):
        return self.close_after is not None and len(self.frames) >= self.close_after


def make_loop(clock, source, tmp_path, **options):
    options.setdefault("renderer", StandInRenderer())
    options.setdefault("sinks", [CollectingSink()])
    options.setdefault("status_stream", io.StringIO())
    return LiveLoop(source=source, mapper=Mapper(load_profile("arkit")), fps=FPS, record_poses=tmp_path / "poses.jsonl",
                    clock=clock, sleep=clock.sleep, render_thread=False, **options)


def recorded(tmp_path):
    return [json.loads(line) for line in (tmp_path / "poses.jsonl").read_text(encoding="utf-8").splitlines()]


def at(rows, t):
    return min(rows, key=lambda r: abs(r["time"] - t))


def talking_then_silent_then_back(t):
    if t < 2.0 or t >= 4.0:
        return {"jawOpen": 0.5, "tongueOut": 0.2}
    return None  # the tracker stops sending from 2 s to 4 s


def test_poses_follow_the_source_ease_to_neutral_when_lost_and_follow_again(tmp_path):
    clock = LoopClock()
    source = ScriptedSource(clock, talking_then_silent_then_back)
    loop = make_loop(clock, source, tmp_path, max_frames=6 * FPS, lost_after=0.5, ease_seconds=0.5)
    summary = loop.run()

    assert summary.frames == 6 * FPS and summary.stopped_by == "max-frames"
    assert source.started and source.stopped
    rows = recorded(tmp_path)
    assert len(rows) == 6 * FPS
    assert set(rows[0]["pose"]) == set(NAMES)
    assert rows[1]["time"] - rows[0]["time"] == pytest.approx(1 / FPS, abs=1e-3)  # paced to the output fps

    assert at(rows, 1.5)["tracking"] and at(rows, 1.5)["pose"]["mouth_aaa"] > 0.95  # following: mouth open
    assert at(rows, 2.3)["tracking"] and at(rows, 2.3)["pose"]["mouth_aaa"] > 0.95  # a short gap is not a loss
    easing = [r["pose"]["mouth_aaa"] for r in rows if 2.55 <= r["time"] <= 3.0]
    assert not at(rows, 2.6)["tracking"]
    assert all(a >= b for a, b in zip(easing, easing[1:])) and 0.05 < easing[len(easing) // 2] < 0.95  # easing out
    assert at(rows, 3.5)["pose"]["mouth_aaa"] == 0.0  # neutral
    assert at(rows, 5.5)["tracking"] and at(rows, 5.5)["pose"]["mouth_aaa"] > 0.95  # back, following again


def test_the_sink_receives_what_the_renderer_drew(tmp_path):
    clock = LoopClock()
    sink = CollectingSink()
    make_loop(clock, ScriptedSource(clock, lambda t: {"jawOpen": 0.5}), tmp_path, sinks=[sink], max_frames=FPS).run()
    assert sink.entered and sink.exited and len(sink.frames) == FPS
    assert sink.frames[-1][16, 16, 0] > 240  # mouth_aaa close to 1, drawn red


def test_max_frames_stops_the_loop(tmp_path):
    clock = LoopClock()
    renderer = StandInRenderer()
    summary = make_loop(clock, NoSource(), tmp_path, renderer=renderer, max_frames=7).run()
    assert summary.frames == 7 and len(renderer.poses) == 7 and len(recorded(tmp_path)) == 7


def test_without_tracking_the_expression_layer_still_acts(tmp_path):
    class Breathing:
        def apply(self, pose, now):
            return pose.replace(breathing=0.5)

    clock = LoopClock()
    make_loop(clock, NoSource(), tmp_path, max_frames=5, expressions=Breathing()).run()
    rows = recorded(tmp_path)
    assert all(r["pose"]["breathing"] == 0.5 and not r["tracking"] for r in rows)


def test_ctrl_c_stops_cleanly_releasing_source_and_sinks(tmp_path):
    clock = LoopClock()
    source, sink = ScriptedSource(clock, lambda t: {}), CollectingSink()
    summary = make_loop(clock, source, tmp_path, sinks=[sink], renderer=StandInRenderer(interrupt_at=3)).run()
    assert summary.stopped_by == "Ctrl+C" and summary.frames == 3
    assert source.stopped and sink.exited
    assert len(recorded(tmp_path)) == 3  # the recording is complete and closed


def test_closing_the_window_stops_the_loop(tmp_path):
    clock = LoopClock()
    summary = make_loop(clock, NoSource(), tmp_path, sinks=[CollectingSink(close_after=4)]).run()
    assert summary.stopped_by == "window closed" and summary.frames == 4


class TypedCommands:
    """What ConsoleCommands returns when the user types lines: here, a fixed list, once."""

    active = False

    def __init__(self, *keys):
        self.keys = list(keys)

    def take(self):
        keys, self.keys = self.keys, []
        return keys


def test_q_stops_and_c_calibrates_the_neutral_face(tmp_path):
    clock = LoopClock()
    summary = make_loop(clock, NoSource(), tmp_path, console=TypedCommands("q")).run()
    assert summary.stopped_by == "q" and summary.frames == 0

    saved = []
    source = ScriptedSource(clock, lambda t: {"eyeBlinkLeft": 0.4}, head=(3.0, 6.0, 0.0))
    loop = make_loop(clock, source, tmp_path, console=TypedCommands("c"), calibration_frames=10,
                     on_calibrated=lambda cal: saved.append(cal) or "the test's list", max_frames=3 * FPS,
                     ease_seconds=0.1)
    loop.run()
    (calibration,) = saved
    assert calibration.frames == 10 and calibration.head == pytest.approx((3.0, 6.0, 0.0))
    assert loop.mapper.calibration is calibration
    rows = recorded(tmp_path)
    assert rows[8]["pose"]["eye_wink_left"] > 0.2 and rows[8]["pose"]["head_y"] < -0.2  # before: the rest face shows
    assert rows[-1]["pose"]["eye_wink_left"] == pytest.approx(0.0, abs=1e-3)  # after: neutral is neutral
    assert rows[-1]["pose"]["head_y"] == pytest.approx(0.0, abs=1e-3)


def test_a_calibration_that_cannot_be_saved_still_applies_and_the_stream_goes_on(tmp_path, monkeypatch):
    from vtube_plugin.mapping.calibration import save_calibration

    (tmp_path / "config").write_text("a file where the config folder should be", encoding="utf-8")
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path / "config"))
    clock = LoopClock()
    out = io.StringIO()
    source = ScriptedSource(clock, lambda t: {"eyeBlinkLeft": 0.4})
    loop = make_loop(clock, source, tmp_path, console=TypedCommands("c"), calibration_frames=10,
                     on_calibrated=lambda cal: str(save_calibration(cal, "scripted", "arkit")), max_frames=2 * FPS,
                     status_stream=out)
    summary = loop.run()
    assert summary.stopped_by == "max-frames" and summary.frames == 2 * FPS
    assert loop.mapper.calibration is not None and loop.mapper.calibration.frames == 10
    assert "calibrated for this session only: cannot save the calibration to" in out.getvalue()


def test_the_status_line_is_one_line_rewritten_in_place(tmp_path):
    clock = LoopClock()
    out = io.StringIO()
    loop = make_loop(clock, ScriptedSource(clock, lambda t: {"jawOpen": 0.1}), tmp_path, max_frames=2 * FPS,
                     status_stream=out)
    loop.run()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, ended when the loop stops
    last = text.rstrip().split("\r")[-1]
    assert "30.0 fps" in last and "render" in last and "tracking    0 ms" in last
    assert re.search(r"scripted: \d+ received, 0 dropped", last)


def test_a_file_output_gets_written(tmp_path):
    av = pytest.importorskip("av")
    from vtube_plugin.sinks.file import FileSink

    clock = LoopClock()
    path = tmp_path / "stream.mp4"
    make_loop(clock, ScriptedSource(clock, lambda t: {"jawOpen": 0.5}), tmp_path,
              sinks=[FileSink(path, (64, 64), FPS)], max_frames=20).run()
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 20 and frames[0].shape == (64, 64, 3)
    assert frames[-1][32, 32, 0] > 200 and frames[-1][2, 2, 1] > 200  # the red square over green


def test_r_cancels_a_calibration_still_waiting_for_tracking(tmp_path):
    clock = LoopClock()
    loop = make_loop(clock, NoSource(), tmp_path, console=TypedCommands("c"), max_frames=3)
    loop.run()
    assert loop._capture is not None  # no tracking: the capture waits
    loop.console = TypedCommands("r")
    loop.max_frames = 6
    loop.run()
    assert loop._capture is None and loop.mapper.calibration is None
