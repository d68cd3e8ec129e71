"""Where the profiles that ship with the project are: `profiles/` in a checkout, `vtube_plugin/profiles` when installed.

pyproject.toml maps the top-level `profiles/` folder into the installed package, so users keep one
editable folder in the repo and `pip install .` still finds it.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def profiles_dir() -> Path:
    installed = _PACKAGE / "profiles"
    return installed if installed.is_dir() else _PACKAGE.parent / "profiles"
