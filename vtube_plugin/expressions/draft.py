"""A preset being made from sliders (the studio's New preset): shown over the live face exactly as the saved preset
will show it (the presets file's [defaults] apply, so its `keep` leaves blinks and the voice live), then written
into the user's expressions file as a new [name] table, the file's own text and comments kept.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.presets import NAME_PATTERN, Expression, parse_presets
from vtube_plugin.pose import MAXIMUM, MINIMUM, Pose, smoothstep
from vtube_plugin.user_files import read_toml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DRAFT = "draft"  # the name the preset being made has until it is saved
KEY_PATTERN = re.compile(r"^[a-z0-9_+]{1,40}$")  # a hotkey as the presets file writes it: ctrl+alt+7


def _defaults(presets_file: Path) -> dict:
    data = read_toml(presets_file, "expression presets file") if presets_file.is_file() else {}
    defaults = data.get("defaults", {})
    return defaults if isinstance(defaults, dict) else {}


def preset_table(pose: dict[str, float], presets_file: Path) -> dict:
    """The new preset's table: its pose, and, where the file's [defaults] `keep` would leave a slider the user
    moved to tracking (the shipped `keep = ["blink", "lip_sync"]` keeps the mouth's vowels), a `keep` of its own
    without them: what the user moved is what the preset sets."""
    if not pose:
        raise UserError("a preset needs at least one slider moved")
    defaults = _defaults(presets_file)
    table: dict = {"pose": dict(pose)}
    kept = parse_presets({"defaults": defaults, DRAFT: table}, where="the new preset")[DRAFT].keep
    if kept & set(pose):
        table["keep"] = sorted(kept - set(pose))
    return table


def draft_expression(pose: dict[str, float], presets_file: Path) -> Expression:
    """The preset these slider values make, with the file's [defaults]; a UserError for a wrong name or value."""
    table = {"defaults": _defaults(presets_file), DRAFT: preset_table(pose, presets_file)}
    return parse_presets(table, where="the new preset")[DRAFT]


class DraftLayer:
    """The top layer while a preset is being made: the slider values over everything below, at full strength."""

    def __init__(self):
        self._lock = threading.Lock()
        self._expression: Expression | None = None
        self.pose: dict[str, float] = {}

    def set(self, pose: dict[str, float], presets_file: Path) -> None:
        """Show these values from the next frame; empty: show nothing (the preset was saved or dropped)."""
        expression = draft_expression(pose, presets_file) if pose else None
        with self._lock:
            self._expression, self.pose = expression, {k: float(v) for k, v in pose.items()}

    def apply(self, pose: Pose, now: float) -> Pose:
        with self._lock:
            expression = self._expression
        if expression is None:
            return pose
        values = pose.as_array()
        b = np.float32(smoothstep(1.0) * expression.strength)
        values = np.where(expression.owned, values + (expression.targets - values) * b, values)
        return Pose(np.clip(values + expression.offsets * b, MINIMUM, MAXIMUM))

    def close(self) -> None:
        pass


def save_preset(target: Path, shipped: Path, name: str, pose: dict[str, float], key: str | None = None
                ) -> dict[str, Expression]:
    """Add [name] with `pose` (and `key`) to the user's presets file `target` (started from the `shipped` file's
    text when the user has none, so every preset they had stays); returns the file's presets. Nothing is written
    when the result would not load: a name taken, a hotkey bound twice, a wrong value."""
    if not NAME_PATTERN.match(name or ""):
        raise UserError(f"a preset's name is lowercase letters, digits, - and _ (such as smug or wink-2), "
                        f"got {name!r:.60}")
    if name == DRAFT:
        raise UserError(f"'{DRAFT}' is the name of the preset being made; pick another")
    if key is not None and not KEY_PATTERN.match(key):
        raise UserError(f"a hotkey is keys joined by + (such as ctrl+alt+7), got {key!r:.60}")
    source = target if target.is_file() else shipped
    table = preset_table(pose, source)  # the names and values checked before any of them is written into TOML
    if not all(re.fullmatch(r"[a-z_]+", parameter) for parameter in [*pose, *table.get("keep", [])]):
        raise UserError("a preset's parameters are names such as mouth_aaa")
    text = source.read_text(encoding="utf-8") if source.is_file() else ""
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{source} cannot be read as TOML ({err}); fix it first, the new preset is not saved") from None
    if name in before:
        raise UserError(f"there is a preset named '{name}' already in {source}; pick another name")
    values = ", ".join(f"{parameter} = {float(value):.4g}" for parameter, value in pose.items())
    lines = f"\n[{name}]\n" + (f'key = "{key}"\n' if key else "") + f"pose = {{ {values} }}\n"
    if "keep" in table:
        lines += "keep = [" + ", ".join(f'"{kept}"' for kept in table["keep"]) + "]\n"
    new_text = (text if not text or text.endswith("\n") else text + "\n") + lines
    presets = parse_presets(tomllib.loads(new_text), where=str(target))  # the file as it would load next time
    target.parent.mkdir(parents=True, exist_ok=True)
    written = target.with_name(target.name + ".new")
    try:
        written.write_text(new_text, encoding="utf-8")
        os.replace(written, target)  # whole or not at all
    except OSError as exc:
        raise UserError(f"cannot write {target} ({exc.strerror or exc}); the new preset is not saved") from None
    return presets
