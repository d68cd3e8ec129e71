"""`--smooth`: what each output frame shows while the renderer is slower than the output.

off: the newest render, repeated until the next (as before smoothing existed). interpolate: frames between the
last two renders, so each render shows one render interval late but the motion is as smooth and true as
the flow makes it. extrapolate: frames a little ahead of the newest render along its motion, adding no latency,
holding the newest render instead when the flow cannot carry the change or the motion turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vtube_plugin.live.flow_worker import FlowWorker, ReadyPair
from vtube_plugin.live.smooth_modes import check_mode
from vtube_plugin.live.worker import Rendered
from vtube_plugin.pose import MAXIMUM, MINIMUM, ROTATION_SLICE, Pose, lerp

# The head's last step turning away from the one before by more than this (the cosine of the angle between
# them) stops extrapolation: the motion is turning, and going on along it would overshoot.
TURNING = 0.5
STILL = 1e-6  # a head that hardly moves has no direction to turn from


@dataclass(frozen=True)
class Shown:
    """One picture for the outputs and what it stands for."""

    rgba: np.ndarray
    key: object  # the same picture again has the same key: a render's number, or (older, newer, share)
    newer: Rendered  # the render it is (whole) or is made towards or from
    whole: bool  # a render itself, not an in-between frame
    posed_at: float  # the loop's clock when the pose it stands for was taken (in between two renders' times)
    pose: Pose
    arrived: float | None  # when the tracking it stands for arrived; None without fresh tracking
    # The newest render whose moment this picture stands at or after: the render itself, the older of the two it
    # is between, the one it is ahead of. The first picture so far along brings that render out (live/loop.py).
    since: Rendered | None = None

    def __post_init__(self):
        if self.since is None:
            object.__setattr__(self, "since", self.newer)


def whole(rendered: Rendered) -> Shown:
    return Shown(rendered.rgba, rendered.number, rendered, True, rendered.posed_at, rendered.pose, rendered.arrived)


def _along(a: float | None, b: float | None, w: float) -> float | None:
    return None if a is None or b is None else a + (b - a) * w


class Smoothing:
    """`shown(newest, at)`: the picture for the output frame at `at` (the loop's clock), given the newest render
    that has landed and the pairs the flow worker has worked out."""

    def __init__(self, mode: str, flows: FlowWorker):
        self.mode = check_mode(mode)
        self.flows = flows
        self._steps: dict[int, np.ndarray] = {}  # newer render's number -> the head's step from the older one
        self._cache: tuple[object, Shown] | None = None
        self._last: Shown | None = None  # the picture interpolation showed last

    def shown(self, newest: Rendered, at: float) -> Shown:
        self.flows.raise_error()
        pair = self.flows.ready
        interval = self.flows.interval
        if self.mode == "off" or interval is None or self.flows.keeping_up:
            return self._onwards(whole(newest)) if self.mode == "interpolate" else whole(newest)
        if self.mode == "interpolate":
            return self._onwards(self._interpolated(newest, pair, interval, at))
        if pair is None or not pair.flows.moving:
            return whole(newest)
        turning = self._turning(pair)
        if pair.newer.number != newest.number or not pair.flows.steady or turning:
            return whole(newest)
        return self._ahead(pair, (at - pair.newer_landed) / interval)

    def _interpolated(self, newest: Rendered, pair: ReadyPair | None, interval: float, at: float) -> Shown:
        if pair is None or pair.newer.number < newest.number - 1:
            # The newest pair is still being worked out (or the flows fell behind): hold what shows now rather
            # than jump to the newest render and back.
            return self._last if self._last is not None else whole(newest)
        if not pair.flows.moving:  # two renders alike: nothing in between them
            return whole(pair.newer)
        # The pair's way from the older render to the newer takes the render interval from the moment the newer
        # one landed: each picture then shows what the tracking was exactly one render interval before (the
        # flows' few ms are not added on top), and the older render shows as it is only if a frame falls then.
        return self._between(pair, (at - pair.newer_landed) / interval)

    def _onwards(self, shown: Shown) -> Shown:
        """Interpolated frames never go back in time: a picture standing for an earlier moment than the last
        one shown (a pair that was late) holds the last one instead."""
        if self._last is not None and shown.posed_at < self._last.posed_at:
            return self._last
        self._last = shown
        return shown

    def _between(self, pair: ReadyPair, w: float) -> Shown:
        if w >= 1.0:
            return whole(pair.newer)
        if w <= 0.0:
            return whole(pair.older)
        w = round(w, 3)
        key = (pair.older.number, pair.newer.number, w)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        older, newer = pair.older, pair.newer
        shown = Shown(pair.flows.between(w), key, newer, False, older.posed_at + (newer.posed_at - older.posed_at) * w,
                      lerp(older.pose, newer.pose, w), _along(older.arrived, newer.arrived, w), since=older)
        self._cache = (key, shown)
        return shown

    def _ahead(self, pair: ReadyPair, w: float) -> Shown:
        w = round(min(w, 1.0), 3)
        if w <= 0.0:
            return whole(pair.newer)
        key = (pair.older.number, pair.newer.number, 1.0 + w)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        older, newer = pair.older, pair.newer
        pose = Pose(np.clip(lerp(older.pose, newer.pose, 1.0 + w).as_array(), MINIMUM, MAXIMUM))
        shown = Shown(pair.flows.ahead(w), key, newer, False, newer.posed_at + (newer.posed_at - older.posed_at) * w,
                      pose, _along(older.arrived, newer.arrived, 1.0 + w))
        self._cache = (key, shown)
        return shown

    def _turning(self, pair: ReadyPair) -> bool:
        """Whether the head's step into the newer render turns away from its step into the older one."""
        step = (pair.newer.pose.as_array() - pair.older.pose.as_array())[ROTATION_SLICE]
        self._steps = {n: s for n, s in self._steps.items() if n >= pair.older.number}  # bounded: two kept
        self._steps[pair.newer.number] = step
        before = self._steps.get(pair.older.number)
        if before is None:
            return False
        size = float(np.linalg.norm(step) * np.linalg.norm(before))
        return size > STILL and float(np.dot(step, before)) / size < TURNING
