"""What switches expressions in a live session: the presets file, the control port, keys and OBS, started together.

It lives with the session rather than in expressions/, because OBS is a side door that itself drives the
expression layer (obs/controller.py): expressions/ knows nothing of OBS.
"""

from __future__ import annotations

from dataclasses import dataclass

from vtube_plugin.expressions.control import DEFAULT_PORT
from vtube_plugin.obs.settings import ObsOptions


@dataclass(frozen=True)
class ExpressionSettings:
    presets: str | None = None  # None: the user's expressions.toml, else the shipped one
    control_port: int = DEFAULT_PORT  # 0: no control channel
    keys: str = "auto"  # auto, keyboard, console or off
    obs: bool = False  # connect to OBS for hotkeys and custom events
    obs_options: ObsOptions = ObsOptions()


def start_expressions(settings: ExpressionSettings, commands=None):
    """The ExpressionLayer with its inputs started (control channel, keys, OBS); `close()` stops them.
    Each input speaks to `commands`, the session's command interface (live/commands.py), or, when None, to
    one for the layer alone. Typed lines reach it through the run's console (live/console.py), not from here."""
    from vtube_plugin.expressions.layer import ExpressionLayer, load_presets

    layer = ExpressionLayer(load_presets(settings.presets))
    start_inputs(layer, settings, commands)
    return layer


def start_inputs(layer, settings: ExpressionSettings, commands=None) -> None:
    """Start the control channel, keys and OBS for `layer`, each attached to it (closed with it)."""
    from vtube_plugin.expressions.control import ControlServer
    from vtube_plugin.expressions.keys import start_key_input

    try:
        if settings.control_port:
            layer.attach(ControlServer(commands if commands is not None else layer, settings.control_port).start())
        keys = start_key_input(layer, settings.keys, commands=commands)
        if keys is not None:
            layer.attach(keys)
        if settings.obs:
            from vtube_plugin.obs.controller import ObsController

            layer.attach(ObsController(layer, settings.obs_options.resolve(), commands=commands).start())
    except BaseException:
        layer.close()
        raise
