"""The character a command renders or streams with: the user's picture, loaded and with a warning when it is
framed badly (it works, only worse), or the fetched sample character when none is given."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vtube_plugin.character.check import warn_about_framing
from vtube_plugin.character.load import load_character


def load_users_character(path: str | Path, size: int) -> np.ndarray:
    """`load_character`, then the framing findings of `character check` printed as warnings on stderr."""
    rgba = load_character(path, size)
    warn_about_framing(rgba, Path(path).name)
    return rgba


def load_character_or_sample(path: str | Path | None, size: int) -> np.ndarray:
    """The user's character picture, or the fetched sample character when none is given, at `size`."""
    from vtube_plugin.models.store import sample_character

    if not path:
        return load_character(sample_character(), size)
    return load_users_character(path, size)
