"""VMC datagrams built with python-osc's builders, as tracker apps (VSeeFace, Waidayo...) send them."""

from __future__ import annotations

import math

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder


def message(address: str, *args: object):
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg, "f" if isinstance(arg, float) else None)
    return builder.build()


def bundle(*messages) -> bytes:
    builder = OscBundleBuilder(IMMEDIATELY)
    for m in messages:
        builder.add_content(m)
    return builder.build().dgram


def blend(values: dict[str, float], apply: bool = True) -> bytes:
    parts = [message("/VMC/Ext/Blend/Val", name, float(v)) for name, v in values.items()]
    return bundle(*parts, *([message("/VMC/Ext/Blend/Apply")] if apply else []))


def unity_rotation(axis: str, degrees: float) -> tuple[float, float, float, float]:
    """A Unity quaternion (x, y, z, w) rotating `degrees` about one axis."""
    s, c = math.sin(math.radians(degrees) / 2), math.cos(math.radians(degrees) / 2)
    return {"x": (s, 0.0, 0.0, c), "y": (0.0, s, 0.0, c), "z": (0.0, 0.0, s, c)}[axis]


def bone(name: str, rotation: tuple[float, float, float, float]):
    return message("/VMC/Ext/Bone/Pos", name, 0.0, 0.06, 0.0, *map(float, rotation))
