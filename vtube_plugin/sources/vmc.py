"""Receive face tracking over the VMC protocol (VSeeFace, VMagicMirror, Waidayo, XR Animator...).

We are the "Marionette": the tracker app sends OSC over UDP to us, by default on port 39539.
Used: `/VMC/Ext/Blend/Val name value` (buffered) and `/VMC/Ext/Blend/Apply` (commits the buffer:
a blendshape frame is only complete at Apply), and `/VMC/Ext/Bone/Pos` for Neck, Head, LeftEye and
RightEye (local rotations, Unity quaternions x, y, z, w). Every other address is ignored.

Head angles: VMC bones are Unity transforms of a humanoid avatar facing +z (left-handed, x right,
y up). Neck and Head local rotations are composed (neck * head), taken into the person frame by
`rotation.unity_to_person` and read by `rotation.angles_from_matrix`: a Head turned +30 degrees about
Unity's y axis turns the avatar to its own right, which is yaw = -30 in FaceFrame's convention (yaw > 0 =
toward own left); +x about Unity's x axis pitches down (pitch < 0); +z tilts toward the avatar's own
left (roll > 0).
Blendshape names are normalised by `names.normalise_name` (ARKit camelCase, VRM 1.0 presets).
"""

from __future__ import annotations

import math
import time

from vtube_plugin.sources.base import Malformed
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.names import normalise_name
from vtube_plugin.sources.osc import OscError, decode
from vtube_plugin.sources.rotation import Matrix, angles_from_matrix, matmul, quaternion_matrix, unity_to_person
from vtube_plugin.sources.udp import LISTEN_PORT, UdpSource, parse_allow

DEFAULT_PORT = 39539
# Listening on every interface lets a tracker on another PC or phone reach us; a tracker on this PC
# sending to 127.0.0.1 reaches it too. host=127.0.0.1 keeps the port closed to the network.
DEFAULT_HOST = "0.0.0.0"
# What one sender can make us keep: a 60,000-character name per datagram once grew us by 290 MB a second.
MAX_NAME_BYTES = 128
MAX_NAMES = 256  # distinct blendshape names per sender; a VRM with Perfect Sync has about 70
MAX_SENDERS = 16  # senders whose names we remember (allow=any)

BLEND_VAL = "/VMC/Ext/Blend/Val"
BLEND_APPLY = "/VMC/Ext/Blend/Apply"
BONE_POS = "/VMC/Ext/Bone/Pos"
USED_BONES = ("Neck", "Head", "LeftEye", "RightEye")

MAX_WEIGHT = 10.0  # weights a little over 1 happen (exaggerated clips) and are clamped; beyond this is garbage
MAX_POSITION = 1e4  # metres; more is a corrupt number, not an avatar


def _number(value: object, what: str) -> float:
    # OSC's T/F arrive as bools, which Python counts as ints: they are not numbers here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Malformed(f"{what} is not a number")
    value = float(value)
    if not math.isfinite(value):
        raise Malformed(f"{what} is NaN or infinite")
    return value


class VmcSource(UdpSource):
    """FaceFrames from a VMC sender. `VmcSource(port=39539, host="0.0.0.0")`; port 0 picks a free port."""

    name = "vmc"
    OPTIONS = {"port": LISTEN_PORT, "host": str, "allow": str}
    DEFAULT_PROFILE = "vrm"
    NAMES_CHOOSE_PROFILE = True  # VRM presets or Perfect Sync names: what the sender sends decides (base.profile_hint)
    WAITING_HINT = "is the tracker app (VSeeFace, VMagicMirror, Waidayo...) sending VMC to this computer, port {port}?"
    FLAGS = {"host": ("host", "address to listen on (default: all, 0.0.0.0)"),
             "port": ("port", f"UDP port (default {DEFAULT_PORT})")}

    def __init__(self, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, allow: str | None = None) -> None:
        # allow: addresses joined with +, or "any"; by default the first sender heard is the only one used
        super().__init__(host, port, parse_allow(allow))
        self._names: dict[str, set[str]] = {}  # sender address -> the blendshape names it has sent
        self._pending: dict[str, float] = {}  # Blend/Val since the last Apply
        self._committed: dict[str, float] = {}  # the blendshape frame as of the last Apply
        self._bones: dict[str, Matrix] = {}  # Unity-space local rotations of USED_BONES

    def _handle(self, data: bytes, sender: tuple) -> None:
        try:
            messages = decode(data)
        except OscError as err:
            raise Malformed(str(err)) from None
        changed = False
        for message in messages:
            if isinstance(message, OscError):
                self._drop(str(message))
                continue
            try:
                if message.address == BLEND_VAL:
                    self._blend_value(message.args, sender[0])
                elif message.address == BLEND_APPLY:
                    self._committed.update(self._pending)
                    self._pending.clear()
                    changed = True
                elif message.address == BONE_POS:
                    changed |= self._bone(message.args)
            except Malformed as bad:
                self._drop(f"{message.address}: {bad.reason}")
        if changed:
            self._publish(self._frame())

    def _blend_value(self, args: tuple, sender: str) -> None:
        if len(args) < 2 or not isinstance(args[0], str):
            raise Malformed("needs a name and a value")
        value = _number(args[1], "value")
        if abs(value) > MAX_WEIGHT:
            raise Malformed("value out of range")
        self._pending[self._known_name(args[0], sender)] = min(max(value, 0.0), 1.0)

    def _known_name(self, raw: str, sender: str) -> str:
        """The normalised name, if this sender may add it: names are bounded in length and number per sender."""
        if len(raw) > MAX_NAME_BYTES or len(raw.encode("utf-8")) > MAX_NAME_BYTES:
            raise Malformed(f"name longer than {MAX_NAME_BYTES} bytes")
        name = normalise_name(raw)
        names = self._names.get(sender)
        if names is None:
            if len(self._names) >= MAX_SENDERS:
                raise Malformed(f"more than {MAX_SENDERS} senders")
            names = self._names[sender] = set()
        if name not in names:
            if len(names) >= MAX_NAMES:
                raise Malformed(f"more than {MAX_NAMES} blendshape names")
            names.add(name)
        return name

    def _bone(self, args: tuple) -> bool:
        if len(args) < 8 or not isinstance(args[0], str):
            raise Malformed("needs a bone name, a position and a rotation")
        numbers = [_number(v, "position or rotation") for v in args[1:8]]
        if any(abs(v) > MAX_POSITION for v in numbers[:3]):
            raise Malformed("position out of range")
        norm = math.sqrt(sum(v * v for v in numbers[3:]))
        if not 0.5 <= norm <= 2.0:  # senders send unit quaternions; far from 1 is corruption
            raise Malformed("rotation is not a unit quaternion")
        if args[0] not in USED_BONES:
            return False
        self._bones[args[0]] = quaternion_matrix(*numbers[3:])
        return True

    def _frame(self) -> FaceFrame:
        frame = FaceFrame(blendshapes=dict(self._committed), timestamp=time.monotonic(), source=self.name)
        head = self._bones.get("Head")
        neck = self._bones.get("Neck")
        if head is not None or neck is not None:
            # Unity composes parent * local: the head's rotation relative to the chest.
            total = matmul(neck, head) if head is not None and neck is not None else (head or neck)
            frame.head = angles_from_matrix(unity_to_person(total))
        for bone, attr in (("LeftEye", "left_eye"), ("RightEye", "right_eye")):
            if bone in self._bones:
                pitch, yaw, _ = angles_from_matrix(unity_to_person(self._bones[bone]))
                setattr(frame, attr, (pitch, yaw))
        return frame
