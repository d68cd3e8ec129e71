"""Writes small MMD motion files (.vmd) for the tests: names in cp932, NUL-padded, as MMD writes them."""

from __future__ import annotations

import math
import struct
from pathlib import Path

LINEAR = (20, 20, 107, 107)


def name_field(name: str, size: int) -> bytes:
    raw = name.encode("cp932")[:size]
    return raw + b"\0" * (size - len(raw))


def quaternion(axis: str, degrees: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) for a rotation of `degrees` about MMD's x, y or z axis."""
    half = math.radians(degrees) / 2
    q = [0.0, 0.0, 0.0, math.cos(half)]
    q["xyz".index(axis)] = math.sin(half)
    return tuple(q)


def interpolation(rotation: tuple[int, int, int, int], other: tuple[int, int, int, int] = LINEAR) -> bytes:
    """The 64-byte block: x1 of (X, Y, Z, rotation), then y1, x2, y2, each 0..127; the other 48 bytes
    carry the same values shifted, as MMD writes them."""
    first = bytearray(16)
    for group in range(4):  # x1, y1, x2, y2
        first[group * 4:group * 4 + 3] = bytes([other[group]] * 3)
        first[group * 4 + 3] = rotation[group]
    block = bytearray(64)
    for row in range(4):
        block[row * 16:row * 16 + 16] = first[row:] + bytes(row)
    return bytes(block)


def vmd_bytes(bones=(), morphs=(), model: str = "テスト", old_header: bool = False, sections: int = 5) -> bytes:
    """bones: (name, frame, quaternion, rotation curve (x1, y1, x2, y2)); morphs: (name, frame, weight).
    `sections` = how many of bone, morph, camera, light, shadow sections to write."""
    if old_header:
        out = bytearray(name_field("Vocaloid Motion Data file", 30) + name_field(model, 10))
    else:
        out = bytearray(name_field("Vocaloid Motion Data 0002", 30) + name_field(model, 20))
    out += struct.pack("<I", len(bones))
    for name, frame, quat, curve in bones:
        out += name_field(name, 15) + struct.pack("<I3f4f", frame, 0.0, 0.0, 0.0, *quat) + interpolation(curve)
    if sections >= 2:
        out += struct.pack("<I", len(morphs))
        for name, frame, weight in morphs:
            out += name_field(name, 15) + struct.pack("<If", frame, weight)
    out += b"\0\0\0\0" * max(0, sections - 2)  # empty camera, light, self-shadow sections
    return bytes(out)


def write_vmd(path: Path, bones=(), morphs=(), **options) -> Path:
    path.write_bytes(vmd_bytes(bones, morphs, **options))
    return path
