"""Where the user's own settings live: calibrations, their own profiles, expressions.toml, idle.toml and obs.toml.

The platform's user config folder (e.g. ~/.config/vtube-plugin, %LOCALAPPDATA%\\vtube-plugin), or $VTUBE_PLUGIN_CONFIG.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV = "VTUBE_PLUGIN_CONFIG"


def config_dir() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("vtube-plugin", appauthor=False))
