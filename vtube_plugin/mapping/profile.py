"""Profiles: TOML files that say how a tracker's blendshapes and angles drive the 45 pose parameters.

`load_profile("arkit")` reads a bundled profile (profiles/arkit.toml) or the user's own
(<config dir>/profiles/NAME.toml, or any path); every mistake in the file is a UserError naming file, table and key.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vtube_plugin.errors import UserError
from vtube_plugin.mapping.smoothing import OneEuroSettings
from vtube_plugin.pose import BY_NAME, GROUPS, smoothstep, unknown_parameter
from vtube_plugin.profile_files import TRACKING, bundled_names
from vtube_plugin.profile_files import find_profile as find_profile_file
from vtube_plugin.sources.names import ARKIT_NAMES
from vtube_plugin.user_files import is_number, read_toml

CURVES = ("linear", "smoothstep", "pow")
COMBINES = ("sum", "max")
ANGLES = ("pitch", "yaw", "roll")
# Angle inputs (degrees, after calibration) any rule may read besides blendshapes and signals.
ANGLE_INPUTS = ("head_pitch", "head_yaw", "head_roll", "eye_pitch", "eye_yaw")
HEAD_PARAMETERS = ("head_x", "head_y", "neck_z", "body_y", "body_z")
_ARKIT_LOWER = {n.lower(): n for n in ARKIT_NAMES}


@dataclass(frozen=True)
class Rule:
    """How one value is computed from inputs (blendshapes, signals, angles); see docs/profiles.md.

    x = sum (or max) of weight * input; then the dead zone is cut off |x|, the rest multiplied by gain,
    limited to 1, shaped by the curve, signed like x, multiplied by the `when` signals and by
    (1 - s) for the `unless` signals, and clamped."""

    inputs: tuple[tuple[str, float], ...]  # (lower-case input name, weight)
    combine: str = "sum"
    dead_zone: float = 0.0
    gain: float = 1.0
    curve: str = "linear"
    exponent: float = 2.0
    clamp: tuple[float, float] = (-1.0, 1.0)
    when: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    def reads(self, present: Collection[str]) -> bool:
        """Whether any of its inputs is among `present`: a rule none of whose inputs a tracker sends is not
        driven by it (its 0 is "no data", which idle life may fill in), however the `when`/`unless` gates read."""
        return any(name in present for name, _ in self.inputs)

    def evaluate(self, values: Mapping[str, float]) -> float:
        terms = [w * values[name] for name, w in self.inputs if name in values]
        if not terms:
            return 0.0
        x = max(terms) if self.combine == "max" else sum(terms)
        m = min(max(abs(x) - self.dead_zone, 0.0) * self.gain, 1.0)
        if self.curve == "smoothstep":
            m = smoothstep(m)
        elif self.curve == "pow":
            m = m**self.exponent
        y = math.copysign(m, x)
        for name in self.when:
            y *= min(max(values.get(name, 0.0), 0.0), 1.0)
        for name in self.unless:
            y *= 1.0 - min(max(values.get(name, 0.0), 0.0), 1.0)
        return min(max(y, self.clamp[0]), self.clamp[1])


@dataclass(frozen=True)
class IrisAngles:
    """Iris rotation from the tracker's eye angles, used instead of the blendshape rules when a frame carries them."""

    use_eye_angles: bool = True
    degrees_x: float = 20.0  # eye pitch (up) that moves the irises fully up
    degrees_y: float = 20.0  # eye yaw that moves the irises fully sideways
    dead_zone: float = 0.0  # degrees


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    description: str = ""
    signals: dict[str, Rule] = field(default_factory=dict)  # evaluated in file order
    parameters: dict[str, Rule] = field(default_factory=dict)  # pose name -> rule (head ones from [head])
    iris: IrisAngles = IrisAngles()
    smoothing: dict[str, OneEuroSettings] = field(default_factory=dict)  # pose group -> settings


# --- finding ---------------------------------------------------------------------------------------
def bundled_profiles() -> list[str]:
    """The tracking profiles among the bundled ones (profiles/ also holds expression and motion files)."""
    return bundled_names(TRACKING)


def find_profile(spec: str | Path) -> Path:
    """A path as given, else NAME in the user's profiles folder, else a bundled profile."""
    return find_profile_file(spec, TRACKING)


def load_profile(spec: str | Path) -> Profile:
    path = find_profile(spec)
    return _Reader(path).profile(read_toml(path, "profile"))


