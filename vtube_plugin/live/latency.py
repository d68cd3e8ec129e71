"""Latency from face to output: seconds from a tracking frame's arrival (the datagram or camera picture) to
the moment the frame rendered from it is handed to the outputs; median and 95th percentile of recent ones.
"""

from __future__ import annotations

from collections import deque


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between the nearest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class LatencyWindow:
    """The latencies of the last `seconds` (for the status line) and of the whole run (bounded, for the
    summary and the benchmark)."""

    def __init__(self, seconds: float = 5.0, keep: int = 100_000):
        self.seconds = seconds
        self._recent: deque[tuple[float, float]] = deque()
        self.all: deque[float] = deque(maxlen=keep)
        # Each latency less the frame's own render: the tracking's age when the render began plus the wait for
        # the output's next frame time, what the pipeline adds (the goal: under one output frame period).
        self.beyond_render: deque[float] = deque(maxlen=keep)

    def add(self, now: float, latency: float, render_seconds: float = 0.0) -> None:
        self._recent.append((now, latency))
        self.all.append(latency)
        self.beyond_render.append(max(latency - render_seconds, 0.0))
        while self._recent and self._recent[0][0] < now - self.seconds:
            self._recent.popleft()

    def recent(self, now: float) -> tuple[float, float] | None:
        """(median, p95) in seconds of the last `seconds` before `now`, or None without any."""
        values = [latency for at, latency in self._recent if at >= now - self.seconds]
        if not values:
            return None
        return percentile(values, 50), percentile(values, 95)
