"""The flow worker: as soon as a render lands, the optical flow between it and the render before is worked out
on a thread of its own (live/inbetween.py), so neither the renderer nor the outputs wait for it.

Never more than one pair waits: a new render replaces the pair not yet started. While renders come at least as
fast as the outputs show frames, nothing is worked out at all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from vtube_plugin.live.inbetween import FlowPair
from vtube_plugin.live.worker import Rendered

# Renders count as keeping up while they come at most this many output frame periods apart.
KEEPING_UP = 1.5
# How much each new render interval counts in the running estimate.
INTERVAL_WEIGHT = 0.3
# The flow thread's niceness above the rest of the program: the renderer comes first (Linux; elsewhere none).
NICER = 5


@dataclass(frozen=True)
class ReadyPair:
    """Two renders in a row, the flows between them, and when it all was ready (the loop's clock)."""

    older: Rendered
    newer: Rendered
    flows: FlowPair
    older_landed: float
    newer_landed: float
    ready_at: float


class FlowWorker:
    """`landed(rendered)` is called (from the render thread) with each render as it lands; `ready` is the newest
    pair worked out, `interval` the running estimate of the seconds between renders (None before two).

    `threaded=False` works each pair out inside `landed()`: step by step, for tests on a simulated clock.
    """

    def __init__(self, frame_period: float, clock: Callable[[], float], *, threaded: bool = True):
        self.frame_period = frame_period
        self.clock = clock
        self.threaded = threaded
        self.ready: ReadyPair | None = None
        self.interval: float | None = None
        self.pairs = 0  # pairs worked out
        self._last: tuple[Rendered, float] | None = None
        self._waiting: tuple[Rendered, float, Rendered, float] | None = None
        self._stopping = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def keeping_up(self) -> bool:
        """Whether renders come about as often as output frames (then in-between frames are not needed)."""
        return self.interval is None or self.interval <= KEEPING_UP * self.frame_period

    def __enter__(self) -> FlowWorker:
        if self.threaded:
            self._thread = threading.Thread(target=self._run, name="flow-worker", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
            self._thread = None

    def landed(self, rendered: Rendered) -> None:
        now = self.clock()
        last, self._last = self._last, (rendered, now)
        if last is None:
            return
        gap = now - last[1]
        self.interval = gap if self.interval is None else self.interval + (gap - self.interval) * INTERVAL_WEIGHT
        if self.keeping_up or last[0].rgba.shape != rendered.rgba.shape:
            self.ready = None
            return
        job = (last[0], last[1], rendered, now)
        if not self.threaded:
            self._work(job)
            return
        with self._changed:
            self._waiting = job  # replaces a pair not yet started: only the newest is worth working out
            self._changed.notify_all()

    def raise_error(self) -> None:
        """Raises on the caller's thread what went wrong on the flow thread."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self, job: tuple[Rendered, float, Rendered, float]) -> None:
        older, older_landed, newer, newer_landed = job
        flows = FlowPair(older.rgba, newer.rgba)
        self.ready = ReadyPair(older, newer, flows, older_landed, newer_landed, self.clock())
        self.pairs += 1

    def _run(self) -> None:
        if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
            try:  # on Linux a thread has a niceness of its own
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + NICER)
            except OSError:
                pass
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._stopping or self._waiting is not None)
                if self._stopping:
                    return
                job, self._waiting = self._waiting, None
            try:
                self._work(job)
            except BaseException as error:  # handed to the loop's thread, which stops the stream with it
                self._error = error
                return
