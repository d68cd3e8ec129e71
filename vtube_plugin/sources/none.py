"""`--source none`: a source that never tracks, so the character stays neutral (plus any expression layer)."""

from __future__ import annotations

from vtube_plugin.sources.base import Source


class NoSource(Source):
    """no tracking: the character keeps its neutral pose (expressions and idle life still apply)"""

    name = "none"
    TRACKS = False
    WAITING_HINT = "--source none never tracks."

    def _loop(self) -> None:
        self._stopping.wait()
