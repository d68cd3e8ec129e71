"""Idle life: blinks, breathing, a slow sway and wandering eyes added to the pose, so a character without
tracking (or between tracked moves) is never a still picture. Settings: profiles/idle.toml (idle_settings.py).

Never fights tracking: a parameter the tracker's frames reach (TrackedPose.driven) gets idle life only
in proportion to how much tracking is lost (1 - TrackedPose.weight); everything else gets all of it.
"""

from __future__ import annotations

import math
import random
from typing import Protocol

import numpy as np

from vtube_plugin.expressions.idle_settings import BlinkSettings, BreathingSettings, IdleSettings, WanderSettings
from vtube_plugin.pose import BY_NAME, MAXIMUM, MINIMUM, THA3_SIZE, Pose

EYES_CLOSED = ("eye_wink_left", "eye_wink_right")
# Shares of a blink: the lids close fast, stay shut briefly, and open more slowly.
CLOSING, CLOSED = 0.3, 0.2


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


class Tracking(Protocol):
    """What idle life reads of the tracking (live/tracking.py TrackedPose)."""

    weight: float  # 0..1: how much of the pose is the tracker's
    driven: frozenset[str]  # the parameters its frames reach


class Blinker:
    """Both eyelids' closure 0..1 at `now`. A blink's closed phase lasts until one call has returned it, so
    a slow renderer (or a long frame) never skips a blink: the eyes are shown shut, then open from there."""

    def __init__(self, settings: BlinkSettings, rng: random.Random):
        self.s, self.rng = settings, rng
        self.next_start: float | None = None
        self.start: float | None = None  # the blink under way
        self.duration = 0.0
        self.opens_at: float | None = None  # set once a call has shown the eyes closed
        self.blinks = 0  # started so far (what the tests count)
        self._in_double = False

    def __call__(self, now: float) -> float:
        if self.next_start is None:
            self.next_start = now + self.rng.uniform(*self.s.interval)
        if self.start is None:
            if now < self.next_start:
                return 0.0
            self.start, self.opens_at = self.next_start, None
            self.duration = self.rng.uniform(*self.s.duration)
            self.blinks += 1
        t = now - self.start
        closing = CLOSING * self.duration
        if t < closing:
            return _smoothstep(t / closing)
        if self.opens_at is None:  # the first call that reaches the closed phase shows it, however late
            self.opens_at = max(self.start + closing + CLOSED * self.duration, now)
            return 1.0
        if now < self.opens_at:
            return 1.0
        opening = (1.0 - CLOSING - CLOSED) * self.duration
        p = (now - self.opens_at) / opening
        if p < 1.0:
            return 1.0 - _smoothstep(p)
        self._schedule(self.opens_at + opening)
        return 0.0

    def _schedule(self, ended: float) -> None:
        self.start = None
        double = not self._in_double and self.rng.random() < self.s.double_chance
        self._in_double = double
        self.next_start = ended + (self.rng.uniform(0.06, 0.16) if double else self.rng.uniform(*self.s.interval))


class Breath:
    """THA3's `breathing` 0..amount: one smooth rise and fall per breath, each breath a little longer or shorter."""

    def __init__(self, settings: BreathingSettings, rng: random.Random):
        self.s, self.rng = settings, rng
        self.phase = 0.0  # 0..1 through the current breath
        self.period = rng.uniform(*settings.cycle)
        self.breaths = 0
        self._last: float | None = None

    def __call__(self, now: float) -> float:
        dt = 0.0 if self._last is None else max(now - self._last, 0.0)
        self._last = now
        self.phase += dt / self.period
        while self.phase >= 1.0:  # (several breaths at once only when frames are seconds apart)
            self.phase -= 1.0
            self.breaths += 1
            self.period = self.rng.uniform(*self.s.cycle)
        return self.s.amount * (0.5 - 0.5 * math.cos(2.0 * math.pi * self.phase))


class Wander:
    """Each named parameter moves to a new random target in [-amplitude, amplitude] every `interval`
    seconds, eased in `move` seconds (never outside the amplitude: it only ever eases between two targets)."""

    def __init__(self, settings: WanderSettings, rng: random.Random):
        self.rng = rng
        self.s = settings
        self.names = [n for n, a in settings.amplitude.items() if a > 0]
        self.amplitude = np.array([settings.amplitude[n] for n in self.names], dtype=np.float64)
        self.indices = [BY_NAME[n].index for n in self.names]
        self.a = np.zeros(len(self.names))
        self.b = np.zeros(len(self.names))
        self.moved_at = self.arrives = self.next_at = None

    def _target(self) -> np.ndarray:
        return np.array([self.rng.uniform(-1.0, 1.0) for _ in self.names]) * self.amplitude

    def _new_move(self, start: float) -> None:
        interval = self.rng.uniform(*self.s.interval)
        self.a, self.b = self.b, self._target()
        self.moved_at = start
        self.arrives = start + min(self.rng.uniform(*self.s.move), interval)
        self.next_at = start + interval

    def __call__(self, now: float) -> np.ndarray:
        if self.next_at is None or now - self.next_at > 60.0:  # the start, or after a long pause: begin here
            self._new_move(now)
        while now >= self.next_at:
            self._new_move(self.next_at)
        span = max(self.arrives - self.moved_at, 1e-6)
        t = _smoothstep((now - self.moved_at) / span)
        return self.a + (self.b - self.a) * t


class IdleLife:
    """The idle layer: `apply(pose, now)` adds blinks, breathing, sway and eye drift. `follow(tracking)` tells
    it what the tracker drives; without it (or with --source none) all of idle life is added."""

    def __init__(self, settings: IdleSettings, tracking: Tracking | None = None):
        self.settings = settings
        rng = random.Random(settings.seed)
        # Separate streams per part, so switching one part off does not change the others' timing.
        self.blinker = Blinker(settings.blink, random.Random(rng.random())) if settings.blink.enabled else None
        self.breath = Breath(settings.breathing, random.Random(rng.random())) if settings.breathing.enabled else None
        self.wanders = [Wander(w, random.Random(rng.random())) for w in (settings.sway, settings.eyes) if w.enabled]
        self.tracking = tracking

    def follow(self, tracking: Tracking | None) -> None:
        self.tracking = tracking

    def offsets(self, now: float) -> np.ndarray:
        """Idle life alone at `now`: the 45 amounts added to the pose (before tracking takes its share)."""
        values = np.zeros(THA3_SIZE, dtype=np.float32)
        if self.blinker is not None:
            closed = self.blinker(now)
            for name in EYES_CLOSED:
                values[BY_NAME[name].index] = closed
        if self.breath is not None:
            values[BY_NAME["breathing"].index] = self.breath(now)
        for wander in self.wanders:
            values[wander.indices] = wander(now)
        return values

    def apply(self, pose: Pose, now: float) -> Pose:
        values = self.offsets(now)
        if self.tracking is not None and self.tracking.weight > 0.0:
            share = np.float32(1.0 - self.tracking.weight)
            for name in self.tracking.driven:
                values[BY_NAME[name].index] *= share
        return Pose(np.clip(pose.as_array() + values, MINIMUM, MAXIMUM))

    def close(self) -> None:
        pass
