"""Head and eye angles in our convention from the rotations trackers send (matrices, quaternions).

Everything is first expressed in the person's own frame, right-handed, with axes
    l: toward the person's own left,   u: up,   f: forward, out of their face,
and a rotation given as a 3x3 matrix whose columns are the head's own l, u, f axes in that frame.
Then (see FaceFrame): pitch > 0 looks up, yaw > 0 turns toward their own left, roll > 0 tilts toward
their own left shoulder, i.e. head = Ry(yaw) * Rl(-pitch) * Rf(-roll) with right-handed R about each axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Matrix = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]


def angles_from_matrix(r: Sequence[Sequence[float]]) -> tuple[float, float, float]:
    """(pitch, yaw, roll) degrees from a rotation matrix in the person frame (rows l, u, f; columns head axes)."""
    fl, fu, ff = r[0][2], r[1][2], r[2][2]  # the head's forward axis
    left_u, up_u = r[1][0], r[1][1]  # how much the head's left and up axes point up
    pitch = math.atan2(fu, math.hypot(fl, ff))
    yaw = math.atan2(fl, ff)
    roll = math.atan2(-left_u, up_u)
    return (math.degrees(pitch), math.degrees(yaw), math.degrees(roll))


def quaternion_matrix(x: float, y: float, z: float, w: float) -> Matrix:
    """The rotation matrix of a quaternion (normalised here). The formula holds in left- and right-handed axes alike."""
    n = math.sqrt(x * x + y * y + z * z + w * w)
    x, y, z, w = x / n, y / n, z / n, w / n
    return (
        (1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)),
        (2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)),
        (2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)),
    )


def matmul(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> Matrix:
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)) for i in range(3))  # type: ignore[return-value]


def unity_to_person(r: Sequence[Sequence[float]]) -> Matrix:
    """A Unity-space rotation (left-handed: x right, y up, z forward for an avatar facing +z) in the person frame.

    A humanoid avatar in Unity faces +z, so its own left is -x: the person frame is Unity's with x
    negated, S = diag(-1, 1, 1), and the rotation becomes S r S (flip the signs of row 0 and column 0,
    except where both meet).
    """
    s = (-1.0, 1.0, 1.0)
    return tuple(tuple(s[i] * r[i][j] * s[j] for j in range(3)) for i in range(3))  # type: ignore[return-value]



def matrix_from_angles(pitch: float, yaw: float, roll: float = 0.0) -> Matrix:
    """The person-frame rotation whose angles_from_matrix are (pitch, yaw, roll): Ry(yaw) * Rl(-pitch) * Rf(-roll)."""
    p, y, r = (math.radians(v) for v in (pitch, yaw, roll))
    cp, sp, cy, sy, cr, sr = math.cos(p), math.sin(p), math.cos(y), math.sin(y), math.cos(r), math.sin(r)
    turn = ((cy, 0.0, sy), (0.0, 1.0, 0.0), (-sy, 0.0, cy))  # about u (up)
    nod = ((1.0, 0.0, 0.0), (0.0, cp, sp), (0.0, -sp, cp))  # about l by -pitch
    tilt = ((cr, sr, 0.0), (-sr, cr, 0.0), (0.0, 0.0, 1.0))  # about f by -roll
    return matmul(turn, matmul(nod, tilt))


def quaternion_from_matrix(m: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation matrix, w >= 0; the inverse of quaternion_matrix."""
    trace = m[0][0] + m[1][1] + m[2][2]
    if trace > 0:
        s = 2.0 * math.sqrt(1.0 + trace)
        q = ((m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s, s / 4)
    elif m[0][0] > m[1][1] and m[0][0] > m[2][2]:
        s = 2.0 * math.sqrt(1.0 + m[0][0] - m[1][1] - m[2][2])
        q = (s / 4, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s, (m[2][1] - m[1][2]) / s)
    elif m[1][1] > m[2][2]:
        s = 2.0 * math.sqrt(1.0 + m[1][1] - m[0][0] - m[2][2])
        q = ((m[0][1] + m[1][0]) / s, s / 4, (m[1][2] + m[2][1]) / s, (m[0][2] - m[2][0]) / s)
    else:
        s = 2.0 * math.sqrt(1.0 + m[2][2] - m[0][0] - m[1][1])
        q = ((m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, s / 4, (m[1][0] - m[0][1]) / s)
    return q if q[3] >= 0 else (-q[0], -q[1], -q[2], -q[3])


# Person frame -> Unity: the same flip of the x axis (an involution).
person_to_unity = unity_to_person
