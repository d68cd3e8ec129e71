"""The mapper: a FaceFrame from any source becomes a Pose, through a profile, calibration and smoothing.

Names the profile asks for but the frame lacks are absent inputs (they contribute nothing); names the
frame carries but the profile never reads are ignored. Blendshape names match case-insensitively.
"""

from __future__ import annotations

import numpy as np

from vtube_plugin.mapping.calibration import Calibration, mean_angles
from vtube_plugin.mapping.profile import Profile, Rule
from vtube_plugin.mapping.smoothing import PoseSmoother
from vtube_plugin.pose import BY_NAME, MAXIMUM, MINIMUM, THA3_SIZE, Pose
from vtube_plugin.sources.frame import FaceFrame


def frame_inputs(frame: FaceFrame) -> dict[str, float]:
    """Everything a rule can read from one frame: lower-case blendshape names plus the angle inputs."""
    values = {name.lower(): float(v) for name, v in frame.blendshapes.items()}
    if frame.head is not None:
        values["head_pitch"], values["head_yaw"], values["head_roll"] = (float(v) for v in frame.head)
    eyes = mean_angles([e for e in (frame.left_eye, frame.right_eye) if e is not None])
    if eyes is not None:
        values["eye_pitch"], values["eye_yaw"] = eyes
    return values


class Mapper:
    """`mapper(frame)` is the smoothed Pose for a frame; `mapper.map(frame)` the same without smoothing.

    `mapper.driven` names the pose parameters the last mapped frame actually reached (a rule with at least
    one input the frame carried): what the tracker drives, as opposed to zeros it never sent."""

    def __init__(self, profile: Profile, calibration: Calibration | None = None):
        self.use_profile(profile, calibration)

    def use_profile(self, profile: Profile, calibration: Calibration | None = None) -> None:
        """Map through `profile` (and its calibration) from the next frame on; the smoothing starts afresh."""
        self.profile = profile
        self.calibration = calibration
        self._smoother = PoseSmoother(profile.smoothing)
        iris = profile.iris
        # Eye angles follow the FaceFrame convention (pitch > 0 up, yaw > 0 toward the person's own left);
        # iris_rotation_y > 0 looks toward the character's own right, hence the minus.
        self._iris_from_angles = {
            "iris_rotation_x": Rule((("eye_pitch", 1.0 / iris.degrees_x),), dead_zone=iris.dead_zone / iris.degrees_x),
            "iris_rotation_y": Rule((("eye_yaw", -1.0 / iris.degrees_y),), dead_zone=iris.dead_zone / iris.degrees_y),
        }
        self._last_time: float | None = None
        self._last_pose = Pose()
        self.driven: frozenset[str] = frozenset()

    def reset(self) -> None:
        """Forget the smoothing history (after tracking was lost, so the face does not sweep from the past)."""
        self._smoother.reset()
        self._last_time = None

    def map(self, frame: FaceFrame) -> Pose:
        if self.calibration is not None:
            frame = self.calibration.apply(frame)
        values = frame_inputs(frame)
        present = set(values)  # what the frame carries, then the signals computed from it
        for name, rule in self.profile.signals.items():
            values[name] = rule.evaluate(values)
            if rule.reads(present):
                present.add(name)
        pose = np.zeros(THA3_SIZE, dtype=np.float32)
        rules = dict(self.profile.parameters)
        if self.profile.iris.use_eye_angles and "eye_pitch" in values:
            rules.update(self._iris_from_angles)
        for name, rule in rules.items():
            pose[BY_NAME[name].index] = rule.evaluate(values)
        self.driven = frozenset(name for name, rule in rules.items() if rule.reads(present))
        return Pose(np.clip(pose, MINIMUM, MAXIMUM))

    def __call__(self, frame: FaceFrame) -> Pose:
        """Smoothed on the frame's own timestamps; the same frame twice gives the same pose."""
        if frame.timestamp == self._last_time:
            return self._last_pose
        self._last_time = frame.timestamp
        self._last_pose = self._smoother(self.map(frame), frame.timestamp)
        return self._last_pose

