"""A real LiveLoop on a thread of its own, for the fault tests: a real source (real sockets, a real camera file),
the real mapper and lost tracking, idle life, a stand-in renderer that costs nothing (the network is not what
these tests are about), --record-poses to read back what was shown, and the status lines it said.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from vtube_plugin.expressions.idle import IdleLife
from vtube_plugin.expressions.idle_settings import BlinkSettings, IdleSettings
from vtube_plugin.live.loop import LiveLoop
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import load_profile

# Idle blinks every 0.05 s, so a few tenths of a second without tracking always show one.
QUICK_BLINKS = replace(IdleSettings(seed=3), blink=BlinkSettings(interval=(0.05, 0.05), duration=(0.02, 0.02),
                                                                 double_chance=0.0))


class BlankRenderer:
    size = 32

    def render(self, pose):
        return np.zeros((32, 32, 4), np.uint8)


class CountingSink:
    def __init__(self):
        self.frames = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def send(self, rgba):
        self.frames += 1


class LoopOnThread:
    """`with LoopOnThread(source, tmp_path) as live:` ... `live.wait(lambda rows: ...)`; stopped at the end."""

    def __init__(self, source, folder: Path, *, lost_after: float = 0.05, fps: float = 100.0, sinks=None,
                 renderer=None, idle: IdleSettings | None = QUICK_BLINKS):
        self.poses = folder / "poses.jsonl"
        self.status = io.StringIO()
        self.sinks = sinks if sinks is not None else [CountingSink()]
        self.loop = LiveLoop(source=source, mapper=Mapper(load_profile(source.DEFAULT_PROFILE)),
                             renderer=renderer or BlankRenderer(), sinks=self.sinks, fps=fps, lost_after=lost_after,
                             ease_seconds=0.05, expressions=IdleLife(idle) if idle else None,
                             record_poses=self.poses, status_stream=self.status)
        if idle:
            self.loop.expressions.follow(self.loop.tracked)
        self.summary = None
        self._rows: list[dict] = []
        self._read = 0  # bytes of the pose file already parsed
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.summary = self.loop.run()
        except BaseException as error:  # handed to the test at the end
            self._error = error

    def __enter__(self) -> LoopOnThread:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not getattr(self.loop.source, "running", True) and time.monotonic() < deadline:
            time.sleep(0.01)  # the source is started on the loop's thread: its port is known from then on
        return self

    def __exit__(self, *exc) -> None:
        self.loop.stop("the test ended")
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the live loop did not stop"
        if self._error is not None and exc[0] is None:
            raise self._error

    def rows(self) -> list[dict]:
        """Every complete --record-poses line so far (read on from where the last call stopped)."""
        if self.poses.is_file():
            with self.poses.open("rb") as file:
                file.seek(self._read)
                text = file.read()
            complete = text[:text.rfind(b"\n") + 1]
            self._read += len(complete)
            self._rows.extend(json.loads(line) for line in complete.splitlines() if line)
        return list(self._rows)

    def wait(self, condition: Callable[[list[dict]], bool], timeout: float = 20.0, what: str = "") -> list[dict]:
        """The recorded rows once `condition(rows)` holds; fails the test after `timeout` s or if the loop died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._thread.is_alive():
            rows = self.rows()
            if condition(rows):
                return rows
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what or condition}; {len(self.rows())} rows; "
                             f"error {self._error!r}; said {self.messages()}")

    def wait_row(self, test: Callable[[dict], bool], since: int, what: str, timeout: float = 20.0) -> int:
        """Wait for a row from number `since` on that passes `test`; the number of rows then."""
        return len(self.wait(lambda rows: any(test(r) for r in rows[since:]), timeout, what))

    def messages(self) -> list[str]:
        """The lines said above the status line (each ends the status line with a newline)."""
        return [chunk.split("\r")[-1] for chunk in self.status.getvalue().split("\n")[:-1]
                if chunk.split("\r")[-1]]
