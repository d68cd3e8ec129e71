"""Keys typed in the terminal while streaming (c + Enter: calibrate), read by a background thread.

Line input works the same on Windows, macOS and Linux without a global hotkey library or raw terminal mode.
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import TextIO

HELP = "type c + Enter to calibrate your neutral face, r + Enter to forget the calibration, q + Enter or Ctrl+C to stop"


class ConsoleCommands:
    """`take()` returns the first letters of the lines typed since the last call."""

    def __init__(self, stream: TextIO | None = None):
        self._queue: queue.Queue[str] = queue.Queue()
        stream = stream if stream is not None else sys.stdin
        self.active = bool(stream is not None and stream.isatty())
        if self.active:
            # A daemon thread: a pending readline must never keep the program alive after the stream stops.
            threading.Thread(target=self._read, args=(stream,), name="console-commands", daemon=True).start()

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            text = line.strip().lower()
            if text:
                self._queue.put(text[0])

    def take(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out
