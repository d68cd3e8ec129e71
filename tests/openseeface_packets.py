"""OpenSeeFace face records built from the public packet layout (emilianavt/OpenSeeFace facetracker.py, read the
same way by its Unity receiver OpenSee.cs): 1785 little-endian bytes per face."""

from __future__ import annotations

import struct

FEATURES = ("eye_l", "eye_r", "eyebrow_steepness_l", "eyebrow_updown_l", "eyebrow_quirk_l", "eyebrow_steepness_r",
            "eyebrow_updown_r", "eyebrow_quirk_r", "mouth_corner_updown_l", "mouth_corner_inout_l",
            "mouth_corner_updown_r", "mouth_corner_inout_r", "mouth_open", "mouth_wide")
FRONTAL = (180.0, 0.0, 90.0)  # facetracker's euler angles for a face looking straight at the camera


def record(features: dict[str, float] | None = None, *, euler=FRONTAL, success: bool = True, face_id: int = 0,
           eye_open=(1.0, 1.0)) -> bytes:
    """One face: `features` by name (others 0), `euler` (x, y, z) degrees as facetracker computes them."""
    features = features or {}
    out = bytearray()
    out += struct.pack("<d", 1733000000.5)  # time
    out += struct.pack("<i", face_id)
    out += struct.pack("<ff", 640.0, 360.0)  # camera resolution
    out += struct.pack("<ff", *eye_open)  # right eye open, left eye open
    out += struct.pack("<B", 1 if success else 0)
    out += struct.pack("<f", 12.5)  # 3D fit error
    out += struct.pack("<4f", 0.7, 0.7, 0.1, -0.1)  # quaternion (not read by the source)
    out += struct.pack("<3f", *euler)
    out += struct.pack("<3f", 0.1, 0.2, 9.0)  # translation
    out += struct.pack("<68f", *([0.9] * 68))  # landmark confidences
    out += struct.pack("<136f", *([100.0] * 136))  # 68 landmarks (y, x)
    out += struct.pack("<210f", *([0.0] * 210))  # 70 3D points
    out += struct.pack("<14f", *(features.get(n, 0.0) for n in FEATURES))
    assert len(out) == 1785
    return bytes(out)
