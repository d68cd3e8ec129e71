"""Expression presets: the user-editable TOML file that says what "happy", "angry" ... do to the face.

Each preset is a partial pose (what it sets, how strongly, what it leaves to tracking), its fades, its
mode and optional OBS actions. `load_presets` validates everything and names the file and key on error.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.pose import BY_NAME, GROUPS, PARAMETERS, THA3_SIZE, unknown_parameter
from vtube_plugin.profile_files import default_presets_path
from vtube_plugin.user_files import is_number, read_toml

MODES = ("toggle", "hold", "one-shot")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

# Names a user can put in `keep` besides parameter, pair and group names: the two things streamers most
# often want to keep live under an expression.
MASK_ALIASES: dict[str, tuple[str, ...]] = {
    "blink": ("eye_wink_left", "eye_wink_right"),
    "lip_sync": ("mouth_aaa", "mouth_iii", "mouth_uuu", "mouth_eee", "mouth_ooo"),
}

_EXPRESSION_KEYS = {
    "mode", "duration", "fade_in", "fade_out", "priority", "strength", "exclusive",
    "pose", "offset", "keep", "key", "obs", "description",
}
# What [defaults] may set for every expression (the rest is per expression).
_DEFAULT_KEYS = {"mode", "duration", "fade_in", "fade_out", "priority", "strength", "exclusive", "keep"}
_OBS_KEYS = {"scene", "show", "hide", "filters"}
# Keyboard libraries name one key several ways (pynput: ctrl_l, ctrl_r; users: control, ctrl).
_KEY_SIDES = ("_l", "_r", "_gr")
_KEY_ALIASES = {"control": "ctrl", "option": "alt", "win": "cmd", "super": "cmd", "meta": "cmd", "return": "enter",
                "escape": "esc"}


@dataclass(frozen=True)
class SceneItemRef:
    """A source shown in a scene, as OBS's Sources list shows it."""

    scene: str
    source: str


@dataclass(frozen=True)
class FilterRef:
    """A filter on a source, as the source's Filters window shows it."""

    source: str
    filter: str


@dataclass(frozen=True)
class ObsActions:
    """What OBS does while an expression is on; undone when it ends."""

    scene: str | None = None  # program scene switched to (and back from, if still live at the end)
    show: tuple[SceneItemRef, ...] = ()  # shown while on, hidden after
    hide: tuple[SceneItemRef, ...] = ()  # hidden while on, shown after
    filters: tuple[FilterRef, ...] = ()  # enabled while on, disabled after

    def __bool__(self) -> bool:
        return bool(self.scene or self.show or self.hide or self.filters)


@dataclass(frozen=True)
class Expression:
    """One preset. `targets`, `offsets` and `owned` are 45-long arrays in pose order, built by the loader."""

    name: str
    mode: str = "toggle"
    fade_in: float = 0.2
    fade_out: float = 0.3
    duration: float | None = None  # one-shot only: seconds it stays on before fading out
    priority: int = 0
    strength: float = 1.0
    exclusive: bool = False
    pose: Mapping[str, float] = field(default_factory=dict)  # parameter -> target
    offset: Mapping[str, float] = field(default_factory=dict)  # parameter -> amount added to what is below
    keep: frozenset[str] = frozenset()  # parameters always left to tracking (the mask)
    key: str | None = None  # keyboard binding, e.g. "ctrl+alt+1"
    obs: ObsActions = ObsActions()
    description: str = ""
    targets: np.ndarray = field(default_factory=lambda: np.zeros(THA3_SIZE, np.float32), repr=False, compare=False)
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(THA3_SIZE, np.float32), repr=False, compare=False)
    owned: np.ndarray = field(default_factory=lambda: np.zeros(THA3_SIZE, bool), repr=False, compare=False)


def load_presets(path: str | Path | None = None) -> dict[str, Expression]:
    """Read and check a presets file; the dict keeps the file's order."""
    path = Path(path) if path is not None else default_presets_path()
    return parse_presets(read_toml(path, "expression presets file"), where=str(path))


