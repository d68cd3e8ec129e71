"""How an MMD motion drives the pose: which morph names move which parameters, and how many degrees
of a bone's rotation reach a parameter's end. Profiles are TOML files in `profiles/` (see docs/motion.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.motion.pose_track import PoseTrack
from vtube_plugin.motion.track import bone_rotations, euler_degrees, frame_positions, morph_weights
from vtube_plugin.motion.vmd import MMD_FPS, Motion
from vtube_plugin.pose import BY_NAME, THA3_SIZE, close_parameters
from vtube_plugin.profile_files import MOTION, find_profile
from vtube_plugin.user_files import is_number, read_toml

_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class BoneAxis:
    """`degrees` of rotation about MMD's `axis` of `bone` move `parameter` to 1 (negative: to -1)."""

    bone: str
    axis: str
    parameter: str
    degrees: float


@dataclass(frozen=True)
class MotionProfile:
    name: str
    morphs: dict[str, dict[str, float]]  # MMD morph name -> {pose parameter: gain}
    bones: tuple[BoneAxis, ...]

    def drives(self, motion: Motion) -> bool:
        """Whether any morph or bone of the motion is in this profile (else the video would stand still)."""
        bones = {link.bone for link in self.bones}
        return any(k.morph in self.morphs for k in motion.morphs) or any(k.bone in bones for k in motion.bones)

    def unknown_morphs(self, motion: Motion) -> list[str]:
        """Morph names in the motion this profile does not map, in order of first appearance."""
        return list(dict.fromkeys(k.morph for k in motion.morphs if k.morph not in self.morphs))

    def track(self, motion: Motion, fps: float = MMD_FPS) -> PoseTrack:
        """The pose at every video frame at `fps`. Contributions to one parameter add up (blink and
        wink both close an eye); the sum is held inside the parameter's range."""
        positions = frame_positions(motion.last_frame, fps)
        values = np.zeros((len(positions), THA3_SIZE), dtype=np.float64)

        morph_keys = defaultdict(list)
        for key in motion.morphs:
            if key.morph in self.morphs:
                morph_keys[key.morph].append(key)
        for morph, keys in morph_keys.items():
            weights = morph_weights(keys, positions)
            for parameter, gain in self.morphs[morph].items():
                values[:, BY_NAME[parameter].index] += gain * weights

        bone_keys = defaultdict(list)
        for key in motion.bones:
            bone_keys[key.bone].append(key)
        angles = {bone: euler_degrees(bone_rotations(bone_keys[bone], positions))
                  for bone in {b.bone for b in self.bones} if bone in bone_keys}
        for link in self.bones:
            if link.bone in angles:
                values[:, BY_NAME[link.parameter].index] += angles[link.bone][:, _AXES[link.axis]] / link.degrees

        return PoseTrack.clamped(positions / MMD_FPS, values)


def _parameter(name: object, where: str) -> str:
    if not isinstance(name, str) or name not in BY_NAME:
        close = close_parameters(str(name), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UserError(f"{where}: '{name}' is not a pose parameter{hint}")
    return name


def _number(value: object, where: str) -> float:
    if not is_number(value):
        raise UserError(f"{where} must be a number, got {value!r}")
    return float(value)


def parse_profile(data: dict, name: str) -> MotionProfile:
    """A profile from its TOML table; `name` (the file) is used in error messages."""
    morphs: dict[str, dict[str, float]] = {}
    table = data.get("morphs", {})
    if not isinstance(table, dict):
        raise UserError(f'{name}: [morphs] must be a table of "MMD name" = parameter(s)')
    for morph, target in table.items():
        where = f'{name}, morph "{morph}"'
        if isinstance(target, str):
            target = {target: 1.0}
        elif isinstance(target, list):
            target = {_parameter(t, where): 1.0 for t in target}  # checked first: a table in the list is unhashable
        if not isinstance(target, dict):
            raise UserError(f"{where}: give a parameter, a list of parameters or a table of parameter = gain")
        morphs[morph] = {_parameter(p, where): _number(g, f"{where}, gain of {p}") for p, g in target.items()}

    bones: list[BoneAxis] = []
    table = data.get("bones", {})
    if not isinstance(table, dict):
        raise UserError(f'{name}: [bones."MMD name"] must be tables of axis = {{ parameter, degrees }}')
    for bone, axes in table.items():
        if not isinstance(axes, dict):
            raise UserError(f'{name}: [bones."{bone}"] must be a table of x/y/z = {{ parameter = ..., degrees = ... }}')
        for axis, link in axes.items():
            where = f'{name}, bone "{bone}" axis {axis}'
            if axis not in _AXES:
                raise UserError(f"{where}: the axis must be x, y or z")
            if not isinstance(link, dict) or "parameter" not in link or "degrees" not in link:
                raise UserError(f'{where}: write {axis} = {{ parameter = "head_x", degrees = 15 }}')
            degrees = _number(link["degrees"], f"{where}, degrees")
            if degrees == 0:
                raise UserError(f"{where}: degrees must not be 0 (negative flips the direction)")
            bones.append(BoneAxis(bone, axis, _parameter(link["parameter"], where), degrees))
    return MotionProfile(name, morphs, tuple(bones))


def load_profile(spec: str) -> MotionProfile:
    """`spec` is a motion profile's name (`vmd`: bundled, or your own in <config>/profiles) or a .toml path."""
    path = find_profile(spec, MOTION)
    return parse_profile(read_toml(path, "motion profile"), str(path))
