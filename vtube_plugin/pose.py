"""The pose: 42 named parameters of THA2 (eyebrows, eyes, irises, mouth, head), plus THA3's three extras.

One `Pose` crosses from the mapper (or a file, or sliders) to the renderer. It is built from a dict,
a JSON/TOML file or `name=value` pairs, and refuses unknown names and out-of-range values clearly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.user_files import read_json, read_toml


@dataclass(frozen=True)
class Parameter:
    name: str
    index: int
    group: str  # eyebrow, eye, iris_morph, mouth, iris_rotation, face_rotation, body_rotation, breathing
    minimum: float
    maximum: float


def _table() -> tuple[Parameter, ...]:
    rows: list[tuple[str, str, bool, float]] = []  # (base name, group, paired left/right, minimum)
    for name in ("troubled", "angry", "lowered", "raised", "happy", "serious"):
        rows.append((f"eyebrow_{name}", "eyebrow", True, 0.0))
    for name in ("wink", "happy_wink", "surprised", "relaxed", "unimpressed", "raised_lower_eyelid"):
        rows.append((f"eye_{name}", "eye", True, 0.0))
    rows.append(("iris_small", "iris_morph", True, 0.0))
    for name in ("aaa", "iii", "uuu", "eee", "ooo", "delta"):
        rows.append((f"mouth_{name}", "mouth", False, 0.0))
    rows.append(("mouth_lowered_corner", "mouth", True, 0.0))
    rows.append(("mouth_raised_corner", "mouth", True, 0.0))
    rows.append(("mouth_smirk", "mouth", False, 0.0))
    rows.append(("iris_rotation_x", "iris_rotation", False, -1.0))
    rows.append(("iris_rotation_y", "iris_rotation", False, -1.0))
    for name in ("head_x", "head_y", "neck_z"):
        rows.append((name, "face_rotation", False, -1.0))
    rows.append(("body_y", "body_rotation", False, -1.0))
    rows.append(("body_z", "body_rotation", False, -1.0))
    rows.append(("breathing", "breathing", False, 0.0))

    params: list[Parameter] = []
    for base, group, paired, minimum in rows:
        names = [f"{base}_left", f"{base}_right"] if paired else [base]
        for name in names:
            params.append(Parameter(name, len(params), group, minimum, 1.0))
    return tuple(params)


PARAMETERS: tuple[Parameter, ...] = _table()
BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
NAMES: tuple[str, ...] = tuple(p.name for p in PARAMETERS)
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(p.group for p in PARAMETERS))
THA2_SIZE = 42  # THA2 takes the first 42; THA3 all 45
THA3_SIZE = len(PARAMETERS)
# Every parameter's range in pose order, for clamping a whole array of values at once.
MINIMUM = np.array([p.minimum for p in PARAMETERS], dtype=np.float32)
MAXIMUM = np.array([p.maximum for p in PARAMETERS], dtype=np.float32)
MINIMUM.flags.writeable = MAXIMUM.flags.writeable = False  # shared by every importer

# The slices each network stage reads, shared by THA2 and THA3 (THA3's rotation slice runs to 45).
EYEBROW_SLICE = slice(0, 12)
FACE_SLICE = slice(12, 39)
ROTATION_SLICE = slice(39, 45)

assert THA3_SIZE == 45 and BY_NAME["head_x"].index == 39 and BY_NAME["mouth_aaa"].index == 26


def _range_text(p: Parameter) -> str:
    return f"{p.minimum:g}..{p.maximum:g}"


# A pair's base name (eye_wink: both eyes), which expression presets accept besides the full names.
PAIR_NAMES: tuple[str, ...] = tuple(n.removesuffix("_left") for n in NAMES if n.endswith("_left"))


def close_parameters(name: str, n: int = 3, *, pairs: bool = False) -> list[str]:
    """The parameter names a misspelt `name` most likely meant, best first (with `pairs`, base names too)."""
    import difflib

    return difflib.get_close_matches(name, list(NAMES) + list(PAIR_NAMES) if pairs else list(NAMES), n=n)


def unknown_parameter(name: str, *, pairs: bool = False) -> str:
    """The sentence for a name that is no pose parameter: "unknown pose parameter 'x'. Did you mean ...?"."""
    close = close_parameters(name, pairs=pairs)
    hint = (f" Did you mean {', '.join(close)}?" if close
            else " Run `vtube-plugin render --list-parameters` for all names.")
    return f"unknown pose parameter '{name}'.{hint}"


def _unknown(name: str) -> UserError:
    return UserError(unknown_parameter(name))


class Pose:
    """45 named floats; anything not set is 0 (the neutral face looking straight ahead)."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[float] | None = None):
        if values is None:
            self._values = np.zeros(THA3_SIZE, dtype=np.float32)
        else:
            arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float32).ravel()
            if arr.shape[0] not in (THA2_SIZE, THA3_SIZE):
                raise ValueError(f"a pose has {THA2_SIZE} or {THA3_SIZE} values, got {arr.shape[0]}")
            full = np.zeros(THA3_SIZE, dtype=np.float32)
            full[: arr.shape[0]] = arr
            self._values = full

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: Mapping[str, object], *, clamp: bool = False) -> Pose:
        """Names from PARAMETERS. Out-of-range values are an error unless `clamp` (used for live tracking)."""
        pose = cls()
        for name, raw in values.items():
            p = BY_NAME.get(str(name))
            if p is None:
                raise _unknown(str(name))
            try:
                value = float(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise UserError(f"pose parameter '{name}' must be a number in {_range_text(p)}, got {raw!r}") from None
            if math.isnan(value):
                raise UserError(f"pose parameter '{name}' is NaN; give a number in {_range_text(p)}")
            if not p.minimum <= value <= p.maximum:
                if not clamp:
                    raise UserError(f"pose parameter '{name}' = {value:g} is outside its range {_range_text(p)}")
                value = min(max(value, p.minimum), p.maximum)
            pose._values[p.index] = value
        return pose

    @classmethod
    def from_pairs(cls, pairs: Iterable[str]) -> Pose:
        """`["mouth_aaa=1", "head_y=-0.5"]` (also accepts one string with comma- or space-separated pairs)."""
        values: dict[str, str] = {}
        for item in pairs:
            for pair in item.replace(",", " ").split():
                name, sep, value = pair.partition("=")
                if not sep or not name or not value:
                    raise UserError(f"'{pair}' is not a name=value pair (for example mouth_aaa=1 or head_y=-0.5)")
                values[name.strip()] = value.strip()
        return cls.from_dict(values)

    @classmethod
    def from_file(cls, path: str | Path) -> Pose:
        """A JSON or TOML file: `{name: value}`, optionally under a `pose` key (as the poser saves it)."""
        path = Path(path)
        data = read_toml(path, "pose file") if path.suffix.lower() == ".toml" else read_json(path, "pose file")
        if isinstance(data, dict) and isinstance(data.get("pose"), dict):
            data = data["pose"]
        if not isinstance(data, dict):
            raise UserError(f"pose file {path} must hold a table of name = value pairs")
        return cls.from_dict(data)

    @classmethod
    def parse(cls, spec: str | Iterable[str]) -> Pose:
        """What a user types after --pose: a file path, or name=value pairs."""
        items = [spec] if isinstance(spec, str) else list(spec)
        if len(items) == 1 and "=" not in items[0]:
            return cls.from_file(items[0])
        return cls.from_pairs(items)

    # --- reading ------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> float:
        p = BY_NAME.get(name)
        if p is None:
            raise _unknown(name)
        return float(self._values[p.index])

    def to_dict(self, size: int = THA3_SIZE) -> dict[str, float]:
        return {p.name: float(self._values[p.index]) for p in PARAMETERS[:size]}

    def as_array(self, size: int = THA3_SIZE) -> np.ndarray:
        """A copy of the first `size` values (42 for THA2, 45 for THA3), float32."""
        return self._values[:size].copy()

    def replace(self, **values: float) -> Pose:
        """A new pose with some values changed (validated like from_dict)."""
        checked = Pose.from_dict(values)
        changed = Pose(self._values)
        for name in values:
            index = BY_NAME[name].index
            changed._values[index] = checked._values[index]
        return changed

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pose) and bool(np.array_equal(self._values, other._values))

    def __repr__(self) -> str:
        set_values = ", ".join(f"{p.name}={self._values[p.index]:g}" for p in PARAMETERS if self._values[p.index] != 0)
        return f"Pose({set_values})"


def smoothstep(x: float) -> float:
    """The fade curve every fade uses (expressions, lost tracking, the demo, profiles' `curve = "smoothstep"`):
    eases in and out, 0.5 at the halfway point, never overshoots; x is held inside 0..1."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def lerp(a: Pose, b: Pose, t: float) -> Pose:
    """The pose a fraction t of the way from a to b."""
    return Pose(a.as_array() + (b.as_array() - a.as_array()) * np.float32(t))
