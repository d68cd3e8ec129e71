"""A clock for `LiveLoop(clock=..., sleep=...)` in tests: sleeping advances it at once, so a loop runs in no time."""

from __future__ import annotations


class LoopClock:
    """time.monotonic and time.sleep for the loop: sleeping advances the clock instantly."""

    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
