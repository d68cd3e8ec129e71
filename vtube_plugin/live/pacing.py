"""When each output's next frame is due: every output keeps its own frame rate on one clock, and a late
wake-up skips the frame times it missed instead of sending a burst to catch up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Clocks add up periods in floating point; a wake-up a hair early still counts as on time.
EARLY = 1e-6


class OutputClock:
    """Output i shows frames at `start + n / rates[i]`, n = 0, 1, 2 ..."""

    def __init__(self, rates: Sequence[float], start: float):
        if any(rate <= 0 for rate in rates):
            raise ValueError(f"frame rates must be above 0, got {list(rates)}")
        self.rates = list(rates)
        self.start = start
        self._next = [0] * len(self.rates)  # the next frame number of each output

    def time_of(self, output: int, number: int) -> float:
        return self.start + number / self.rates[output]

    def next_time(self) -> float:
        """When the first output is due next."""
        return min(self.time_of(i, n) for i, n in enumerate(self._next))

    def due(self, now: float) -> dict[int, float]:
        """The outputs due at `now`, each with the time of the frame it shows now (the newest frame time
        reached: frame times missed while late are skipped). They count as sent."""
        due = {}
        for i, n in enumerate(self._next):
            if self.time_of(i, n) <= now + EARLY:
                reached = max(n, math.floor((now - self.start) * self.rates[i] + EARLY))
                due[i] = self.time_of(i, reached)
                self._next[i] = reached + 1
        return due

    def add(self, rate: float, now: float) -> None:
        """A new output, from its first frame time at or after `now` (an output switched on while streaming)."""
        if rate <= 0:
            raise ValueError(f"frame rates must be above 0, got {rate}")
        self.rates.append(rate)
        self._next.append(max(0, math.ceil((now - self.start) * rate - EARLY)))

    def remove(self, output: int) -> None:
        """Output `output` is gone; the ones after it move down by one."""
        del self.rates[output]
        del self._next[output]
