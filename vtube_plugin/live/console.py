"""Keys typed in the terminal while streaming (c + Enter: calibrate), read by a background thread: the one
terminal reader, which passes every other line on (expression names: expressions.control.typed_lines).

Line input works the same on Windows, macOS and Linux without a global hotkey library or raw terminal mode.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from typing import TextIO

HELP = "type c + Enter to calibrate your neutral face, r + Enter to forget the calibration, q + Enter or Ctrl+C to stop"
# Whole words only: expression names typed in the same console (condescending, ...) must not calibrate.
LETTERS = {"c": "c", "calibrate": "c", "r": "r", "reset": "r", "q": "q", "quit": "q"}


# What each letter asks of the session (live/commands.py), when the console speaks to its commands.
COMMANDS = {"c": ("calibrate", {}), "r": ("reset_calibration", {}), "q": ("stop", {"reason": "q"})}


class ConsoleCommands:
    """With `commands` (the session's command interface, live/commands.py): c, r and q run calibrate,
    reset_calibration and stop, and any other line is a typed expression (expressions.control.typed_lines).
    Without: `take()` returns the letters (c, r, q) typed since the last call and other lines go to `other`."""

    def __init__(self, stream: TextIO | None = None, other: Callable[[str], None] | None = None, commands=None,
                 out: TextIO | None = None):
        self._queue: queue.Queue[str] = queue.Queue()
        self._commands = commands
        self._out = out
        if commands is not None and other is None:
            from vtube_plugin.expressions.control import typed_lines

            other = typed_lines(commands, out)
        self._other = other
        self._stream = stream if stream is not None else sys.stdin
        self.active = bool(self._stream is not None and self._stream.isatty())
        if self.active:
            # A daemon thread: a pending readline must never keep the program alive after the stream stops.
            threading.Thread(target=self._read, name="console-commands", daemon=True).start()

    def _read(self) -> None:
        for line in self._stream:
            text = line.strip()
            letter = LETTERS.get(text.lower())
            if letter and self._commands is not None:
                self._run(*COMMANDS[letter])
            elif letter:
                self._queue.put(letter)
            elif text and self._other is not None:
                self._other(text)

    def _run(self, type: str, data: dict) -> None:
        from vtube_plugin.errors import UserError

        try:
            self._commands.run(type, data)
        except UserError as err:
            print(f"error {err}", file=self._out if self._out is not None else sys.stderr, flush=True)

    def take(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out
