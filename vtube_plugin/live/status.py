"""The one console status line (fps, render time, tracking latency), rewritten in place, never scrolled."""

from __future__ import annotations

import sys
from collections import deque
from typing import TextIO


class StatusLine:
    def __init__(self, stream: TextIO | None = None, interval: float = 0.5):
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._shown_at: float | None = None
        self._width = 0
        self._frame_times: deque[float] = deque(maxlen=120)
        self.render_ms = 0.0

    def frame_done(self, now: float, render_seconds: float) -> None:
        self._frame_times.append(now)
        ms = render_seconds * 1000.0
        self.render_ms = ms if self.render_ms == 0 else self.render_ms * 0.9 + ms * 0.1

    @property
    def fps(self) -> float:
        times = self._frame_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def show(self, text: str, now: float) -> None:
        if self._shown_at is not None and now - self._shown_at < self.interval:
            return
        self._shown_at = now
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def message(self, text: str) -> None:
        """A line of its own (calibrated, tracking lost...), above the status line."""
        self.stream.write("\r" + " " * self._width + "\r" + text + "\n")
        self.stream.flush()
        self._width = 0
        self._shown_at = None

    def finish(self) -> None:
        if self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