def parse_presets(data: Mapping[str, Any], where: str = "expression presets") -> dict[str, Expression]:
    """Presets from an already-parsed TOML table: `[defaults]` plus one table per expression."""
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise UserError(f"{where}: [defaults] must be a table of settings")
    unknown = set(defaults) - _DEFAULT_KEYS
    if unknown:
        raise UserError(f"{where}: [defaults] has unknown setting(s) {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(sorted(_DEFAULT_KEYS))}")
    presets: dict[str, Expression] = {}
    for name, table in data.items():
        if name == "defaults":
            continue
        if not isinstance(table, dict):
            raise UserError(f"{where}: '{name}' must be a table ([{name}]) of expression settings")
        presets[name] = _parse_expression(name, table, defaults, where)
    if not presets:
        raise UserError(f"{where}: no expressions defined; add a table such as [happy] with a pose")
    keys: dict[str, str] = {}
    for expr in presets.values():
        if expr.key is not None:
            other = keys.setdefault(parse_chord(expr.key), expr.name)
            if other != expr.name:
                raise UserError(f"{where}: key '{expr.key}' is bound to both '{other}' and '{expr.name}'")
    return presets


def key_name(name: str) -> str:
    """One spelling per key: `Ctrl_L` -> `ctrl`, `A` -> `a`."""
    name = name.strip().lower()
    for side in _KEY_SIDES:
        if len(name) > len(side) and name.endswith(side):
            name = name[: -len(side)]
    return _KEY_ALIASES.get(name, name)


def parse_chord(spec: str) -> frozenset[str]:
    """The keys of a binding such as "ctrl+alt+1", spelled as `key_name` spells them."""
    keys = frozenset(key_name(part) for part in spec.split("+") if part.strip())
    if not keys:
        raise UserError(f"cannot read the key binding {spec!r}; write it like \"ctrl+alt+1\"")
    return keys


