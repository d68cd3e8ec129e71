"""The run loop behind `vtube-plugin run`: each tick takes the newest tracking frame, renders one frame, sends it.

Rendering runs on the calling (main) thread: sources receive in their own threads and keep only the newest
frame, so a slow render drops stale frames instead of queueing them, and tracking never waits for the renderer.
The window sink also needs the main thread on macOS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.live.console import HELP, ConsoleCommands
from vtube_plugin.live.pacing import Pacer
from vtube_plugin.live.recorder import PoseRecorder
from vtube_plugin.live.status import StatusLine
from vtube_plugin.live.tracking import TrackedPose
from vtube_plugin.mapping.calibration import Calibration, NeutralCapture
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.pose import Pose
from vtube_plugin.sources.frame import FaceFrame


class Source(Protocol):
    """What the loop needs of a tracking source (vtube_plugin/sources/*): a context manager that receives in its
    own thread, `latest()` the newest FaceFrame or None, `stats` (a SourceStats: packets, dropped) and a `name`."""

    name: str

    def __enter__(self): ...
    def __exit__(self, *exc): ...
    def latest(self) -> FaceFrame | None: ...


class Renderer(Protocol):
    size: int

    def render(self, pose: Pose) -> np.ndarray: ...


class Sink(Protocol):
    def __enter__(self): ...
    def __exit__(self, *exc): ...
    def send(self, rgba: np.ndarray) -> None: ...


class ExpressionLayer(Protocol):
    """The hook for hotkey expressions and idle life: called after the mapper on every frame, also while
    tracking is lost (so idle blinking and breathing go on)."""

    def apply(self, pose: Pose, now: float) -> Pose: ...


@dataclass
class LiveSummary:
    frames: int
    seconds: float
    stopped_by: str  # "max-frames", "Ctrl+C", "q", "window closed"

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class LiveLoop:
    def __init__(
        self,
        *,
        source: Source,
        mapper: Mapper,
        renderer: Renderer,
        sinks: Sequence[Sink],
        fps: float = 30.0,
        lost_after: float = 0.75,
        ease_seconds: float = 0.5,
        expressions: ExpressionLayer | None = None,
        record_poses: str | Path | None = None,
        max_frames: int | None = None,
        calibration_frames: int = 60,
        on_calibrated: Callable[[Calibration], str] | None = None,
        console: ConsoleCommands | None = None,
        status_stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.source, self.mapper, self.renderer, self.sinks = source, mapper, renderer, list(sinks)
        self.fps = fps
        self.tracked = TrackedPose(mapper, lost_after, ease_seconds)
        self.expressions = expressions
        self.record_poses = record_poses
        self.max_frames = max_frames
        self.calibration_frames = calibration_frames
        self.on_calibrated = on_calibrated
        self.console = console
        self.status = StatusLine(status_stream)
        self._clock, self._sleep = clock, sleep
        self._capture: NeutralCapture | None = None

    # --- commands from the console or the preview window ---------------------------------------
    def _commands(self) -> list[str]:
        keys = self.console.take() if self.console is not None else []
        for sink in self.sinks:
            take = getattr(sink, "take_keys", None)
            if take is not None:
                keys.extend(take())
        return keys

    def calibrate(self) -> None:
        """Start capturing the neutral face from the next frames (what `c` does)."""
        self._capture = NeutralCapture(self.calibration_frames)
        self.status.message("calibrating: keep a relaxed face, looking straight ahead "
                            f"({self.calibration_frames} frames)")

    def _handle(self, key: str) -> str | None:
        if key == "q":
            return "q"
        if key == "c":
            self.calibrate()
        elif key == "r":
            self._capture = None  # also cancels a capture that is still waiting for tracking
            self.mapper.calibration = None
            self.status.message("calibration forgotten for this session")
        return None

    def _capture_step(self, frame: FaceFrame | None) -> None:
        calibration = self._capture.add(frame)  # type: ignore[union-attr]
        if calibration is None:
            return
        self._capture = None
        self.mapper.calibration = calibration
        try:
            where = self.on_calibrated(calibration) if self.on_calibrated else None
        except UserError as err:  # a config folder we cannot write must not end the stream
            self.status.message(f"calibrated for this session only: {err}")
            return
        self.status.message("calibrated" + (f": saved to {where}" if where else ""))

    # --- the loop -----------------------------------------------------------------------------
    def _status_text(self) -> str:
        parts = [f"{self.status.fps:5.1f} fps", f"render {self.status.render_ms:4.0f} ms"]
        age = self.tracked.age
        if self._capture is not None:
            parts.append(f"calibrating {len(self._capture.frames)}/{self._capture.count}")
        elif age is None:
            parts.append("waiting for tracking")
        elif self.tracked.tracking:
            parts.append(f"tracking {age * 1000:4.0f} ms")
        else:
            parts.append(f"tracking lost ({age:.1f} s)")
        stats = getattr(self.source, "stats", None)  # sources.base.SourceStats
        if stats is not None:
            parts.append(f"{self.source.name}: {stats.packets} received, {stats.dropped} dropped")
            ignored = stats.ignored_text() if hasattr(stats, "ignored_text") else ""
            if ignored:
                parts.append(ignored)  # someone else is sending to our port: say so, with their address
        layers = getattr(self.expressions, "status", None)  # expressions.stack.LayerStack: the voice level
        if layers is not None and layers():
            parts.append(layers())
        return " | ".join(parts)

    def run(self) -> LiveSummary:
        frames, stopped_by = 0, "max-frames"
        pacer = Pacer(self.fps, self._clock, self._sleep)
        start = self._clock()
        with ExitStack() as stack:
            stack.enter_context(self.source)  # type: ignore[arg-type]
            for sink in self.sinks:
                stack.enter_context(sink)  # type: ignore[arg-type]
            recorder = stack.enter_context(PoseRecorder(self.record_poses)) if self.record_poses else None
            if self.console is not None and self.console.active:
                self.status.message(HELP)
            try:
                while self.max_frames is None or frames < self.max_frames:
                    now = self._clock()
                    if "q" in [self._handle(k) for k in self._commands()]:
                        stopped_by = "q"
                        break
                    frame = self.source.latest()
                    if self._capture is not None:
                        self._capture_step(frame)
                    pose = self.tracked(frame, now)
                    if self.expressions is not None:
                        pose = self.expressions.apply(pose, now)
                    began = self._clock()
                    rgba = self.renderer.render(pose)
                    rendered = self._clock()
                    for sink in self.sinks:
                        sink.send(rgba)
                    if recorder is not None:
                        recorder.write(now - start, pose, self.tracked.tracking)
                    frames += 1
                    self.status.frame_done(rendered, rendered - began)
                    self.status.show(self._status_text(), rendered)
                    if any(getattr(sink, "closed", False) for sink in self.sinks):
                        stopped_by = "window closed"
                        break
                    pacer.wait()
            except KeyboardInterrupt:
                stopped_by = "Ctrl+C"
            finally:
                self.status.finish()
        return LiveSummary(frames, self._clock() - start, stopped_by)
