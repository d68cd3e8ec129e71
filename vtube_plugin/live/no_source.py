"""`--source none`: a source that never tracks, so the character stays neutral (plus any expression layer)."""

from __future__ import annotations

from vtube_plugin.sources.base import SourceStats
from vtube_plugin.sources.frame import FaceFrame


class NoSource:
    name = "none"

    def __init__(self) -> None:
        self.stats = SourceStats()

    def __enter__(self) -> "NoSource":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def latest(self) -> FaceFrame | None:
        return None
