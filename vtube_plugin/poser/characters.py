"""The characters the poser page can pick: the fetched samples, the one given with --character, and uploads.

Each is known by a display name (its file name); images are validated with `load_character` and cached.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from vtube_plugin.errors import UserError

UPLOAD_SUFFIXES = (".png", ".webp")


class CharacterShelf:
    def __init__(self, size: int, samples_dir: Path | None = None, extra: Path | None = None):
        self.size = size
        self._paths: dict[str, Path] = {}
        self._images: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        if extra is not None:
            # Validate at start-up so a bad --character is a CLI error, not a message in the page.
            image = _load(extra, size)
            self._paths[extra.name] = extra
            self._images[extra.name] = image
        if samples_dir is not None and samples_dir.is_dir():
            for path in sorted(samples_dir.glob("*.png")):
                self._paths.setdefault(path.name, path)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._paths)

    def __contains__(self, name: str) -> bool:
        with self._lock:
            return name in self._paths

    def image(self, name: str) -> np.ndarray:
        """The (size, size, 4) RGBA image of a listed character (loaded on first use)."""
        with self._lock:
            if name in self._images:
                return self._images[name]
            path = self._paths.get(name)
        if path is None:
            raise UserError(f"no character named {name!r}; pick one from the list or upload a PNG with alpha")
        image = _load(path, self.size)
        with self._lock:
            self._images[name] = image
        return image

    def add_upload(self, filename: str, data: bytes) -> str:
        """Validate an uploaded image; returns the name it is listed under (UserError if it is unusable)."""
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in filename):
            shown = filename.encode("unicode_escape").decode("ascii")
            raise UserError(f"the file name {shown!r} has control characters; rename the file and upload it again")
        base = Path(filename or "upload.png").name
        suffix = Path(base).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise UserError(f"{base}: upload a PNG or WebP image with a transparent background (alpha channel)")
        if not data:
            raise UserError(f"{base} is empty")
        # load_character reads from a path; the temporary file keeps the user's suffix so the format is clear.
        handle, tmp = tempfile.mkstemp(suffix=suffix, prefix="vtube-poser-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            image = _load(Path(tmp), self.size, shown_as=base)
        finally:
            os.unlink(tmp)
        with self._lock:
            name = base
            n = 2
            while name in self._paths:  # never shadow a sample or an earlier upload of the same name
                name = f"{Path(base).stem} ({n}){suffix}"
                n += 1
            self._paths[name] = Path(name)  # uploads live in memory only; the path is just a label
            self._images[name] = image
        return name


def _load(path: Path, size: int, shown_as: str | None = None) -> np.ndarray:
    from vtube_plugin.character import load_character

    try:
        return load_character(path, size)
    except UserError as err:
        if shown_as is None:
            raise
        # The message names our temporary file; the user knows the file by the name they picked.
        raise UserError(str(err).replace(str(path), shown_as).replace(path.name, shown_as)) from None
