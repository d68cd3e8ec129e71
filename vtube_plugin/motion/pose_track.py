"""A pose track: poses at given times, saved as JSON lines a user can read, edit and render again.

Each line is `{"time": seconds, "<parameter>": value, ...}` with the 45 pose names; names left out are 0.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.pose import MAXIMUM, MINIMUM, NAMES, THA3_SIZE, Pose, lerp
from vtube_plugin.user_files import read_text


@dataclass(frozen=True)
class PoseTrack:
    """`times` (n,) seconds, increasing; `values` (n, 45) pose values in PARAMETERS order."""

    times: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.times), THA3_SIZE):
            raise ValueError(f"values must be ({len(self.times)}, {THA3_SIZE}), got {self.values.shape}")

    def __len__(self) -> int:
        return len(self.times)

    @property
    def duration(self) -> float:
        return float(self.times[-1]) if len(self.times) else 0.0

    @classmethod
    def clamped(cls, times: np.ndarray, values: np.ndarray) -> PoseTrack:
        """A track with every value held inside its parameter's range (NaN from a damaged file becomes 0)."""
        values = np.clip(np.nan_to_num(values, nan=0.0), MINIMUM, MAXIMUM)
        return cls(np.asarray(times, dtype=np.float64), values.astype(np.float32))

    def frame_count(self, fps: float) -> int:
        """Frames a video of this track has at `fps`: one at time 0 and one every 1/fps up to the last pose."""
        return int(np.floor(self.duration * fps + 1e-3)) + 1  # a last time a hair short of a frame still counts

    def poses(self, fps: float) -> Iterator[Pose]:
        """The pose at each video frame, linear between the track's times (a sparse, hand-edited track
        works as keyframes); before the first time the first pose holds."""
        count = self.frame_count(fps)
        if len(self.times) == 1:
            yield from (Pose(self.values[0]) for _ in range(count))
            return
        after = np.clip(np.searchsorted(self.times, np.arange(count) / fps, side="right"), 1, len(self.times) - 1)
        for frame, index in enumerate(after):
            t0, t1 = self.times[index - 1], self.times[index]
            u = min(max((frame / fps - t0) / (t1 - t0), 0.0), 1.0)
            yield lerp(Pose(self.values[index - 1]), Pose(self.values[index]), u)

    # --- files ---------------------------------------------------------------------------------
    def write_jsonl(self, path: str | Path) -> None:
        """Writes the track; the file appears only once complete (a temporary file, then a rename)."""
        path = Path(path)
        try:
            handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
        except OSError as exc:
            raise UserError(f"cannot write the pose track to {path}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                for time, row in zip(self.times, self.values):
                    line = {"time": float(time)}  # unrounded: a re-render must land on the same frames
                    line.update((name, round(float(v), 6)) for name, v in zip(NAMES, row))
                    out.write(json.dumps(line) + "\n")
            os.chmod(temp, 0o644)  # mkstemp made it private; the finished track is an ordinary file
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @classmethod
    def read_jsonl(cls, path: str | Path) -> PoseTrack:
        """Reads a track written by `write_jsonl` or by hand; points at the line of any mistake."""
        path = Path(path)
        lines = read_text(path, "pose track").splitlines()
        times: list[float] = []
        rows: list[np.ndarray] = []
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            where = f"{path}, line {number}"
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise UserError(f"{where} is not JSON: {exc}") from None
            if not isinstance(data, dict) or not isinstance(data.get("time"), (int, float)):
                raise UserError(f'{where} needs an object with a "time" in seconds, '
                                'like {"time": 0.5, "mouth_aaa": 1}')
            time = float(data.pop("time"))
            if times and time <= times[-1]:
                raise UserError(f"{where}: time {time:g} is not after the line before ({times[-1]:g}); "
                                "sort the lines by time")
            try:
                rows.append(Pose.from_dict(data).as_array())
            except UserError as err:
                raise UserError(f"{where}: {err}") from None
            times.append(time)
        if not times:
            raise UserError(f"pose track {path} holds no poses; each line is {{\"time\": seconds, name: value, ...}}")
        return cls(np.array(times), np.stack(rows))
