"""Reads MikuMikuDance motion files (.vmd): the bone and morph keyframes; camera and light are skipped.

Little-endian, names in Shift-JIS (cp932) NUL-padded. Both headers are read: 'Vocaloid Motion Data 0002'
(20-byte model name, MMD 6 and later) and the older 'Vocaloid Motion Data file' (10-byte model name).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from vtube_plugin.errors import UserError

MMD_FPS = 30  # MMD counts keyframes in frames of 1/30 s

_MAGIC_NEW = b"Vocaloid Motion Data 0002"
_MAGIC_OLD = b"Vocaloid Motion Data file"
_HEADER = 30
_BONE = struct.Struct("<15sI3f4f64s")  # 111 bytes
_MORPH = struct.Struct("<15sIf")  # 23 bytes
_COUNT = struct.Struct("<I")
LINEAR_CURVE = (20 / 127, 20 / 127, 107 / 127, 107 / 127)  # what MMD writes for a straight line


@dataclass(frozen=True)
class BoneKey:
    """One bone keyframe. `rotation` is a quaternion (x, y, z, w) in MMD's axes; `rotation_curve` is
    the Bezier (x1, y1, x2, y2), each 0..1, that eases from the previous key into this one."""

    bone: str
    frame: int
    position: tuple[float, float, float]
    rotation: tuple[float, float, float, float]
    rotation_curve: tuple[float, float, float, float] = LINEAR_CURVE


@dataclass(frozen=True)
class MorphKey:
    morph: str
    frame: int
    weight: float


@dataclass(frozen=True)
class Motion:
    model_name: str
    bones: tuple[BoneKey, ...]
    morphs: tuple[MorphKey, ...]

    @property
    def last_frame(self) -> int:
        """The frame of the latest keyframe (0 for an empty motion)."""
        return max((k.frame for k in (*self.bones, *self.morphs)), default=0)


def decode_name(raw: bytes) -> str:
    """A NUL-padded cp932 name. MMD leaves junk after the NUL, and a 15-byte field can cut the last
    double-byte character in half; both are dropped rather than shown as garbage."""
    raw = raw.split(b"\0", 1)[0]
    for end in (len(raw), len(raw) - 1):
        try:
            return raw[:end].decode("cp932")
        except UnicodeDecodeError:
            continue
    return raw.decode("cp932", errors="replace")


def _rotation_curve(interpolation: bytes) -> tuple[float, float, float, float]:
    # The first 16 bytes are x1 of (X, Y, Z, rotation), then y1, x2, y2 in the same order;
    # the other 48 bytes repeat them shifted and carry nothing new.
    x1, y1, x2, y2 = interpolation[3], interpolation[7], interpolation[11], interpolation[15]
    return (x1 / 127, y1 / 127, x2 / 127, y2 / 127)


def parse_vmd(data: bytes, source: str = "the motion file") -> Motion:
    """The keyframes of a .vmd held in `data`; `source` names it in error messages."""
    magic = data[:_HEADER]
    if magic.startswith(_MAGIC_NEW):
        name_size = 20
    elif magic.startswith(_MAGIC_OLD):
        name_size = 10
    else:
        hint = ""
        if data[:4] in (b"PMX ", b"Pmd\0") or data[:3] == b"Pmd":
            hint = " It looks like an MMD model (.pmx/.pmd); give the motion (.vmd) that goes with it."
        raise UserError(
            f"{source} is not an MMD motion file: a .vmd starts with 'Vocaloid Motion Data 0002'.{hint}"
        )
    offset = _HEADER + name_size
    if len(data) < offset:
        raise UserError(f"{source} is truncated: it ends inside its header. Download or export it again.")
    model_name = decode_name(data[_HEADER:offset])

    def section(record: struct.Struct, what: str, optional: bool) -> list[tuple]:
        nonlocal offset
        if optional and offset == len(data):
            return []  # files written by some tools stop after the sections they use
        if offset + 4 > len(data):
            raise UserError(f"{source} is truncated: it ends before the {what} count. Download or export it again.")
        (count,) = _COUNT.unpack_from(data, offset)
        offset += 4
        end = offset + count * record.size
        if end > len(data):
            whole = (len(data) - offset) // record.size
            raise UserError(
                f"{source} is truncated: it promises {count} {what} keyframes but holds only {whole}. "
                "Download or export it again."
            )
        rows = [record.unpack_from(data, offset + i * record.size) for i in range(count)]
        offset = end
        return rows

    bones = tuple(
        BoneKey(decode_name(name), frame, (px, py, pz), (qx, qy, qz, qw), _rotation_curve(interp))
        for name, frame, px, py, pz, qx, qy, qz, qw, interp in section(_BONE, "bone", optional=False)
    )
    morphs = tuple(
        MorphKey(decode_name(name), frame, weight) for name, frame, weight in section(_MORPH, "morph", optional=True)
    )
    return Motion(model_name, bones, morphs)


def read_vmd(path: str | Path) -> Motion:
    """The keyframes of the .vmd at `path`, with a clear error for a missing or damaged file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"motion file not found: {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read motion file {path}: {exc.strerror or exc}") from None
    return parse_vmd(data, str(path))
