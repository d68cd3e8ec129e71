"""The layers over the tracked pose, bottom first (idle life, lip sync, hotkey presets), as the one
`apply(pose, now)` the run loop calls; `status()` joins what the layers have to say on the status line.
"""

from __future__ import annotations

from collections.abc import Sequence

from vtube_plugin.pose import Pose


class LayerStack:
    def __init__(self, layers: Sequence):
        self.layers = list(layers)

    def apply(self, pose: Pose, now: float) -> Pose:
        for layer in self.layers:
            pose = layer.apply(pose, now)
        return pose

    def status(self) -> str:
        parts = (getattr(layer, "status", lambda: "")() for layer in self.layers)
        return " | ".join(p for p in parts if p)

    def close(self) -> None:
        """Close every layer, top first (each stops the inputs it started), even if one fails."""
        errors = []
        for layer in reversed(self.layers):
            try:
                layer.close()
            except Exception as exc:  # noqa: BLE001 - the others must still be closed
                errors.append(exc)
        if errors:
            raise errors[0]
