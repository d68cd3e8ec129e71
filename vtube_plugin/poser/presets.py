"""The expression presets the poser shows as buttons, read through `vtube_plugin.expressions` when it exists.

The presets module is written on another branch; this is the one place that adapts to its shape, and it
answers an empty list (no buttons) when the module is missing or has no presets.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from vtube_plugin.pose import BY_NAME, Pose

# Names the loader may have, tried in order; each returns presets as a list or a {name: preset} mapping.
_LOADERS = ("load_presets", "load_expressions", "default_presets", "presets")


def list_presets() -> list[dict]:
    """[{"name": str, "values": {parameter: value}}] for every preset that names only known parameters."""
    try:
        module = importlib.import_module("vtube_plugin.expressions")
    except ImportError:
        return []
    for attr in _LOADERS:
        loader = getattr(module, attr, None)
        if callable(loader):
            found = loader()
            break
    else:
        return []
    items = found.items() if isinstance(found, Mapping) else ((getattr(p, "name", None), p) for p in found)
    presets = []
    for name, preset in items:
        values = _values(preset)
        if name and values:
            presets.append({"name": str(name), "values": values})
    return presets


def _values(preset: object) -> dict[str, float]:
    """A preset's parameter values, whether it holds a Pose, a mapping, or has `.values`/`.pose`."""
    for attr in ("values", "pose", "parameters"):
        inner = getattr(preset, attr, None)
        if inner is not None and not callable(inner):
            preset = inner
            break
    if isinstance(preset, Pose):
        return {k: v for k, v in preset.to_dict().items() if v != 0}
    if isinstance(preset, Mapping):
        known = {str(k): v for k, v in preset.items() if str(k) in BY_NAME}
        # Clamp as live values are: a preset is layered over sliders, it must not fail the whole page.
        checked = Pose.from_dict(known, clamp=True)
        return {k: checked[k] for k in known}
    return {}
