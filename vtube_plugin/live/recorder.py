"""--record-poses: one JSON line per rendered frame with its time, the 45 named pose values and its latency.

Each line reads back with the pose file convention:
`{"time": 0.033, "tracking": true, "pose": {...}, "latency_ms": 41.2}` (latency_ms null without fresh tracking).
With --smooth on, each frame the first output gets is a line, marked `"frame": "rendered"` or `"in-between"`;
an in-between frame's time and pose are those it stands for (between, or just past, two renders).
"""

from __future__ import annotations

import json
from pathlib import Path

from vtube_plugin.errors import UserError
from vtube_plugin.pose import Pose


class PoseRecorder:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file = None

    def __enter__(self) -> PoseRecorder:
        try:
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write the pose recording {self.path}: {exc}") from None
        return self

    def write(self, time: float, pose: Pose, tracking: bool, latency: float | None = None,
              frame: str | None = None) -> None:
        """`latency`: seconds from the tracking frame's arrival to the rendered frame reaching the outputs;
        `frame`: "rendered" or "in-between" (with --smooth on; None leaves it out)."""
        values = {k: round(v, 5) for k, v in pose.to_dict().items()}
        line = {"time": round(time, 4), "tracking": tracking, "pose": values,
                "latency_ms": None if latency is None else round(latency * 1000.0, 2)}
        if frame is not None:
            line["frame"] = frame
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()  # each frame's line is on disk at once, so the file can be followed while the stream runs

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
