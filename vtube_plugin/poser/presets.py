"""The expression presets the poser shows as buttons, read through `vtube_plugin.expressions`.

A button sets the sliders to the pose with that expression fully on, by the expression layer's own blend
rule; with an empty presets file the page shows no buttons.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from vtube_plugin.errors import UserError
from vtube_plugin.pose import Pose


def load_expression_presets(path: Path | None = None) -> dict[str, Any]:
    """{name: Expression} from the presets file (the user's, else the shipped one)."""
    from vtube_plugin.expressions import load_presets

    return dict(load_presets(path))


def describe(presets: dict[str, Any]) -> list[dict]:
    """What a button needs: the name, and a tooltip."""
    return [{"name": name, "description": getattr(expr, "description", "") or ""} for name, expr in presets.items()]


def with_expression(pose: Pose, presets: dict[str, Any], name: str) -> Pose:
    """`pose` with the named expression fully on, as the live layer shows it once its fade-in has finished."""
    expression = presets.get(name)
    if expression is None:
        raise UserError(f"unknown expression '{name}'; known: {', '.join(presets) or 'none'}")
    from vtube_plugin.expressions import ExpressionLayer

    # A one-layer stack switched on with no fade is at full weight on its first frame; the layer does the blend.
    instant = dataclasses.replace(expression, mode="toggle", fade_in=0.0, duration=None)
    layer = ExpressionLayer({name: instant})
    layer.trigger(name)
    return layer.apply(pose, now=0.0)