# --- validation ------------------------------------------------------------------------------------
_RULE_KEYS = ("inputs", "combine", "dead_zone", "gain", "curve", "exponent", "clamp", "when", "unless")
_HEAD_KEYS = ("angle", "degrees", "sign", "dead_zone", "curve", "exponent")
_IRIS_KEYS = ("use_eye_angles", "degrees_x", "degrees_y", "dead_zone")
_SMOOTHING_KEYS = ("min_cutoff", "beta", "d_cutoff")
_TOP_KEYS = ("name", "description", "signals", "parameters", "head", "iris", "smoothing")


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3)
    return f" Did you mean {', '.join(close)}?" if close else ""


class _Reader:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, table: str, key: str | None, problem: str) -> UserError:
        where = f"[{table}]" if key is None else f"[{table}] {key}"
        return UserError(f"profile {self.path}: {where}: {problem}")

    def table(self, data: Any, table: str, key: str | None = None) -> dict:
        if not isinstance(data, dict):
            raise self.fail(table, key, f"must be a table, got {type(data).__name__} {data!r}")
        return data

    def known_keys(self, data: dict, table: str, allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(table, key, f"unknown key.{_suggest(key, allowed)} Known keys: {', '.join(allowed)}")

    def number(self, data: dict, table: str, key: str, default: float, *, minimum: float | None = None,
               positive: bool = False) -> float:
        value = data.get(key, default)
        if not is_number(value):
            raise self.fail(table, key, f"must be a number, got {value!r}")
        if positive and value <= 0:
            raise self.fail(table, key, f"must be greater than 0, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(table, key, f"must not be negative, got {value!r}")
        return float(value)

    def choice(self, data: dict, table: str, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or value not in choices:
            raise self.fail(table, key, f"unknown {key} {value!r}; use one of {', '.join(choices)}")
        return value

    # ---
    def profile(self, data: dict) -> Profile:
        self.known_keys(data, "top level", _TOP_KEYS)
        name = data.get("name", self.path.stem)
        description = data.get("description", "")
        for key, value in (("name", name), ("description", description)):
            if not isinstance(value, str):
                raise self.fail("top level", key, f"must be a string, got {value!r}")
        signals: dict[str, Rule] = {}
        for sname, body in self.table(data.get("signals", {}), "signals").items():
            table = f"signals.{sname}"
            if sname.lower() in _ARKIT_LOWER or sname.lower() in ANGLE_INPUTS:
                raise self.fail(table, None, "a signal may not take the name of a blendshape or angle input")
            signals[sname.lower()] = self.rule(body, table, (-1.0, 1.0), known_signals=tuple(signals))
        parameters: dict[str, Rule] = {}
        for pname, body in self.table(data.get("parameters", {}), "parameters").items():
            table = f"parameters.{pname}"
            p = BY_NAME.get(pname)
            if p is None:
                raise self.fail(table, None, unknown_parameter(pname))
            if pname in HEAD_PARAMETERS:
                raise self.fail(table, None, f"{pname} is set in the [head] table (angle, degrees, sign)")
            parameters[pname] = self.rule(body, table, (p.minimum, p.maximum), known_signals=tuple(signals))
        for pname, body in self.table(data.get("head", {}), "head").items():
            parameters[pname] = self.head_rule(pname, body)
        iris = self.iris(data.get("iris", {}))
        smoothing = self.smoothing(data.get("smoothing", {}))
        return Profile(name, self.path, description, signals, parameters, iris, smoothing)

    def rule(self, body: Any, table: str, limits: tuple[float, float], known_signals: tuple[str, ...]) -> Rule:
        body = self.table(body, table)
        self.known_keys(body, table, _RULE_KEYS)
        if "inputs" not in body:
            raise self.fail(table, "inputs", "missing: give a table of input name = weight, e.g. { jawOpen = 1.0 }")
        inputs = []
        for name, weight in self.table(body["inputs"], table, "inputs").items():
            if not is_number(weight):
                raise self.fail(table, f"inputs.{name}", f"weight must be a number, got {weight!r}")
            lower = name.lower()
            if lower not in _ARKIT_LOWER and lower not in known_signals and lower not in ANGLE_INPUTS:
                close = difflib.get_close_matches(lower, list(_ARKIT_LOWER), n=1, cutoff=0.9)
                if close:  # almost an ARKit name: a typo, not a custom blendshape
                    raise self.fail(table, f"inputs.{name}", f"unknown input. Did you mean {_ARKIT_LOWER[close[0]]}?")
            inputs.append((lower, float(weight)))
        combine = self.choice(body, table, "combine", "sum", COMBINES)
        dead_zone = self.number(body, table, "dead_zone", 0.0, minimum=0.0)
        gain = self.number(body, table, "gain", 1.0, minimum=0.0)
        curve = self.choice(body, table, "curve", "linear", CURVES)
        exponent = self.number(body, table, "exponent", 2.0, positive=True)
        clamp = self.clamp(body, table, limits)
        gates = {}
        for key in ("when", "unless"):
            value = body.get(key, [])
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise self.fail(table, key, f"must be a signal name or a list of them, got {value!r}")
            for n in names:
                if n.lower() not in known_signals:
                    defined = ", ".join(known_signals) or "none"
                    raise self.fail(table, key, f"unknown signal '{n}' (signals defined above this table: "
                                                f"{defined}).{_suggest(n.lower(), known_signals)}")
            gates[key] = tuple(n.lower() for n in names)
        return Rule(tuple(inputs), combine, dead_zone, gain, curve, exponent, clamp, gates["when"], gates["unless"])

    def clamp(self, body: dict, table: str, limits: tuple[float, float]) -> tuple[float, float]:
        value = body.get("clamp", list(limits))
        if not (isinstance(value, list) and len(value) == 2 and all(is_number(v) for v in value)):
            raise self.fail(table, "clamp", f"must be two numbers [low, high], got {value!r}")
        low, high = float(value[0]), float(value[1])
        if low > high or low < limits[0] or high > limits[1]:
            raise self.fail(table, "clamp",
                            f"[{low:g}, {high:g}] must be low <= high inside {limits[0]:g}..{limits[1]:g}")
        return (low, high)

    def head_rule(self, pname: str, body: Any) -> Rule:
        table = f"head.{pname}"
        if pname not in HEAD_PARAMETERS:
            raise self.fail(table, None, f"the [head] table drives {', '.join(HEAD_PARAMETERS)}, not '{pname}'."
                                         f"{_suggest(pname, HEAD_PARAMETERS)}")
        body = self.table(body, table)
        self.known_keys(body, table, _HEAD_KEYS)
        if "angle" not in body:
            raise self.fail(table, "angle", f"missing: which head angle drives {pname} ({', '.join(ANGLES)})")
        angle = self.choice(body, table, "angle", "", ANGLES)
        degrees = self.number(body, table, "degrees", 15.0, positive=True)
        sign = body.get("sign", 1)
        if sign not in (1, -1) or isinstance(sign, bool):
            raise self.fail(table, "sign", f"must be 1 or -1, got {sign!r}")
        dead_zone = self.number(body, table, "dead_zone", 0.0, minimum=0.0)
        curve = self.choice(body, table, "curve", "linear", CURVES)
        exponent = self.number(body, table, "exponent", 2.0, positive=True)
        # Degrees become the rule's 0..1 scale here, so the dead zone is given in degrees too.
        return Rule(((f"head_{angle}", sign / degrees),), dead_zone=dead_zone / degrees, curve=curve, exponent=exponent)

    def iris(self, data: Any) -> IrisAngles:
        body = self.table(data, "iris")
        self.known_keys(body, "iris", _IRIS_KEYS)
        use = body.get("use_eye_angles", True)
        if not isinstance(use, bool):
            raise self.fail("iris", "use_eye_angles", f"must be true or false, got {use!r}")
        return IrisAngles(
            use,
            self.number(body, "iris", "degrees_x", 20.0, positive=True),
            self.number(body, "iris", "degrees_y", 20.0, positive=True),
            self.number(body, "iris", "dead_zone", 0.0, minimum=0.0),
        )

    def smoothing(self, data: Any) -> dict[str, OneEuroSettings]:
        out = {}
        for group, body in self.table(data, "smoothing").items():
            table = f"smoothing.{group}"
            if group not in GROUPS:
                raise self.fail(table, None, f"unknown parameter group '{group}'.{_suggest(group, GROUPS)} "
                                             f"Groups: {', '.join(GROUPS)}")
            body = self.table(body, table)
            self.known_keys(body, table, _SMOOTHING_KEYS)
            default = OneEuroSettings()
            out[group] = OneEuroSettings(
                self.number(body, table, "min_cutoff", default.min_cutoff, positive=True),
                self.number(body, table, "beta", default.beta, minimum=0.0),
                self.number(body, table, "d_cutoff", default.d_cutoff, positive=True),
            )
        return out
