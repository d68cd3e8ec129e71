"""The built-in performance `vtube-plugin demo` renders: a few seconds of talking, blinking, a smile, a head turn.

Pure functions of time, so the same frames come out at any frame rate.
"""

from __future__ import annotations

import math

from vtube_plugin.pose import Pose, smoothstep

SECONDS = 5.0
# (start, vowel) of each syllable: speech-like mouth shapes from 0.3 s to 2.7 s.
SYLLABLES = [(0.30, "aaa"), (0.55, "iii"), (0.80, "uuu"), (1.05, "eee"), (1.30, "ooo"), (1.60, "aaa"),
             (1.85, "eee"), (2.10, "iii"), (2.35, "ooo"), (2.55, "aaa")]
SYLLABLE_LENGTH = 0.28
BLINKS = (1.2, 3.9)  # seconds: each blink closes and opens the eyes in 0.2 s


def _bump(t: float, start: float, length: float) -> float:
    """0 -> 1 -> 0 over [start, start + length], smooth at both ends."""
    x = (t - start) / length
    return math.sin(math.pi * x) ** 2 if 0.0 <= x <= 1.0 else 0.0


def _window(t: float, start: float, end: float, ramp: float) -> float:
    """Rises over `ramp` seconds from start, holds, falls over `ramp` seconds to end."""
    return smoothstep((t - start) / ramp) * smoothstep((end - t) / ramp)


def pose_at(t: float) -> Pose:
    values: dict[str, float] = {}
    for start, vowel in SYLLABLES:
        weight = _bump(t, start, SYLLABLE_LENGTH)
        if weight > 0:
            values[f"mouth_{vowel}"] = max(values.get(f"mouth_{vowel}", 0.0), weight)
    smile = _window(t, 2.9, 4.6, 0.35)
    blink = max(_bump(t, b, 0.2) for b in BLINKS)
    for side in ("left", "right"):
        values[f"eye_wink_{side}"] = blink * (1 - smile)
        values[f"eye_happy_wink_{side}"] = max(0.55 * smile, blink * smile)
        values[f"mouth_raised_corner_{side}"] = smile
        values[f"eyebrow_happy_{side}"] = 0.7 * smile
    turn = _window(t, 1.6, 4.8, 0.6)
    values["head_y"] = 0.6 * turn * math.sin(2 * math.pi * (t - 1.6) / 3.2)
    values["neck_z"] = 0.25 * turn * math.sin(2 * math.pi * (t - 1.6) / 3.2)
    values["head_x"] = 0.15 * math.sin(2 * math.pi * t / SECONDS)
    values["iris_rotation_y"] = -0.5 * values["head_y"]
    values["body_y"] = 0.3 * values["head_y"]
    values["breathing"] = 0.5 - 0.5 * math.cos(2 * math.pi * t / 2.5)
    return Pose.from_dict({name: min(max(v, -1.0), 1.0) for name, v in values.items()}, clamp=True)


def performance(fps: float, seconds: float = SECONDS) -> list[Pose]:
    return [pose_at(i / fps) for i in range(int(round(seconds * fps)))]
