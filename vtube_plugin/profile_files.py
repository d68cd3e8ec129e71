"""Finding the user-editable TOML files by name or path: the user's own folder first, then the bundled `profiles/`.

The folders hold three kinds of file: tracking profiles, motion profiles and the expression presets; a name
finds only a file of the kind asked for, and lists only those.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from vtube_plugin.bundled import profiles_dir
from vtube_plugin.config_dir import config_dir
from vtube_plugin.errors import UserError
from vtube_plugin.user_files import read_toml

PRESETS_FILE = "expressions.toml"  # the expression presets: one file, in the config folder or bundled


@dataclass(frozen=True)
class ProfileKind:
    label: str  # how messages name a file of this kind
    tables: tuple[str, ...]  # top-level tables that only this kind has
    missing: str  # the start of the message for a name that finds nothing ({name} is filled in)


TRACKING = ProfileKind("profile", ("parameters", "head", "signals", "iris"), "no profile named '{name}'.")
MOTION = ProfileKind("motion profile", ("morphs", "bones"), "motion profile not found: {name}.")
KINDS = (TRACKING, MOTION)


def user_profiles_dir() -> Path:
    return config_dir() / "profiles"


def kind_of(path: Path) -> ProfileKind | None:
    """Which kind of profile `path` holds, by its tables; None for the presets or a file of no known kind."""
    if path.name == PRESETS_FILE:
        return None
    data = read_toml(path, "profile")
    return next((kind for kind in KINDS if any(table in data for table in kind.tables)), None)


def _is_other_kind(path: Path, kind: ProfileKind) -> bool:
    # A file of no known kind is taken: its loader then says what is wrong inside it.
    return path.name == PRESETS_FILE or kind_of(path) not in (kind, None)


def bundled_names(kind: ProfileKind) -> list[str]:
    """The bundled profiles of one kind, by name."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml") if kind_of(p) is kind)


def find_profile(spec: str | Path, kind: ProfileKind) -> Path:
    """A path as given, else NAME.toml of this kind in the user's profiles folder, else a bundled one."""
    text = str(spec)
    as_path = Path(text).expanduser()
    if text.endswith(".toml") or "/" in text or "\\" in text or as_path.is_file():
        if not as_path.is_file():
            raise UserError(f"{kind.label} file not found: {as_path}")
        return as_path
    for folder in (user_profiles_dir(), profiles_dir()):
        candidate = folder / f"{text}.toml"
        if candidate.is_file() and not _is_other_kind(candidate, kind):
            return candidate
    names = bundled_names(kind)
    close = difflib.get_close_matches(text, names, n=2)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise UserError(
        f"{kind.missing.format(name=text)}{hint} Bundled {kind.label}s: {', '.join(names) or 'none'}; "
        f"your own go in {user_profiles_dir()} or pass a path to a .toml file."
    )


def shipped_presets_path() -> Path:
    return profiles_dir() / PRESETS_FILE


def default_presets_path() -> Path:
    """The user's own expression presets if they made them, else the presets shipped with vtube-plugin."""
    user = config_dir() / PRESETS_FILE
    return user if user.is_file() else shipped_presets_path()
