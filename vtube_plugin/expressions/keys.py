"""Global keyboard hotkeys for expressions (`key = "ctrl+alt+1"` in the presets file), through pynput.

pynput needs a desktop session (on Linux an X display); where it cannot load, expressions are typed into
the run's console instead (`happy` + Enter, read by live/console.py). Hold-mode expressions stay on while their keys
are down.
"""

from __future__ import annotations

import sys
from typing import TextIO

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.commands import as_commands
from vtube_plugin.expressions.layer import ExpressionLayer
from vtube_plugin.expressions.presets import key_name, parse_chord  # one key spelling for the file and the keyboard

__all__ = ["KeyChords", "KeyboardInput", "key_name", "parse_chord", "start_key_input"]


class KeyChords:
    """Which expression each held key combination presses; fed key names by any keyboard library. The presses
    go through `commands` (the session's, live/commands.py; by default one for the layer alone)."""

    def __init__(self, layer: ExpressionLayer, commands=None):
        self.layer = layer
        self.commands = as_commands(commands if commands is not None else layer)
        self.bindings = {parse_chord(e.key): e.name for e in layer.presets.values() if e.key}
        self._down: set[str] = set()
        self._held: set[frozenset[str]] = set()

    def key_down(self, name: str) -> None:
        name = key_name(name)
        if name in self._down:
            return  # auto-repeat
        self._down.add(name)
        for chord, expression in self.bindings.items():
            if name in chord and chord <= self._down and chord not in self._held:
                self._held.add(chord)
                self._run(expression, "trigger" if self.layer.presets[expression].mode == "hold" else "press")

    def key_up(self, name: str) -> None:
        name = key_name(name)
        self._down.discard(name)
        for chord in [c for c in self._held if name in c]:
            self._held.discard(chord)
            expression = self.bindings[chord]
            if self.layer.presets[expression].mode == "hold":
                self._run(expression, "release")

    def _run(self, name: str, action: str) -> None:
        try:
            self.commands.run("set_expression", {"name": name, "action": action})
        except UserError as err:  # a key press must never end the listener's thread
            print(f"hotkey: {err}", file=sys.stderr, flush=True)


class KeyboardInput:
    """pynput's global listener feeding KeyChords. Raises ImportError where pynput cannot run."""

    def __init__(self, layer: ExpressionLayer, commands=None):
        from pynput import keyboard  # noqa: PLC0415 - fails without a display on Linux

        self.chords = KeyChords(layer, commands)
        self._keyboard = keyboard
        self._listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)

    def _name(self, key) -> str | None:
        key = self._listener.canonical(key)
        if isinstance(key, self._keyboard.Key):
            return key.name
        return key.char if getattr(key, "char", None) else None

    def _on_press(self, key) -> None:
        name = self._name(key)
        if name:
            self.chords.key_down(name)

    def _on_release(self, key) -> None:
        name = self._name(key)
        if name:
            self.chords.key_up(name)

    def start(self) -> KeyboardInput:
        self._listener.start()
        return self

    def close(self) -> None:
        self._listener.stop()


def start_key_input(layer: ExpressionLayer, mode: str = "auto", out: TextIO | None = None, commands=None):
    """`keyboard`, `console`, `auto` (keyboard if pynput works here) or `off`. Returns the started keyboard
    input (with close()) or None. Console lines are not read here: the terminal has one reader, the run's
    console (live/console.py), which passes expression lines on."""
    out = out if out is not None else sys.stderr
    if mode in ("auto", "keyboard") and any(e.key for e in layer.presets.values()):
        try:
            keys = KeyboardInput(layer, commands).start()
        except Exception as exc:  # noqa: BLE001 - pynput raises ImportError or Xlib errors without a display
            if mode == "keyboard":
                raise UserError(f"keyboard hotkeys are not available here ({type(exc).__name__}: "
                                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no detail'}); "
                                "install pynput and run inside a desktop session, or use --keys console") from None
        else:
            bound = ", ".join(f"{e.key}={e.name}" for e in layer.presets.values() if e.key)
            print(f"expressions: keyboard hotkeys {bound}", file=out)
            return keys
    return None
