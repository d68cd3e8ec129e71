"""Work handed to the live loop's thread from other threads (a recording or the virtual camera switched on from the
studio: sinks are only ever called from that thread). Each job runs between two output frames, and its result or
error goes back to the thread that waits for it; once the loop has stopped, a waiting job gets a UserError.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from vtube_plugin.errors import UserError

STOPPED = "the live session has stopped"


class _Job:
    def __init__(self, work: Callable[[], object]):
        self.work, self.done = work, threading.Event()
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.work()
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            self.error = error
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


class LoopJobs:
    """`run(work)` from any thread; the loop calls `started()` on its thread, `run_pending()` once per output
    frame and `ended()` when it stops. `finished` is set from `ended()` until the next `started()`."""

    def __init__(self):
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.finished = threading.Event()

    def run(self, work: Callable[[], object], timeout: float = 10.0) -> object:
        """`work`'s result, run on the loop's thread (at once before the loop runs, or on that thread itself)."""
        if self.finished.is_set():
            raise UserError(STOPPED)
        if self._thread is None or threading.current_thread() is self._thread:
            return work()
        job = _Job(work)
        self._queue.put(job)
        if not job.done.wait(timeout):
            raise UserError(f"the live session did not answer within {timeout:g} s")
        if job.error is not None:
            raise job.error
        return job.result

    def started(self) -> None:
        self.finished.clear()
        self._thread = threading.current_thread()

    def run_pending(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            job.run()

    def ended(self) -> None:
        self.finished.set()
        self._thread = None
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            job.fail(UserError(STOPPED))
