"""The One Euro filter that keeps a still face steady without making fast moves lag.

Casiez, Roussel and Vogel (CHI 2012): a low-pass filter whose cutoff rises with the signal's speed.
`PoseSmoother` runs one filter per pose parameter, with settings chosen per parameter group.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from vtube_plugin.pose import PARAMETERS, THA3_SIZE, Pose


@dataclass(frozen=True)
class OneEuroSettings:
    """min_cutoff (Hz): jitter removed at rest (lower = steadier, more lag when slow).
    beta: how fast the cutoff rises with speed (higher = less lag on fast moves).
    d_cutoff (Hz): the cutoff of the speed estimate itself."""

    min_cutoff: float = 1.0
    beta: float = 0.3
    d_cutoff: float = 1.0


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters a float array (any shape) sampled at times `t` in seconds; each element independently."""

    def __init__(self, settings: OneEuroSettings = OneEuroSettings()):
        self.settings = settings
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time = 0.0

    def reset(self) -> None:
        self._value = None

    def __call__(self, x: np.ndarray | float, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._value is None:
            self._value, self._speed, self._time = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._time
        if dt <= 0:  # the same sample again (or a clock step back): nothing new to learn from
            return self._value.copy()
        s = self.settings
        speed = (x - self._value) / dt
        self._speed = self._speed + _alpha(s.d_cutoff, dt) * (speed - self._speed)
        cutoff = s.min_cutoff + s.beta * np.abs(self._speed)
        self._value = self._value + _alpha(cutoff, dt) * (x - self._value)
        self._time = t
        return self._value.copy()


class PoseSmoother:
    """One Euro per pose parameter; `settings` maps a group name (pose.GROUPS) to its settings."""

    def __init__(self, settings: Mapping[str, OneEuroSettings], default: OneEuroSettings = OneEuroSettings()):
        self._filters: list[tuple[np.ndarray, OneEuroFilter]] = []
        for group in dict.fromkeys(p.group for p in PARAMETERS):
            indices = np.array([p.index for p in PARAMETERS if p.group == group])
            self._filters.append((indices, OneEuroFilter(settings.get(group, default))))

    def reset(self) -> None:
        for _, f in self._filters:
            f.reset()

    def __call__(self, pose: Pose, t: float) -> Pose:
        values = pose.as_array(THA3_SIZE)
        out = values.copy()
        for indices, f in self._filters:
            out[indices] = f(values[indices], t)
        return Pose(out)
