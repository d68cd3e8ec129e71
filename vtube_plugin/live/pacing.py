"""Paces the loop to the output frame rate without bursts: a late frame is not made up for by rushing the next."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    def __init__(self, fps: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.period = 1.0 / fps
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None

    def wait(self) -> None:
        """Sleep until the next frame is due (since the previous call)."""
        now = self._clock()
        self._next = (now if self._next is None else self._next) + self.period
        if self._next <= now:  # rendering took longer than a frame: start again from now
            self._next = now
        else:
            self._sleep(self._next - now)
