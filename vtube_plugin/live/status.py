"""The one console status line (output fps, renders, latency, tracking), rewritten in place, never scrolled.

Written from the loop's thread and, for messages such as "calibrated", from the render worker: one lock.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import TextIO


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


class StatusLine:
    def __init__(self, stream: TextIO | None = None, interval: float = 0.5):
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._shown_at: float | None = None
        self._width = 0
        self._renders = Rate()
        self._outputs = Rate()
        self._lock = threading.Lock()
        self.render_ms = 0.0
        self.on_message: Callable[[str], None] | None = None  # told every message too (the session's events)

    def frame_done(self, now: float, render_seconds: float) -> None:
        """A newly rendered frame went out."""
        self._renders.add(now)
        ms = render_seconds * 1000.0
        self.render_ms = ms if self.render_ms == 0 else self.render_ms * 0.9 + ms * 0.1

    def output_done(self, now: float) -> None:
        """A frame (new or repeated) went to the outputs."""
        self._outputs.add(now)

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
        with self._lock:
            self._shown_at = now
            self._write("\r" + text.ljust(self._width))
            self._width = len(text)

    def message(self, text: str) -> None:
        """A line of its own (calibrated, tracking lost...), above the status line."""
        if self.on_message is not None:
            self.on_message(text)
        with self._lock:
            self._write("\r" + " " * self._width + "\r" + text + "\n")
            self._width = 0
            self._shown_at = None

    def finish(self) -> None:
        with self._lock:
            if self._width:
                self._write("\n")
                self._width = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal (SIGHUP) must not end the stream or lose the recording
            pass
