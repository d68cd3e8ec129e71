"""VTube Studio phone datagrams built from the public format (DenchiSoft's VTubeStudioBlendshapeUDPReceiverTest:
VTubeStudioRawTrackingData), as the iPhone app (PascalCase ARKit names) and the Android app (ARCore-style
names with _L/_R, as Inochi2D's facetrack-d reads them) send them."""

from __future__ import annotations

import json

from vtube_plugin.sources.names import ARKIT_NAMES

IOS_NAMES = tuple(n[0].upper() + n[1:] for n in ARKIT_NAMES)  # EyeBlinkLeft, JawOpen, ...


def android_name(arkit: str) -> str:
    """eyeBlinkLeft -> eyeBlink_L: the Android app's spelling of an ARKit name."""
    for side, suffix in (("Left", "_L"), ("Right", "_R")):
        if arkit.endswith(side):
            return arkit[: -len(side)] + suffix
    return arkit


def datagram(weights: dict[str, float] | None = None, *, rotation=(0.0, 0.0, 0.0), eye_left=(0.0, 0.0, 0.0),
             eye_right=(0.0, 0.0, 0.0), android: bool = False, face_found: bool = True) -> bytes:
    """Every ARKit name at 0 except `weights` (ARKit camelCase names), spelled as the chosen app does."""
    weights = weights or {}
    names = {n: (android_name(n) if android else n[0].upper() + n[1:]) for n in ARKIT_NAMES}
    vec = lambda v: {"x": v[0], "y": v[1], "z": v[2]}  # noqa: E731
    return json.dumps({
        "Timestamp": 1733000000000, "Hotkey": -1, "FaceFound": face_found,
        "Rotation": vec(rotation), "Position": vec((0.1, -0.2, 0.3)),
        "EyeLeft": vec(eye_left), "EyeRight": vec(eye_right),
        "BlendShapes": [{"k": names[n], "v": float(weights.get(n, 0.0))} for n in ARKIT_NAMES],
    }).encode("utf-8")
