"""Receive face tracking from OpenSeeFace's `facetracker` (the webcam tracker behind VSeeFace), UDP port 11573.

Each datagram holds one 1785-byte record per tracked face, little-endian, in the order facetracker.py packs them
(emilianavt/OpenSeeFace; its Unity receiver OpenSee.cs reads the same):
    f64 time | i32 face id | f32 width, height | f32 right eye open, left eye open | u8 3D fit ok | f32 fit error
    | f32 quaternion x, y, z, w | f32 euler x, y, z | f32 translation x, y, z | 68 f32 landmark confidences
    | 68 x (f32, f32) landmarks | 70 x 3 f32 3D points | 14 f32 features:
    eye_l, eye_r, eyebrow_steepness_l, eyebrow_updown_l, eyebrow_quirk_l, eyebrow_steepness_r, eyebrow_updown_r,
    eyebrow_quirk_r, mouth_corner_updown_l, mouth_corner_inout_l, mouth_corner_updown_r, mouth_corner_inout_r,
    mouth_open, mouth_wide
Features are measured against the face's own running median: about 0 at rest, up to +-1 (eye: -1 closed,
+1 wide open). "_l" is the person's own left (VSeeFace maps eye_l to the left blink). Each signed feature is
published as two weights 0..1 named below (FEATURE_CHANNELS), so calibration and profiles see ordinary
weights; profiles/openseeface.toml maps them.

Angles come from the euler angles facetracker computes (OpenCV's RQDecomp3x3 of its face model's rotation;
a frontal face reads about (180, 0, 90)). Checked here by running the real facetracker (model 0) on a
frontal photograph (scikit-image's astronaut), the same turned 15 degrees either way, and with its nose
shifted toward her own left: roll = 90 - z, yaw = +y, pitch = x - 180 (the frontal photo reads -19, as
MediaPipe reads it -15: both see her looking slightly down). When the 3D fit failed, only the features count.
"""

from __future__ import annotations

import math
import struct
import time

from vtube_plugin.sources.base import Malformed
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.udp import UdpSource

PORT = 11573
DEFAULT_HOST = "127.0.0.1"  # facetracker sends to 127.0.0.1 unless told otherwise (-i): keep the port local
RECORD = 1785  # bytes per face
MAX_FACES = 40  # facetracker never sends 40 faces or more
HEADER = struct.Struct("<diffffBf4f3f3f")  # 73 bytes: time ... translation
FEATURES_AT = 73 + 68 * 4 + 68 * 2 * 4 + 70 * 3 * 4  # 1729
FEATURES = struct.Struct("<14f")
FEATURE_NAMES = ("eye_l", "eye_r", "eyebrow_steepness_l", "eyebrow_updown_l", "eyebrow_quirk_l",
                 "eyebrow_steepness_r", "eyebrow_updown_r", "eyebrow_quirk_r", "mouth_corner_updown_l",
                 "mouth_corner_inout_l", "mouth_corner_updown_r", "mouth_corner_inout_r", "mouth_open", "mouth_wide")
# feature -> (the weight its positive side becomes, the weight its negative side becomes)
FEATURE_CHANNELS = {
    "eye_l": ("eye_wide_l", "eye_closed_l"), "eye_r": ("eye_wide_r", "eye_closed_r"),
    "eyebrow_updown_l": ("eyebrow_up_l", "eyebrow_down_l"), "eyebrow_updown_r": ("eyebrow_up_r", "eyebrow_down_r"),
    "eyebrow_steepness_l": ("eyebrow_steep_l", "eyebrow_flat_l"),
    "eyebrow_steepness_r": ("eyebrow_steep_r", "eyebrow_flat_r"),
    "eyebrow_quirk_l": ("eyebrow_quirk_l", None), "eyebrow_quirk_r": ("eyebrow_quirk_r", None),
    "mouth_corner_updown_l": ("mouth_corner_up_l", "mouth_corner_down_l"),
    "mouth_corner_updown_r": ("mouth_corner_up_r", "mouth_corner_down_r"),
    "mouth_corner_inout_l": ("mouth_corner_out_l", "mouth_corner_in_l"),
    "mouth_corner_inout_r": ("mouth_corner_out_r", "mouth_corner_in_r"),
    "mouth_open": ("mouth_open", None), "mouth_wide": ("mouth_wide", "mouth_narrow"),
}
MAX_FEATURE = 100.0  # features hover within +-1 (a few times that right after start); beyond this is garbage


def _wrap(degrees: float) -> float:
    return (degrees + 180.0) % 360.0 - 180.0


def head_angles(euler: tuple[float, float, float]) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in FaceFrame's convention from facetracker's euler angles (see the module docstring)."""
    x, y, z = euler
    return (_wrap(x - 180.0), _wrap(y), _wrap(90.0 - z))


def parse_record(data: bytes, offset: int = 0) -> FaceFrame:
    """The face record at `offset` as a FaceFrame; Malformed when a number we use is NaN or absurd."""
    head = HEADER.unpack_from(data, offset)
    success, euler = head[6], head[12:15]
    features = FEATURES.unpack_from(data, offset + FEATURES_AT)
    if not all(math.isfinite(v) and abs(v) <= MAX_FEATURE for v in features):
        raise Malformed("a feature is NaN or out of range")
    frame = FaceFrame(source="openseeface")
    for name, value in zip(FEATURE_NAMES, features):
        positive, negative = FEATURE_CHANNELS[name]
        frame.blendshapes[positive] = min(max(value, 0.0), 1.0)
        if negative is not None:
            frame.blendshapes[negative] = min(max(-value, 0.0), 1.0)
    if success:
        if not all(math.isfinite(v) and abs(v) <= 720.0 for v in euler):
            raise Malformed("head angles are NaN or out of range")
        frame.head = head_angles(euler)
    return frame


def parse_datagram(data: bytes) -> FaceFrame:
    """The first face of a datagram (facetracker sends one record per face, in one datagram)."""
    if not data or len(data) % RECORD or len(data) // RECORD >= MAX_FACES:
        raise Malformed(f"not a whole number of {RECORD}-byte OpenSeeFace face records")
    return parse_record(data, 0)


class OpenSeeFaceSource(UdpSource):
    """FaceFrames from OpenSeeFace's facetracker. `OpenSeeFaceSource(port=11573, host="127.0.0.1")`: run
    facetracker on this PC (it sends to 127.0.0.1:11573 by default); host=0.0.0.0 to receive from another PC."""

    name = "openseeface"
    OPTIONS = {"port": int, "host": str}
    DEFAULT_PROFILE = "openseeface"
    WAITING_HINT = ("is OpenSeeFace's facetracker running and sending to this computer, port {port} "
                    "(facetracker -c 0 -p {port})?")
    FLAGS = {"host": ("host", "address to listen on (default 127.0.0.1: this PC only)"),
             "port": ("port", f"UDP port (default {PORT})")}

    def __init__(self, port: int = PORT, host: str = DEFAULT_HOST) -> None:
        super().__init__(host, port)

    def _handle(self, data: bytes, sender: tuple) -> None:
        frame = parse_datagram(data)
        frame.timestamp = time.monotonic()
        self._publish(frame)
