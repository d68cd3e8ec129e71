"""The expression part of the session's commands (live/commands.py): `set_expression` and `clear_expressions`
applied to the layer in one place, and its state as `state()["expressions"]`.

The inputs in this folder and in obs/ (typed lines, the control channel, OBS hotkeys) speak to any object with
the session's `run(type, data)` and `state()`; `ExpressionCommands(layer)` is that object for a layer alone
(tests, scripts), and the live session hands them its full SessionCommands.
"""

from __future__ import annotations

from collections.abc import Callable

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.layer import ACTIONS, ExpressionLayer


def expressions_state(layer: ExpressionLayer) -> dict:
    """{"presets": [{"name", "hotkey"}], "active": [names, bottom first]}."""
    return {"presets": [{"name": e.name, "hotkey": e.key} for e in layer.presets.values()],
            "active": layer.active()}


def set_expression(layer: ExpressionLayer, name: str, action: str = "trigger") -> None:
    """The one place an expression is switched by a command."""
    if action not in ACTIONS:
        raise UserError(f"set_expression: action {action!r} is not one of {', '.join(ACTIONS)}")
    if name not in layer.presets:
        raise UserError(f"unknown expression '{name}'; known: {', '.join(layer.presets)}")
    getattr(layer, action)(name)


class ExpressionCommands:
    """The session's command interface for a layer alone: expression commands only, the others refused."""

    def __init__(self, layer: ExpressionLayer):
        self.layer = layer

    def run(self, type: str, data: dict | None = None) -> dict:
        data = data or {}
        if type == "set_expression":
            name, action = data.get("name"), data.get("action", "trigger")
            if not isinstance(name, str) or not isinstance(action, str):
                raise UserError("set_expression: give the expression's name (and an action) as text")
            set_expression(self.layer, name, action)
        elif type == "clear_expressions":
            self.layer.release_all()
        else:
            raise UserError(f"{type}: only expressions can be switched here (no live session)")
        return {"expressions": expressions_state(self.layer)}

    def state(self) -> dict:
        return {"expressions": expressions_state(self.layer)}

    def subscribe(self, listener: Callable[[dict], None]) -> Callable[[], None]:
        def changed(name: str, on: bool) -> None:
            listener({"type": "expressions", "data": expressions_state(self.layer)})

        self.layer.add_listener(changed)
        return lambda: self.layer.remove_listener(changed)


def as_commands(target):
    """A command interface for `target`: the session's own, or ExpressionCommands around a bare layer."""
    return ExpressionCommands(target) if isinstance(target, ExpressionLayer) else target
