"""Lost tracking: while frames are fresh the mapped pose is followed; when they stop, the pose eases to neutral.

When tracking comes back, the smoothing history is forgotten and the pose eases in again from neutral.
"""

from __future__ import annotations

from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.pose import Pose, lerp, smoothstep
from vtube_plugin.sources.frame import FaceFrame


class TrackedPose:
    """`tracked(frame, now)` -> the pose to show; `tracked.tracking` says whether the frame was fresh.

    `weight` (0..1, eased) is how much of the shown pose is the tracker's, and `driven` the parameters its
    frames reach (Mapper.driven): the layers above (idle life) fill in the rest, and all of it while lost."""

    def __init__(self, mapper: Mapper, lost_after: float = 0.75, ease_seconds: float = 0.5):
        self.mapper = mapper
        self.lost_after = lost_after
        self.ease_seconds = max(ease_seconds, 1e-6)
        self.tracking = False
        self.age: float | None = None  # seconds since the newest frame arrived
        self._weight = 0.0  # 0: neutral, 1: following the tracker
        self._last_pose = Pose()
        self._last_now: float | None = None
        self.weight = 0.0
        self.driven: frozenset[str] = frozenset()

    def __call__(self, frame: FaceFrame | None, now: float) -> Pose:
        dt = 0.0 if self._last_now is None else max(now - self._last_now, 0.0)
        self._last_now = now
        self.age = None if frame is None else now - frame.timestamp
        fresh = self.age is not None and self.age <= self.lost_after
        if fresh:
            if not self.tracking:
                self.mapper.reset()
            self._last_pose = self.mapper(frame)  # type: ignore[arg-type]
            self.driven = self.mapper.driven
            self._weight = min(1.0, self._weight + dt / self.ease_seconds)
        else:
            self._weight = max(0.0, self._weight - dt / self.ease_seconds)
        self.tracking = fresh
        self.weight = smoothstep(self._weight)  # no jolt at either end
        return lerp(Pose(), self._last_pose, self.weight)
