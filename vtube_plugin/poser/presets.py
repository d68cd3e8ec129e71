"""The expression presets the poser shows as buttons, read through `vtube_plugin.expressions.layer`.

A button sets the sliders to the pose with that expression fully on, by the expression layer's own blend
rule; a presets file that cannot be used leaves the row of buttons empty and its message on the page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.layer import Expression, ExpressionLayer
from vtube_plugin.pose import Pose


def describe(presets: Mapping[str, Expression]) -> list[dict]:
    """What a button needs: the name, and a tooltip."""
    return [{"name": name, "description": expr.description} for name, expr in presets.items()]


def with_expression(pose: Pose, presets: Mapping[str, Expression], name: str) -> Pose:
    """`pose` with the named expression fully on, as the live layer shows it once its fade-in has finished."""
    expression = presets.get(name)
    if expression is None:
        raise UserError(f"unknown expression '{name}'; known: {', '.join(presets) or 'none'}")
    # A one-layer stack switched on with no fade is at full weight on its first frame; the layer does the blend.
    instant = dataclasses.replace(expression, mode="toggle", fade_in=0.0, duration=None)
    layer = ExpressionLayer({name: instant})
    layer.trigger(name)
    return layer.apply(pose, now=0.0)
