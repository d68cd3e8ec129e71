"""The one console status line (output fps, renders, latency, tracking, faults that last), rewritten in place, never
scrolled, and the messages above it; both go out through live/console_writer.py, which never makes the stream wait.
Its figures (`fps`, `distinct_fps`, `render_fps`, `render_ms`, `smooth`) are what a status page reads too.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from vtube_plugin.live.console_writer import ConsoleWriter


class Rate:
    """Events per second over the last `keep` events."""

    def __init__(self, keep: int = 120):
        self._times: deque[float] = deque(maxlen=keep)

    def add(self, now: float) -> None:
        self._times.append(now)

    @property
    def per_second(self) -> float:
        times = self._times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])


class Conditions:
    """Faults that last (the tracker silent, the webcam gone, the microphone unplugged), said without a storm: one
    line when one begins, one when it ends, and meanwhile a count on the status line. Any thread may call them.

    `set(name, text)`: the condition `name` (a few words, shown on the status line) holds; `text` is said only
    when it begins; each further call while it holds counts one more (a failed read, a retry).
    `clear(name, text)`: it is over; `text` is said with how long it lasted, only if it held."""

    def __init__(self, say: Callable[[str], None], clock: Callable[[], float] = time.monotonic):
        self._say, self._clock = say, clock
        self._active: dict[str, list] = {}  # name -> [began, count]
        self._lock = threading.Lock()

    def set(self, name: str, text: str) -> None:
        with self._lock:
            held = self._active.get(name)
            if held is not None:
                held[1] += 1
                return
            self._active[name] = [self._clock(), 1]
        self._say(text)

    def clear(self, name: str, text: str) -> None:
        with self._lock:
            held = self._active.pop(name, None)
        if held is not None:
            self._say(f"{text} (after {_duration(self._clock() - held[0])})")

    def counts(self) -> dict[str, int]:
        """The conditions that hold now and how many times each was set."""
        with self._lock:
            return {name: held[1] for name, held in self._active.items()}

    def text(self) -> str:
        """For the status line: `webcam gone (12 times) | microphone gone (1 time)`, or "" when all is well."""
        return " | ".join(f"{name} ({count} time{'s' if count != 1 else ''})" for name, count in self.counts().items())


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


class StatusLine:
    """Frame rates for the status line, and what it and the messages above it show, through `writer`."""

    def __init__(self, writer: ConsoleWriter, interval: float = 0.5):
        self.writer = writer
        self.interval = interval
        self._shown_at: float | None = None
        self._renders = Rate()
        self._outputs = Rate()
        self._distinct = Rate()
        self.smooth = "off"  # --smooth: off, interpolate or extrapolate (set by the live loop)
        self._lock = threading.Lock()
        self.render_ms = 0.0
        self.conditions = Conditions(self.message)
        self.on_message: Callable[[str], None] | None = None  # told every message too (the session's events)

    def frame_done(self, now: float, render_seconds: float) -> None:
        """A newly rendered frame went out."""
        self._renders.add(now)
        ms = render_seconds * 1000.0
        self.render_ms = ms if self.render_ms == 0 else self.render_ms * 0.9 + ms * 0.1

    def output_done(self, now: float) -> None:
        """A frame (new or repeated) went to the outputs."""
        self._outputs.add(now)

    def distinct_done(self, now: float) -> None:
        """A frame that differs from the one before (a render or an in-between frame) went to the outputs."""
        self._distinct.add(now)

    @property
    def distinct_fps(self) -> float:
        """Frames per second the outputs get that are not repeats: renders and in-between frames."""
        return self._distinct.per_second

    @property
    def fps(self) -> float:
        """Frames per second the outputs get."""
        return self._outputs.per_second

    @property
    def render_fps(self) -> float:
        """Newly rendered frames per second."""
        return self._renders.per_second

    def due(self, now: float) -> bool:
        """Whether `show` would write now (so the line is only put together when it is shown)."""
        return self._shown_at is None or now - self._shown_at >= self.interval

    def show(self, text: str, now: float) -> None:
        if not self.due(now):
            return
        self._shown_at = now
        self.writer.status(text)

    def message(self, text: str) -> None:
        """A line of its own (calibrated, tracking lost...), above the status line."""
        if self.on_message is not None:
            self.on_message(text)
        self.writer.message(text)
        self._shown_at = None

    def finish(self) -> None:
        self.writer.end_status()
