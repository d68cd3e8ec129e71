"""--record-poses: one JSON line per rendered frame with its time, the 45 named pose values and its latency.

Each line reads back with the pose file convention:
`{"time": 0.033, "tracking": true, "pose": {...}, "latency_ms": 41.2}` (latency_ms null without fresh tracking).
When the disk fills, the recording stops at its last whole line (said once) and the stream goes on.
With --smooth on, each frame the first output gets is a line, marked `"frame": "rendered"` or `"in-between"`;
an in-between frame's time and pose are those it stands for (between, or just past, two renders).
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from vtube_plugin.errors import UserError
from vtube_plugin.pose import Pose


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class PoseRecorder:
    def __init__(self, path: str | Path, say: Callable[[str], None] = _say):
        self.path = Path(path)
        self.say = say
        self.lines = 0  # whole lines on disk
        self.stopped: str | None = None  # why it stopped before the stream did (a full disk)
        self._file = None
        self._bytes = 0  # the file's length after the last whole line

    def __enter__(self) -> PoseRecorder:
        try:
            self._file = self.path.open("wb", buffering=0)  # unbuffered: each line is on disk at once, or fails
        except OSError as exc:
            raise UserError(f"cannot write the pose recording {self.path}: {exc}") from None
        return self

    def write(self, time: float, pose: Pose, tracking: bool, latency: float | None = None,
              frame: str | None = None) -> None:
        """`latency`: seconds from the tracking frame's arrival to the rendered frame reaching the outputs;
        `frame`: "rendered" or "in-between" (with --smooth on; None leaves it out)."""
        if self._file is None:
            return
        values = {k: round(v, 5) for k, v in pose.to_dict().items()}
        line = {"time": round(time, 4), "tracking": tracking, "pose": values,
                "latency_ms": None if latency is None else round(latency * 1000.0, 2)}
        if frame is not None:
            line["frame"] = frame
        data = (json.dumps(line) + "\n").encode("utf-8")
        try:  # the file can be followed while the stream runs
            if self._file.write(data) != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            self._stop(exc)
            return
        self.lines += 1
        self._bytes += len(data)
    def _stop(self, exc: OSError) -> None:
        """A write failed (a full disk): keep the whole lines, write no more, and say so once."""
        file, self._file = self._file, None
        if file is not None:
            file.close()  # unbuffered: nothing is left to write
        try:
            os.truncate(self.path, self._bytes)  # a half-written last line goes
        except OSError:
            pass
        self.stopped = (f"--record-poses {self.path} stopped: {exc.strerror or exc}. The {self.lines} lines written "
                        "until then are kept; the stream goes on.")
        self.say(self.stopped)

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