def _parse_expression(name: str, own: dict[str, Any], defaults: dict[str, Any], where: str) -> Expression:
    at = f"{where}: [{name}]"
    if not NAME_PATTERN.match(name):
        raise UserError(f"{at}: expression names use lowercase letters, digits, '-' and '_' "
                        "(for example gangimari-gao)")
    table = {**defaults, **own}
    unknown = set(own) - _EXPRESSION_KEYS
    if unknown:
        bad = sorted(unknown)[0]
        close = difflib.get_close_matches(bad, sorted(_EXPRESSION_KEYS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else f" Known settings: {', '.join(sorted(_EXPRESSION_KEYS))}."
        raise UserError(f"{at}: unknown setting '{bad}'.{hint}")

    mode = table.get("mode", "toggle")
    if mode not in MODES:
        raise UserError(f"{at}: mode must be one of {', '.join(MODES)}, got {mode!r}")
    fade_in = _seconds(table, "fade_in", 0.2, at)
    fade_out = _seconds(table, "fade_out", 0.3, at)
    duration = table.get("duration")
    if mode == "one-shot":
        if duration is None:
            raise UserError(f"{at}: a one-shot expression needs duration = seconds it stays on (for example 1.5)")
        duration = _seconds(table, "duration", 0.0, at)
        if duration <= 0:
            raise UserError(f"{at}: duration must be more than 0 seconds")
    elif "duration" in own:
        raise UserError(f"{at}: duration only applies to mode = \"one-shot\" (this one is {mode})")
    else:
        duration = None  # a [defaults] duration only concerns one-shots
    priority = table.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise UserError(f"{at}: priority must be a whole number (higher wins), got {priority!r}")
    strength = _number(table, "strength", 1.0, at)
    if not 0.0 <= strength <= 1.0:
        raise UserError(f"{at}: strength must be between 0 and 1, got {strength:g}")
    exclusive = table.get("exclusive", False)
    if not isinstance(exclusive, bool):
        raise UserError(f"{at}: exclusive must be true or false")

    pose = _parameter_table(table.get("pose", {}), f"{at} pose", offsets=False)
    offset = _parameter_table(table.get("offset", {}), f"{at} offset", offsets=True)
    if not pose and not offset:
        raise UserError(f"{at}: sets nothing; add a pose table, e.g. pose = {{ mouth_raised_corner = 1.0 }}")
    keep = _mask(table.get("keep", []), at)

    key = table.get("key")
    if key is not None:
        if not isinstance(key, str):
            raise UserError(f"{at}: key must be text such as \"ctrl+alt+1\"")
        try:
            parse_chord(key)  # here, not when the hotkeys start: a key of "+" is a mistake in this file
        except UserError as err:
            raise UserError(f"{at}: {err}") from None
    description = table.get("description", "")
    if not isinstance(description, str):
        raise UserError(f"{at}: description must be text")

    targets = np.zeros(THA3_SIZE, np.float32)
    offsets = np.zeros(THA3_SIZE, np.float32)
    owned = np.zeros(THA3_SIZE, bool)
    owned_groups = {BY_NAME[p].group for p in pose}
    for p in PARAMETERS:
        if p.group in owned_groups and p.name not in keep:
            owned[p.index] = True
    for p_name, value in pose.items():
        targets[BY_NAME[p_name].index] = value
    for p_name, value in offset.items():
        offsets[BY_NAME[p_name].index] = value

    return Expression(
        name=name, mode=mode, fade_in=fade_in, fade_out=fade_out, duration=duration, priority=priority,
        strength=strength, exclusive=exclusive, pose=pose, offset=offset, keep=keep, key=key,
        obs=_obs_actions(table.get("obs", {}), at), description=description,
        targets=targets, offsets=offsets, owned=owned,
    )


def _number(table: Mapping[str, Any], key: str, default: float, at: str) -> float:
    value = table.get(key, default)
    if not is_number(value):
        raise UserError(f"{at}: {key} must be a number, got {value!r}")
    return float(value)


def _seconds(table: Mapping[str, Any], key: str, default: float, at: str) -> float:
    value = _number(table, key, default, at)
    if value < 0:
        raise UserError(f"{at}: {key} must be 0 or more seconds, got {value:g}")
    return value


def _expand(name: str) -> tuple[str, ...]:
    """A parameter name, or a pair's base name (`eye_wink` -> both sides)."""
    if name in BY_NAME:
        return (name,)
    pair = (f"{name}_left", f"{name}_right")
    if pair[0] in BY_NAME:
        return pair
    return ()


def _parameter_table(raw: Any, at: str, offsets: bool) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise UserError(f"{at} must be a table of parameter = value, e.g. {{ eyebrow_angry = 1.0 }}")
    values: dict[str, float] = {}
    for name, value in raw.items():
        names = _expand(name)
        if not names:
            raise UserError(f"{at}: {unknown_parameter(name, pairs=True)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{at}: {name} must be a number, got {value!r}")
        for full in names:
            p = BY_NAME[full]
            low, high = (-2.0, 2.0) if offsets else (p.minimum, p.maximum)
            if not low <= value <= high:
                raise UserError(f"{at}: {name} = {value:g} is outside {low:g}..{high:g}")
            values[full] = float(value)
    return values


def _mask(raw: Any, at: str) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise UserError(f"{at}: keep must be a list of names, e.g. keep = [\"blink\", \"lip_sync\"]")
    kept: set[str] = set()
    for item in raw:
        if item in MASK_ALIASES:
            kept.update(MASK_ALIASES[item])
        elif item in GROUPS:
            kept.update(p.name for p in PARAMETERS if p.group == item)
        elif _expand(item):
            kept.update(_expand(item))
        else:
            raise UserError(f"{at}: cannot keep '{item}': not a parameter, a pair (eye_wink), a group "
                            f"({', '.join(GROUPS)}) or one of {', '.join(MASK_ALIASES)}")
    return frozenset(kept)


def _text(value: Any, what: str, at: str) -> str:
    if not isinstance(value, str) or not value:
        raise UserError(f"{at}: {what} must be a non-empty name, got {value!r}")
    return value


def _refs(raw: Any, kind: str, at: str) -> list[dict[str, Any]]:
    example = '{ scene = "Main", source = "Rain" }' if kind != "filters" else '{ source = "Character", filter = "Red" }'
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise UserError(f"{at}: obs.{kind} must be a list of tables, e.g. [{example}]")
    return raw


def _obs_actions(raw: Any, at: str) -> ObsActions:
    if not isinstance(raw, dict):
        raise UserError(f"{at}: obs must be a table, e.g. obs = {{ scene = \"Angry\" }}")
    unknown = set(raw) - _OBS_KEYS
    if unknown:
        raise UserError(f"{at}: unknown obs action '{sorted(unknown)[0]}'; known: {', '.join(sorted(_OBS_KEYS))}")
    scene = _text(raw["scene"], "obs.scene", at) if "scene" in raw else None
    items: dict[str, tuple[SceneItemRef, ...]] = {}
    for kind in ("show", "hide"):
        refs = []
        for item in _refs(raw.get(kind, []), kind, at):
            if set(item) != {"scene", "source"}:
                raise UserError(f"{at}: each obs.{kind} entry needs exactly scene and source")
            refs.append(SceneItemRef(_text(item["scene"], "scene", at), _text(item["source"], "source", at)))
        items[kind] = tuple(refs)
    filters = []
    for item in _refs(raw.get("filters", []), "filters", at):
        if set(item) != {"source", "filter"}:
            raise UserError(f"{at}: each obs.filters entry needs exactly source and filter")
        filters.append(FilterRef(_text(item["source"], "source", at), _text(item["filter"], "filter", at)))
    return ObsActions(scene=scene, show=items["show"], hide=items["hide"], filters=tuple(filters))
