"""Calibration: the user's neutral face (relaxed, looking straight ahead), subtracted from every frame.

Captured as the average of N frames, stored as a small JSON file per source and profile in the
user config folder, so the next `vtube-plugin run` starts calibrated.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from vtube_plugin.config_dir import CONFIG_ENV, config_dir
from vtube_plugin.errors import UserError
from vtube_plugin.sources.frame import FaceFrame

# A blendshape already this high at rest keeps this much range, so it can still reach 1.
_MIN_RANGE = 0.05


def mean_angles(rows: list[tuple[float, ...]]) -> tuple[float, ...] | None:
    """The element-wise mean of angle tuples (head or eyes), or None when there are none."""
    if not rows:
        return None
    return tuple(sum(r[i] for r in rows) / len(rows) for i in range(len(rows[0])))


def _minus(a: tuple[float, ...] | None, b: tuple[float, ...] | None):
    if a is None or b is None:
        return a
    return tuple(x - y for x, y in zip(a, b))


@dataclass
class Calibration:
    blendshapes: dict[str, float] = field(default_factory=dict)  # neutral weight per name
    head: tuple[float, float, float] | None = None  # neutral (pitch, yaw, roll) degrees
    left_eye: tuple[float, float] | None = None
    right_eye: tuple[float, float] | None = None
    frames: int = 0

    @classmethod
    def capture(cls, frames: Iterable[FaceFrame]) -> Calibration:
        """The average of the frames: each blendshape over the frames that carry it, likewise the angles."""
        frames = list(frames)
        sums: dict[str, list[float]] = {}
        for f in frames:
            for name, value in f.blendshapes.items():
                sums.setdefault(name, []).append(value)
        return cls(
            blendshapes={name: sum(v) / len(v) for name, v in sums.items()},
            head=mean_angles([f.head for f in frames if f.head is not None]),  # type: ignore[arg-type]
            left_eye=mean_angles([f.left_eye for f in frames if f.left_eye is not None]),  # type: ignore[arg-type]
            right_eye=mean_angles([f.right_eye for f in frames if f.right_eye is not None]),  # type: ignore[arg-type]
            frames=len(frames),
        )

    def apply(self, frame: FaceFrame) -> FaceFrame:
        """The frame relative to the neutral face. A blendshape at its neutral weight becomes 0 and 1 stays 1
        (rescaled rather than only subtracted, so a face with eyes half-shut at rest can still blink fully)."""
        shapes = {}
        for name, value in frame.blendshapes.items():
            n = self.blendshapes.get(name, 0.0)
            shapes[name] = min(max((value - n) / max(1.0 - n, _MIN_RANGE), 0.0), 1.0) if n > 0 else value
        return replace(
            frame,
            blendshapes=shapes,
            head=_minus(frame.head, self.head),
            left_eye=_minus(frame.left_eye, self.left_eye),
            right_eye=_minus(frame.right_eye, self.right_eye),
        )

    # --- storage ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"frames": self.frames, "blendshapes": self.blendshapes, "head": self.head,
                "left_eye": self.left_eye, "right_eye": self.right_eye}

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        def angles(key: str, n: int):
            value = data.get(key)
            return tuple(float(v) for v in value) if isinstance(value, list) and len(value) == n else None

        shapes = data.get("blendshapes", {})
        return cls(
            blendshapes={str(k): float(v) for k, v in shapes.items()} if isinstance(shapes, dict) else {},
            head=angles("head", 3),  # type: ignore[arg-type]
            left_eye=angles("left_eye", 2),  # type: ignore[arg-type]
            right_eye=angles("right_eye", 2),  # type: ignore[arg-type]
            frames=int(data.get("frames", 0)),
        )


def calibration_path(source: str, profile: str) -> Path:
    return config_dir() / "calibration" / f"{source}-{profile}.json"


def save_calibration(calibration: Calibration, source: str, profile: str) -> Path:
    path = calibration_path(source, profile)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(calibration.to_dict(), indent=1), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot save the calibration to {path} ({exc.strerror or exc}); "
                        f"set {CONFIG_ENV} to a folder you can write to") from None
    return path


def load_calibration(source: str, profile: str) -> Calibration | None:
    """The stored calibration, or None when there is none yet."""
    path = calibration_path(source, profile)
    if not path.is_file():
        return None
    try:
        return Calibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"the calibration file {path} is damaged ({exc}); "
                        "delete it or run `vtube-plugin calibrate` again") from None


def forget_calibration(source: str, profile: str) -> bool:
    path = calibration_path(source, profile)
    if path.is_file():
        path.unlink()
        return True
    return False


class NeutralCapture:
    """Collects the next `count` distinct frames (by timestamp) and then holds their Calibration."""

    def __init__(self, count: int = 60):
        self.count = count
        self.frames: list[FaceFrame] = []
        self._last: float | None = None

    def add(self, frame: FaceFrame | None) -> Calibration | None:
        if frame is not None and frame.timestamp != self._last and len(self.frames) < self.count:
            self._last = frame.timestamp
            self.frames.append(frame)
        return Calibration.capture(self.frames) if self.done else None

    @property
    def done(self) -> bool:
        return len(self.frames) >= self.count


class SteadyCapture:
    """Calibration without asking: the first `seconds` of steady tracking (the head held within `spread`
    degrees on every angle) become the neutral head. A moving head restarts the window, so a user still
    settling in front of the camera is not taken as neutral.

    Only the head and eye angles are kept: the user never asked to hold a relaxed face, and a smile held
    through those seconds would otherwise be subtracted from every later smile (`c` captures the whole face).
    """

    def __init__(self, seconds: float = 2.0, spread: float = 4.0, min_frames: int = 15, max_frames: int = 600):
        self.seconds, self.spread, self.min_frames = seconds, spread, min_frames
        self.frames: deque[FaceFrame] = deque(maxlen=max_frames)  # bounded whatever the tracker's rate
        self._last: float | None = None

    def add(self, frame: FaceFrame | None) -> Calibration | None:
        """The calibration once the window is steady and long enough, else None."""
        if frame is None or frame.timestamp == self._last:
            return None
        self._last = frame.timestamp
        if self.frames and not self._steady_with(frame):
            self.frames.clear()
        self.frames.append(frame)
        span = frame.timestamp - self.frames[0].timestamp
        if span >= self.seconds and len(self.frames) >= self.min_frames:
            return replace(Calibration.capture(self.frames), blendshapes={})
        return None

    def _steady_with(self, frame: FaceFrame) -> bool:
        heads = [f.head for f in self.frames if f.head is not None]
        if frame.head is None or not heads:
            return True  # a tracker without head angles (VRM presets only): any frames will do
        for axis in range(3):
            values = [h[axis] for h in heads] + [frame.head[axis]]
            if max(values) - min(values) > self.spread:
                return False
        return True
