"""The one tracking frame type every source produces and the mapper consumes.

Angles are in degrees, from the tracked person's point of view (not the camera's):
    pitch > 0: looking up;   yaw > 0: turning toward their own left;   roll > 0: tilting toward their own left shoulder.
Blendshape names: the 52 ARKit names in ARKit's camelCase spelling (eyeBlinkLeft, jawOpen, ...) are the
common vocabulary ("Left" is the person's own left); VRM presets come in the VRM 1.0 spelling (aa, blinkLeft,
happy, ...; VRM 0.x names are mapped to it), other names are kept as they came (see sources/names.py).
Any name may be missing from any frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class FaceFrame:
    blendshapes: dict[str, float] = field(default_factory=dict)  # name -> weight 0..1
    head: tuple[float, float, float] | None = None  # (pitch, yaw, roll) degrees
    left_eye: tuple[float, float] | None = None  # (pitch, yaw) degrees of the person's left eye
    right_eye: tuple[float, float] | None = None
    # time.monotonic() when the datagram or camera picture it came from arrived (before face detection): the
    # live loop's latency runs from here to the rendered frame reaching the outputs
    timestamp: float = field(default_factory=time.monotonic)
    source: str = ""

    def weight(self, name: str, default: float = 0.0) -> float:
        """A blendshape's weight, or `default` when this frame does not carry it."""
        return self.blendshapes.get(name, default)
