"""Reading a user's file (TOML, JSON or plain text), with one wording for every way it can fail."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from vtube_plugin.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_text(path: Path, what: str) -> str:
    """The file's UTF-8 text; `what` names it in messages ("pose track")."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {what} {path}: {exc}") from None


def read_toml(path: Path, what: str, missing_ok: bool = False) -> dict[str, Any]:
    """The parsed table; `what` names the file in messages ("expression presets file"). A missing file is
    an error, or an empty table when `missing_ok`."""
    if missing_ok and not path.exists():
        return {}
    try:
        return tomllib.loads(read_text(path, what))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{what} {path} is not valid TOML: {exc}") from None


def is_number(value: Any) -> bool:
    """A real, finite number. TOML has `inf` and `nan` (and `true` is an int to Python); any of them in a
    setting would turn the pose into NaN or silently zero it."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(read_text(path, what))
    except ValueError as exc:
        raise UserError(f"{what} {path} is not valid JSON: {exc}") from None
