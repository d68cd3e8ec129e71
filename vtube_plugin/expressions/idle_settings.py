"""Idle life settings: the user-editable profiles/idle.toml (blinks, breathing, sway, eye drift).

`load_idle_settings(None)` reads the user's own <config>/idle.toml if there is one, else the shipped file;
every mistake is a UserError naming the file, the table and the key.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from vtube_plugin.bundled import profiles_dir
from vtube_plugin.errors import UserError
from vtube_plugin.user_files import is_number, read_toml

SWAY_PARAMETERS = ("head_x", "head_y", "neck_z", "body_y", "body_z")
EYE_PARAMETERS = ("iris_rotation_x", "iris_rotation_y")


@dataclass(frozen=True)
class BlinkSettings:
    enabled: bool = True
    interval: tuple[float, float] = (2.0, 6.0)  # seconds from one blink to the next, drawn evenly in this range
    duration: tuple[float, float] = (0.10, 0.25)  # seconds per blink, closing + closed + opening
    double_chance: float = 0.15  # how often a blink is followed at once by a second one


@dataclass(frozen=True)
class BreathingSettings:
    enabled: bool = True
    cycle: tuple[float, float] = (3.0, 5.0)  # seconds per breath, drawn anew for every breath
    amount: float = 1.0  # 0..1 of THA3's `breathing` parameter at the top of a breath


@dataclass(frozen=True)
class WanderSettings:
    """Slow random moves: a new target every `interval` seconds, reached in `move` seconds (sway: the move
    takes the whole interval; eyes: a quick glance, then a still gaze)."""

    enabled: bool = True
    interval: tuple[float, float] = (5.0, 10.0)
    move: tuple[float, float] = (5.0, 10.0)
    amplitude: dict[str, float] = field(default_factory=dict)  # parameter -> largest deflection (pose units)


DEFAULT_SWAY = WanderSettings(True, (5.0, 10.0), (5.0, 10.0),
                              {"head_x": 0.05, "head_y": 0.08, "neck_z": 0.06, "body_y": 0.06, "body_z": 0.04})
DEFAULT_EYES = WanderSettings(True, (1.5, 4.0), (0.12, 0.2), {"iris_rotation_x": 0.08, "iris_rotation_y": 0.15})


@dataclass(frozen=True)
class IdleSettings:
    enabled: bool = True
    seed: int | None = None  # the same seed gives the same blinks, breaths and sways (tests, recordings)
    blink: BlinkSettings = BlinkSettings()
    breathing: BreathingSettings = BreathingSettings()
    sway: WanderSettings = DEFAULT_SWAY
    eyes: WanderSettings = DEFAULT_EYES


def shipped_idle_path() -> Path:
    return profiles_dir() / "idle.toml"


def default_idle_path() -> Path:
    """The user's own idle.toml if they made one, else the shipped one."""
    from vtube_plugin.config_dir import config_dir

    user = config_dir() / "idle.toml"
    return user if user.is_file() else shipped_idle_path()


def load_idle_settings(path: str | Path | None = None) -> IdleSettings:
    path = Path(path) if path is not None else default_idle_path()
    return _Reader(path).settings(read_toml(path, "idle settings file"))


_TOP = ("enabled", "seed", "blink", "breathing", "sway", "eyes")
_BLINK = ("enabled", "interval", "duration", "double_chance")
_BREATHING = ("enabled", "cycle", "amount")
_WANDER = ("enabled", "interval", "move", "amplitude")


class _Reader:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, table: str, key: str, problem: str) -> UserError:
        return UserError(f"idle settings {self.path}: [{table}] {key}: {problem}")

    def table(self, data: dict, table: str, allowed: tuple[str, ...]) -> dict:
        body = data.get(table, {}) if table != "top level" else data
        if not isinstance(body, dict):
            raise UserError(f"idle settings {self.path}: [{table}] must be a table, got {body!r}")
        for key in body:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=2)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                raise self.fail(table, key, f"unknown key.{hint} Known keys: {', '.join(allowed)}")
        return body

    def flag(self, body: dict, table: str, key: str, default: bool) -> bool:
        value = body.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(table, key, f"must be true or false, got {value!r}")
        return value

    def number(self, body: dict, table: str, key: str, default: float, low: float, high: float) -> float:
        value = body.get(key, default)
        if not is_number(value) or not low <= value <= high:
            raise self.fail(table, key, f"must be a number from {low:g} to {high:g}, got {value!r}")
        return float(value)

    def span(self, body: dict, table: str, key: str, default: tuple[float, float], low: float,
             high: float) -> tuple[float, float]:
        """Seconds as [shortest, longest] (a single number means always that long)."""
        value = body.get(key, list(default))
        if is_number(value):
            value = [value, value]
        if not (isinstance(value, list) and len(value) == 2 and all(is_number(v) for v in value)
                and low <= value[0] <= value[1] <= high):
            raise self.fail(table, key, f"must be [shortest, longest] seconds with {low:g} <= shortest <= longest "
                                        f"<= {high:g}, got {value!r}")
        return (float(value[0]), float(value[1]))

    def settings(self, data: dict) -> IdleSettings:
        top = self.table(data, "top level", _TOP)
        seed = top.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise self.fail("top level", "seed", f"must be a whole number 0 or more, got {seed!r}")
        b = self.table(data, "blink", _BLINK)
        d = BlinkSettings()
        blink = BlinkSettings(self.flag(b, "blink", "enabled", True),
                              self.span(b, "blink", "interval", d.interval, 0.3, 120.0),
                              self.span(b, "blink", "duration", d.duration, 0.04, 1.0),
                              self.number(b, "blink", "double_chance", d.double_chance, 0.0, 1.0))
        r = self.table(data, "breathing", _BREATHING)
        dr = BreathingSettings()
        breathing = BreathingSettings(self.flag(r, "breathing", "enabled", True),
                                      self.span(r, "breathing", "cycle", dr.cycle, 0.5, 60.0),
                                      self.number(r, "breathing", "amount", dr.amount, 0.0, 1.0))
        return IdleSettings(self.flag(top, "top level", "enabled", True), seed, blink, breathing,
                            self.wander(data, "sway", DEFAULT_SWAY, SWAY_PARAMETERS),
                            self.wander(data, "eyes", DEFAULT_EYES, EYE_PARAMETERS))

    def wander(self, data: dict, table: str, default: WanderSettings, names: tuple[str, ...]) -> WanderSettings:
        body = self.table(data, table, _WANDER)
        amplitude = dict(default.amplitude)
        given = body.get("amplitude", {})
        if not isinstance(given, dict):
            raise self.fail(table, "amplitude", f"must be a table of parameter = amount, got {given!r}")
        for name in given:
            if name not in names:
                raise self.fail(table, f"amplitude.{name}", f"idle {table} does not move it; use {', '.join(names)}")
            amplitude[name] = self.number(given, f"{table}.amplitude", name, 0.0, 0.0, 1.0)
        return WanderSettings(self.flag(body, table, "enabled", True),
                              self.span(body, table, "interval", default.interval, 0.05, 600.0),
                              self.span(body, table, "move", default.move, 0.02, 600.0), amplitude)
