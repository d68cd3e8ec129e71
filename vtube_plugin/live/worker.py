"""The render worker: the character is posed and rendered on a thread of its own, always from the newest
tracking, so a slow render never holds up the outputs (they repeat the newest frame meanwhile).

Asking for a frame while one is being rendered does not queue a second: the next render starts when the
current one ends, from whatever tracking is newest then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vtube_plugin.pose import Pose


@dataclass(frozen=True)
class Rendered:
    """One rendered frame and where it came from."""

    number: int  # 1, 2, 3 ... in the order rendered
    rgba: np.ndarray
    pose: Pose
    posed_at: float  # the loop clock when the pose was taken from the newest tracking
    arrived: float | None  # when the tracking frame it shows arrived; None when tracking was not fresh
    tracking: bool
    render_seconds: float
    finished_at: float | None = None  # the loop clock when the render was done


class RenderWorker:
    """`request()` asks for one more frame; `wait_newer(number, timeout)` gives the newest frame once it is
    newer than `number` (or the newest there is at the timeout). `render_one(number)` does the work.

    `threaded=False` renders inside `request()` on the caller's thread: the same loop, step by step, for
    tests on a simulated clock. `on_rendered(rendered)` is called with each frame as soon as it is done.
    """

    def __init__(self, render_one: Callable[[int], Rendered], *, threaded: bool = True,
                 on_rendered: Callable[[Rendered], None] | None = None):
        self._render_one = render_one
        self._on_rendered = on_rendered  # told of each frame as it is done, on the render thread (flow_worker.py)
        self.threaded = threaded
        self.newest: Rendered | None = None
        self.busy = False
        self._count = 0
        self._wanted = False
        self._stopping = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RenderWorker:
        if self.threaded:
            # A daemon: a render that hangs must not keep the program alive after the stream has stopped.
            self._thread = threading.Thread(target=self._run, name="render-worker", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            # Lets the render in progress end (it still holds the renderer); a hung one is left to the daemon.
            self._thread.join(timeout=10.0)
            self._thread = None

    def request(self) -> None:
        self._raise_error()
        if not self.threaded:
            self._publish(self._render_one(self._count + 1))
            return
        with self._changed:
            self._wanted = True
            self._changed.notify_all()

    def wait_newer(self, number: int, timeout: float) -> Rendered | None:
        with self._changed:
            if self.threaded and timeout > 0:
                self._changed.wait_for(lambda: self._error is not None or self._newer(number), timeout)
            newest = self.newest
        self._raise_error()
        return newest

    def _newer(self, number: int) -> bool:
        return self.newest is not None and self.newest.number > number

    def _publish(self, rendered: Rendered) -> None:
        if self._on_rendered is not None:
            self._on_rendered(rendered)
        with self._changed:
            self._count = rendered.number
            self.newest = rendered
            self._changed.notify_all()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._stopping or self._wanted)
                if self._stopping:
                    return
                self._wanted = False
                self.busy = True
            try:
                rendered = self._render_one(self._count + 1)
            except BaseException as error:  # handed to the loop's thread, which stops the stream with it
                with self._changed:
                    self._error = error
                    self.busy = False
                    self._changed.notify_all()
                return
            self.busy = False
            self._publish(rendered)
