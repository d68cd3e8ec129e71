"""Reading a user's TOML file, with one wording for every way it can fail."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from vtube_plugin.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_toml(path: Path, what: str, missing_ok: bool = False) -> dict[str, Any]:
    """The parsed table; `what` names the file in messages ("expression presets file"). A missing file is
    an error, or an empty table when `missing_ok`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise UserError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {what} {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{what} {path} is not valid TOML: {exc}") from None
