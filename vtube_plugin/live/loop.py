"""The run loop behind `vtube-plugin run`: the newest tracking frame -> pose -> rendered frame -> every output,
each output at its own frame rate whatever the render speed.

Rendering runs on its own worker thread (live/worker.py), always from the newest tracking; the loop's own
(calling, main) thread paces the outputs and hands each the newest rendered frame when its frame time comes.
While the renderer is slower than the output, `--smooth` (live/smooth_motion.py) fills the frames in between
from the optical flow between renders (worked out on live/flow_worker.py's thread), or, off, repeats the
newest. So a virtual camera gets a steady 30 fps at 10 renders a second, and a recording is real time. The
window sink needs the main thread on macOS: sinks are only ever called from the loop's thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.live.console import HELP, ConsoleCommands
from vtube_plugin.live.console_writer import ConsoleWriter
from vtube_plugin.live.flow_worker import FlowWorker
from vtube_plugin.live.inbetween import use_one_thread
from vtube_plugin.live.latency import LatencyWindow, percentile
from vtube_plugin.live.loop_jobs import LoopJobs
from vtube_plugin.live.pacing import OutputClock
from vtube_plugin.live.recorder import PoseRecorder
from vtube_plugin.live.smooth_modes import check_mode
from vtube_plugin.live.smooth_motion import Shown, Smoothing, whole
from vtube_plugin.live.status import StatusLine
from vtube_plugin.live.tracking import TrackedPose
from vtube_plugin.live.worker import Rendered, RenderWorker
from vtube_plugin.mapping.calibration import Calibration, NeutralCapture
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.pose import Pose
from vtube_plugin.sources.frame import FaceFrame

# How long, as a share of the output's frame period, an output waits for a frame being rendered before it
# repeats the one it has: enough for a fast renderer's frame to go out at once, never a stall.
HOLD = 0.5


class Source(Protocol):
    """What the loop needs of a tracking source (vtube_plugin/sources/*): a context manager that receives in its
    own thread, `latest()` the newest FaceFrame or None, `stats` (a SourceStats: packets, dropped) and a `name`.
    Optional: `say`, which the loop points at its status line's messages (a camera gone and back)."""

    name: str

    def __enter__(self): ...
    def __exit__(self, *exc): ...
    def latest(self) -> FaceFrame | None: ...


class Renderer(Protocol):
    size: int

    def render(self, pose: Pose) -> np.ndarray: ...


class Sink(Protocol):
    """An output. Optional: `fps` (its own frame rate; the loop's otherwise), `closed` (the user closed it),
    `take_keys()` (keys typed into it), `say` (the loop points it at its status line's messages: a full disk),
    and `timed = True` for `send(rgba, at=, repeat=)`: the output clock's
    time of the frame and whether it repeats the last one (a file records in real time with it)."""

    def __enter__(self): ...
    def __exit__(self, *exc): ...
    def send(self, rgba: np.ndarray) -> None: ...


class ExpressionLayer(Protocol):
    """The hook for hotkey expressions and idle life: called after the mapper on every frame, also while
    tracking is lost (so idle blinking and breathing go on)."""

    def apply(self, pose: Pose, now: float) -> Pose: ...


@dataclass
class LiveSummary:
    frames: int  # rendered frames handed to the outputs
    seconds: float
    stopped_by: str  # "max-frames", "Ctrl+C", "q", "window closed", "SIGTERM", "SIGHUP"
    output_frames: int = 0  # frames the first output got, repeats included
    output_seconds: float = 0.0  # from the first output frame to the last
    latencies: list[float] = field(default_factory=list)  # seconds, tracking arrival -> output, per frame
    beyond_render: list[float] = field(default_factory=list)  # the same less each frame's own render
    smooth: str = "off"  # --smooth: off, interpolate or extrapolate
    distinct_frames: int = 0  # frames the first output got that were not repeats: renders and in-between frames
    # Seconds from each render being done to it reaching the outputs whole: interpolate's added latency shows here
    held_back: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Rendered frames per second."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def output_fps(self) -> float:
        return (self.output_frames - 1) / self.output_seconds if self.output_seconds > 0 else 0.0

    @property
    def distinct_fps(self) -> float:
        """Pictures a second the first output got that differ from the one before (renders and in-betweens)."""
        return (self.distinct_frames - 1) / self.output_seconds if self.output_seconds > 0 else 0.0

    def held_back_ms(self, q: float) -> float | None:
        """The q-th percentile of the wait from a render being done to it reaching the outputs, in ms."""
        return percentile(self.held_back, q) * 1000.0 if self.held_back else None

    def latency_ms(self, q: float) -> float | None:
        """The q-th percentile of the latency in milliseconds (None without tracking)."""
        return percentile(self.latencies, q) * 1000.0 if self.latencies else None

    def beyond_render_ms(self, q: float) -> float | None:
        """The q-th percentile of what the pipeline adds to each frame's render, in milliseconds."""
        return percentile(self.beyond_render, q) * 1000.0 if self.beyond_render else None


class LiveLoop:
    """`max_frames` counts rendered frames handed to the outputs (what --record-poses writes a line for and a
    video file holds as distinct pictures), not the repeats the outputs get in between; one more may have
    been rendered by the time the loop stops. `render_thread=False` renders on the
    loop's thread, one frame per output frame: deterministic, for tests on a simulated clock. `smooth`: what
    the outputs get between two renders (live/smooth_motion.py), "off" repeating the newest."""

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
        console_writer: ConsoleWriter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        render_thread: bool = True,
        smooth: str = "off",
    ):
        self.source, self.mapper, self.renderer, self.sinks = source, mapper, renderer, list(sinks)
        if not self.sinks:
            raise ValueError("the live loop needs at least one output: it is paced by their frame rates")
        self.fps = fps
        # The session's writer (run_live), or one of the loop's own on status_stream (stderr by default).
        self._own_writer = console_writer is None
        self.status = StatusLine(console_writer or ConsoleWriter(status_stream))
        self.tracked = TrackedPose(mapper, lost_after, ease_seconds, say=self.status.message)
        self.expressions = expressions
        self.record_poses = record_poses
        self.max_frames = max_frames
        self.calibration_frames = calibration_frames
        self.on_calibrated = on_calibrated
        self.console = console
        self.render_thread = render_thread
        self.smooth = check_mode(smooth)
        self.status.smooth = self.smooth
        self.latency = LatencyWindow()
        self._clock, self._sleep = clock, sleep
        self._capture: NeutralCapture | None = None
        self._for_worker: queue.SimpleQueue[str] = queue.SimpleQueue()  # c and r, applied before the next pose
        self._stop_reason: str | None = None
        # Held while a frame is posed and rendered: what a command changes in the pipeline (the source, the
        # mapper, the layers, the character) changes between two frames (`between_frames()`).
        self._between = threading.RLock()
        self._jobs = LoopJobs()  # work for the loop's thread (outputs added or removed while streaming)
        self._open_sinks: list = []
        self._outputs: OutputClock | None = None
        self.started = threading.Event()  # the source and the outputs are open, frames are on their way
        self.finished = self._jobs.finished  # the loop has stopped (set until it runs again)
        self.on_tick: Callable[[float], None] | None = None  # called on the loop's thread once per output frame

    # --- changes while streaming (from any thread) ----------------------------------------------
    def between_frames(self):
        """`with loop.between_frames():` changes the pipeline while no frame is being posed or rendered."""
        return self._between

    def on_loop(self, work: Callable[[], object], timeout: float = 10.0) -> object:
        """Run `work` on the loop's thread, between two output frames, and give back its result (or raise its
        error). Before the loop runs, it runs at once; after it has stopped, a UserError."""
        return self._jobs.run(work, timeout)

    def add_output(self, sink: Sink) -> None:
        """Open `sink` and send it frames from now on (call through `on_loop` while streaming)."""
        if hasattr(sink, "say"):  # what it says mid-stream (a full disk) goes above the status line
            sink.say = self.status.message
        sink.__enter__()
        self._open_sinks.append(sink)
        self.sinks.append(sink)
        if self._outputs is not None:
            self._outputs.add(getattr(sink, "fps", None) or self.fps, self._clock())
            self._sent.append(0)

    def remove_output(self, sink: Sink) -> None:
        """Stop sending to `sink` and close it (a recording is finished); the last output cannot go."""
        if sink not in self.sinks:
            return
        if len(self.sinks) == 1:
            raise UserError("that is the only output left: the stream needs one (switch another on first)")
        index = self.sinks.index(sink)
        del self.sinks[index]
        if self._outputs is not None:
            self._outputs.remove(index)
            del self._sent[index]
        if sink in self._open_sinks:
            self._open_sinks.remove(sink)
            sink.__exit__(None, None, None)

    def _close_outputs(self, *exc) -> bool:
        """The ExitStack's exit for the outputs open now (those added while streaming included)."""
        first = None
        while self._open_sinks:
            sink = self._open_sinks.pop()
            try:
                sink.__exit__(*exc)
            except BaseException as error:  # noqa: BLE001 - the others must still be closed
                first = first or error
        if first is not None:
            raise first
        return False

    def switch_source(self, source: Source, mapper: Mapper | None = None) -> Source:
        """Use `source` (already started) from the next frame, with `mapper` when given; returns the old one,
        which the caller stops."""
        if hasattr(source, "say"):  # what it says mid-stream (a camera gone and back) goes above the status line
            source.say = self.status.message
        with self._between:
            old, self.source = self.source, source
            if mapper is not None:
                self.mapper = self.tracked.mapper = mapper
        return old

    def stop(self, reason: str) -> None:
        """End the stream cleanly at the next frame time (a signal handler calls this: SIGTERM, SIGHUP)."""
        self._stop_reason = reason

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

    def _apply(self, key: str) -> None:
        """c and r change the pose, so they run on the render worker, between two frames."""
        if key == "c":
            self.calibrate()
        elif key == "r":
            self.forget_calibration()

    def forget_calibration(self) -> None:
        """What `r` does: back to no calibration for this session (a capture still waiting is cancelled)."""
        self._capture = None
        self.mapper.calibration = None
        self.status.message("calibration forgotten for this session")

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

    # --- the render worker's side ---------------------------------------------------------------
    def _render_one(self, number: int) -> Rendered:
        with self._between:
            return self._render_locked(number)

    def _render_locked(self, number: int) -> Rendered:
        while True:
            try:
                self._apply(self._for_worker.get_nowait())
            except queue.Empty:
                break
        now = self._clock()
        frame = self.source.latest()
        if self._capture is not None:
            self._capture_step(frame)
        pose = self.tracked(frame, now)
        if self.expressions is not None:
            pose = self.expressions.apply(pose, now)
        began = self._clock()
        rgba = self.renderer.render(pose)
        finished = self._clock()
        tracking = self.tracked.tracking
        arrived = frame.timestamp if tracking and frame is not None else None
        return Rendered(number, rgba, pose, now, arrived, tracking, finished - began, finished)

    # --- the loop -----------------------------------------------------------------------------
    def facts(self, now: float) -> dict:
        """What the status line shows, as values: the one snapshot behind the line and the session's state()
        (live/running.py). Safe from any thread."""
        recent = self.latency.recent(now)
        capture, tracked = self._capture, self.tracked
        stats = getattr(self.source, "stats", None)  # sources.base.SourceStats
        return {
            "output_fps": self.status.fps, "render_fps": self.status.render_fps, "render_ms": self.status.render_ms,
            "smooth": self.smooth,  # what fills the frames between two renders (live/smooth_motion.py)
            "distinct_fps": self.status.distinct_fps,  # pictures a second that are not repeats: renders, in-betweens
            "latency": recent,  # (p50, p95) seconds over the last seconds, or None
            "calibrating": None if capture is None else (len(capture.frames), capture.count),
            "tracker": "waiting" if tracked.age is None else "tracking" if tracked.tracking else "lost",
            "age": tracked.age,
            "losses": tracked.losses,  # times tracking was lost this stream
            "source": self.source.name,
            "stats": stats.snapshot() if stats is not None else None,
            "ignored_text": stats.ignored_text() if hasattr(stats, "ignored_text") else "",
            "sender": getattr(self.source, "sender", None),
            "conditions": self.status.conditions.counts(),  # faults that last: {name: times}
        }

    def _status_text(self, now: float) -> str:
        facts = self.facts(now)
        parts = [f"{facts['output_fps']:5.1f} fps"]
        if facts["smooth"] != "off":
            parts[0] += f" ({facts['distinct_fps']:4.1f} distinct, {facts['smooth']})"
        parts.append(f"render {facts['render_fps']:4.1f}/s {facts['render_ms']:4.0f} ms")
        if facts["latency"] is not None:
            p50, p95 = facts["latency"]
            parts.append(f"latency {p50 * 1000:3.0f}/{p95 * 1000:3.0f} ms")
        age = facts["age"]
        if facts["calibrating"] is not None:
            parts.append("calibrating {}/{}".format(*facts["calibrating"]))
        elif facts["tracker"] == "waiting":
            parts.append("waiting for tracking")
        elif facts["tracker"] == "tracking":
            parts.append(f"tracking {age * 1000:4.0f} ms")
        else:
            losses = facts["losses"]
            parts.append(f"tracking lost ({age:.1f} s" + (f", {losses} times this stream)" if losses > 1 else ")"))
        stats = facts["stats"]
        if stats is not None:
            parts.append(f"{facts['source']}: {stats['packets']} received, {stats['dropped']} dropped")
            if facts["ignored_text"]:
                parts.append(facts["ignored_text"])  # someone else is sending to our port: say so, with their address
        layers = getattr(self.expressions, "status", None)  # expressions.stack.LayerStack: the voice level
        if layers is not None and layers():
            parts.append(layers())
        faults = self.status.conditions.text()
        if faults:
            parts.append(faults)
        return " | ".join(parts)

    def _send(self, index: int, shown: Shown, at: float) -> bool:
        """Hands output `index` its picture for frame time `at`; whether it was a new one (not a repeat)."""
        sink = self.sinks[index]
        repeat = self._sent[index] == shown.key
        if getattr(sink, "timed", False):
            sink.send(shown.rgba, at=at, repeat=repeat)
        else:
            sink.send(shown.rgba)
        self._sent[index] = shown.key
        return not repeat

    def _handed_out(self, rendered: Rendered, now: float, recorder: PoseRecorder | None, as_it_is: bool = True) -> None:
        """A rendered frame reached the outputs for the first time: as it is, or (smoothing) in a frame made from
        it, which has a latency and a --record-poses line of its own (`_in_between_out`)."""
        if rendered.finished_at is not None:
            self._held_back.append(max(now - rendered.finished_at, 0.0))
        self.status.frame_done(now, rendered.render_seconds)
        if not as_it_is:
            return
        latency = None if rendered.arrived is None else max(now - rendered.arrived, 0.0)
        if latency is not None:
            self.latency.add(now, latency, rendered.render_seconds)
        if recorder is not None:
            recorder.write(rendered.posed_at - self._start, rendered.pose, rendered.tracking, latency,
                           frame=None if self.smooth == "off" else "rendered")

    def _in_between_out(self, shown: Shown, now: float, recorder: PoseRecorder | None) -> None:
        """An in-between frame reached the first output: its latency is that of the tracking it stands for."""
        latency = None if shown.arrived is None else max(now - shown.arrived, 0.0)
        if latency is not None:
            self.latency.add(now, latency, shown.newer.render_seconds)
        if recorder is not None:
            recorder.write(shown.posed_at - self._start, shown.pose, shown.newer.tracking, latency, frame="in-between")

    def run(self) -> LiveSummary:
        self._stop_reason = None
        self.started.clear()
        self.finished.clear()
        self._open_sinks = []
        self.latency = LatencyWindow()
        frames, output_frames, first_output, last_output = 0, 0, None, None
        stopped_by = "max-frames"
        start = self._start = self._clock()
        rates = [getattr(sink, "fps", None) or self.fps for sink in self.sinks]
        outputs = self._outputs = OutputClock(rates, start)
        self._sent: list[object] = [0] * len(self.sinks)  # the key of the picture each output got last
        self._held_back: list[float] = []
        newest = 0  # the number of the newest rendered frame handed out
        last: Rendered | None = None  # that frame
        furthest: Shown | None = None  # the picture shown that stands for the latest moment (the run ends on it)
        for part in (self.source, *self.sinks):
            if hasattr(part, "say"):  # what a source or an output says mid-stream goes above the status line
                part.say = self.status.message
        distinct = 0
        with ExitStack() as stack:
            if self._own_writer:
                stack.enter_context(self.status.writer)  # closed last: it writes what the others said on closing
            # The workers first, so they are stopped last: on any stop the outputs and the recording are finished
            # at once, not after the render in progress (it only reads the source and uses the renderer).
            smoothing = None
            if self.smooth != "off":
                use_one_thread()
                flows = stack.enter_context(FlowWorker(1.0 / max(rates), self._clock, threaded=self.render_thread))
                smoothing = Smoothing(self.smooth, flows)
            worker = stack.enter_context(RenderWorker(self._render_one, threaded=self.render_thread,
                                                      on_rendered=None if smoothing is None else flows.landed))
            self.source.__enter__()
            stack.callback(lambda: self.source.__exit__(None, None, None))  # the source in use then
            stack.push(self._close_outputs)  # the outputs open then: added and removed ones too
            for sink in list(self.sinks):
                sink.__enter__()
                self._open_sinks.append(sink)
            recorder = (stack.enter_context(PoseRecorder(self.record_poses, self.status.message))
                        if self.record_poses else None)
            if self.console is not None and self.console.active:
                self.status.message(HELP)
            stack.callback(self._jobs.ended)  # work still waiting then gets a UserError instead of hanging
            self._jobs.started()
            self.started.set()
            try:
                while True:
                    self._jobs.run_pending()
                    if self._stop_reason is not None:
                        stopped_by = self._stop_reason
                        break
                    keys = self._commands()
                    if "q" in keys:
                        stopped_by = "q"
                        break
                    for key in keys:
                        self._for_worker.put(key)
                    now = self._clock()
                    if outputs.next_time() > now:
                        self._sleep(outputs.next_time() - now)
                        continue
                    due = outputs.due(now)
                    finishing = self.max_frames is not None and frames >= self.max_frames
                    if finishing:
                        rendered = last  # set by then; the last picture shown goes to the outputs that lack it
                    else:
                        worker.request()
                        hold = HOLD / max(outputs.rates[i] for i in due)
                        rendered = worker.wait_newer(newest, timeout=max(now + hold - self._clock(), 0.0))
                    if rendered is None:  # the outputs start with the first frame; the first render is slow
                        self.status.show("waiting for the first frame from the renderer", self._clock())
                        continue
                    if finishing:
                        # Every output ends on the same picture, and never on one from before what it showed
                        # (smoothing, the last render counted may already be behind the frames made from it).
                        pictures = {i: furthest for i in due}
                    elif smoothing is None:
                        pictures = {i: whole(rendered) for i in due}
                    else:
                        pictures = {i: smoothing.shown(rendered, at) for i, at in due.items()}
                    sent_at = self._clock()
                    new = {i: self._send(i, pictures[i], at) for i, at in due.items()}
                    for shown in pictures.values():
                        if furthest is None or shown.posed_at >= furthest.posed_at:
                            furthest = shown
                    if 0 in due:
                        output_frames += 1
                        first_output = sent_at if first_output is None else first_output
                        last_output = sent_at
                        self.status.output_done(sent_at)
                        if new[0]:
                            distinct += 1
                            self.status.distinct_done(sent_at)
                    for i, shown in sorted(pictures.items()):
                        if shown.since.number > newest:
                            # A frame finished while the next was already asked for can be overtaken before
                            # its output time; only frames handed out count (and get a --record-poses line).
                            # Smoothing, a render may reach the outputs only in the frames made from it.
                            newest, last, frames = shown.since.number, shown.since, frames + 1
                            self._handed_out(shown.since, sent_at, recorder, as_it_is=shown.whole)
                        if i == 0 and not shown.whole and new[0]:
                            self._in_between_out(shown, sent_at, recorder)
                    if self.status.due(sent_at):
                        self.status.show(self._status_text(sent_at), sent_at)
                    if self.on_tick is not None:
                        self.on_tick(sent_at)
                    if any(getattr(sink, "closed", False) for sink in self.sinks):
                        stopped_by = "window closed"
                        break
                    if self.max_frames is not None and frames >= self.max_frames and all(
                            key == furthest.key for key in self._sent):
                        break  # max_frames: the last one has reached every output
            except KeyboardInterrupt:
                stopped_by = "Ctrl+C"
            finally:
                self.status.finish()
        self.finished.set()
        output_seconds = last_output - first_output if first_output is not None else 0.0
        return LiveSummary(frames, self._clock() - start, stopped_by, output_frames, output_seconds,
                           list(self.latency.all), list(self.latency.beyond_render), self.smooth, distinct,
                           self._held_back)
