"""Lost tracking: while frames are fresh the mapped pose is followed; when they stop, the pose eases to neutral.

When tracking comes back, the smoothing history is forgotten and the pose eases in again from neutral. Each
loss and each return is said once (a line of its own), however many frames it lasts.
"""

from __future__ import annotations

from collections.abc import Callable

from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.pose import Pose, lerp, smoothstep
from vtube_plugin.sources.frame import FaceFrame


def _quiet(line: str) -> None:
    pass


class TrackedPose:
    """`tracked(frame, now)` -> the pose to show; `tracked.tracking` says whether the frame was fresh.

    `weight` (0..1, eased) is how much of the shown pose is the tracker's, and `driven` the parameters its
    frames reach (Mapper.driven): the layers above (idle life) fill in the rest, and all of it while lost.
    `losses` counts the times tracking was lost after it had begun; `say` gets one line when it is lost and
    one when it is back."""

    def __init__(self, mapper: Mapper, lost_after: float = 0.75, ease_seconds: float = 0.5,
                 say: Callable[[str], None] = _quiet):
        self.mapper = mapper
        self.lost_after = lost_after
        self.ease_seconds = max(ease_seconds, 1e-6)
        self.say = say
        self.tracking = False
        self.age: float | None = None  # seconds since the newest frame arrived
        self.losses = 0
        self._lost_at: float | None = None  # when the newest frame that was still fresh arrived
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
                self._came_back(frame.timestamp)  # type: ignore[union-attr]
            self._last_pose = self.mapper(frame)  # type: ignore[arg-type]
            self.driven = self.mapper.driven
            self._weight = min(1.0, self._weight + dt / self.ease_seconds)
        else:
            if self.tracking:
                self._went_away(frame.timestamp if frame is not None else now)
            self._weight = max(0.0, self._weight - dt / self.ease_seconds)
        self.tracking = fresh
        self.weight = smoothstep(self._weight)  # no jolt at either end
        return lerp(Pose(), self._last_pose, self.weight)

    def _went_away(self, last_arrived: float) -> None:
        self.losses += 1
        self._lost_at = last_arrived
        self.say(f"tracking lost: nothing new from the tracker for {self.lost_after:g} s; idle life until it is "
                 "back (the stream goes on)")

    def _came_back(self, arrived: float) -> None:
        if self._lost_at is None:
            return  # the first tracking of the stream: "waiting for tracking" on the status line said enough
        self.say(f"tracking back after {max(arrived - self._lost_at, 0.0):.1f} s without it")
        self._lost_at = None
