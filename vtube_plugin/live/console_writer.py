"""The one writer of the console while streaming: the status line and the messages go out on a thread of their own,
so a console that stops reading (a full pipe nobody drains, a Windows console with a QuickEdit selection, a terminal
paused with Ctrl+S) never holds up the renders, the recording or --record-poses.

What waits is bounded: of the status line only the newest is kept; messages are kept in order up to `keep`, the
ones after that are counted and the count is said once when the console reads again.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

KEEP = 1000  # messages kept while the console is not reading
LINE_CHARS = 2000  # a longer message is cut: one runaway line must not hold megabytes


class ConsoleWriter:
    """`message(text)` a line of its own, `status(text)` the line rewritten in place under the messages,
    `end_status()` leaves the status line as it is (what follows starts on a new line). None of them waits for
    the console. Use as a context manager (or `start()` / `close()`); `redirected()` sends every print to
    sys.stderr through it as messages."""

    def __init__(self, stream: TextIO | None = None, keep: int = KEEP):
        self.stream = stream if stream is not None else sys.stderr
        self.keep = keep
        self.dropped_total = 0
        self._cond = threading.Condition()
        self._messages: deque[str] = deque()
        self._dropped = 0
        self._status: str | None = None
        self._end = False
        self._writing = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._width = 0  # the status line's length on screen; only the writer thread uses it

    # --- what the stream's threads call: never waits for the console ------------------------------
    def message(self, text: str) -> None:
        with self._cond:
            if len(self._messages) >= self.keep:
                self._dropped += 1
                self.dropped_total += 1
            else:
                self._messages.append(text[:LINE_CHARS])
            self._cond.notify()

    def status(self, text: str) -> None:
        with self._cond:
            self._status = text[:LINE_CHARS]
            self._cond.notify()

    def end_status(self) -> None:
        with self._cond:
            self._end = True
            self._cond.notify()

    # --- life cycle -------------------------------------------------------------------------------
    def start(self) -> ConsoleWriter:
        if self._thread is None or not self._thread.is_alive():
            self._closing = False
            # A daemon thread: a console that never reads again must not keep the program from ending.
            self._thread = threading.Thread(target=self._run, name="console-writer", daemon=True)
            self._thread.start()
        return self

    def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds until everything given so far is written; False if the console is stuck."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending() or self._writing:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 2.0) -> None:
        """Write what is left, waiting at most `timeout` seconds for a console that does not read."""
        self.drain(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def __enter__(self) -> ConsoleWriter:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def redirected(self) -> Iterator[None]:
        """While inside, `print(..., file=sys.stderr)` anywhere (sources, outputs, OBS, warnings, a thread's
        traceback) becomes messages of this writer, in order, instead of a write that can block."""
        previous = sys.stderr
        try:
            previous.flush()
        except (OSError, ValueError):
            pass
        lines = _Lines(self, previous)
        sys.stderr = lines
        try:
            yield
        finally:
            sys.stderr = previous
            lines.flush_partial()

    # --- the writer thread ------------------------------------------------------------------------
    def _pending(self) -> bool:
        return bool(self._messages or self._dropped or self._status is not None or self._end)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending() and not self._closing:
                    self._cond.wait()
                if not self._pending():
                    return
                messages, dropped, status, end = list(self._messages), self._dropped, self._status, self._end
                self._messages.clear()
                self._dropped, self._status, self._end = 0, None, False
                self._writing = True
            try:
                self._write(self._compose(messages, dropped, status, end))
            finally:
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()

    def _compose(self, messages: list[str], dropped: int, status: str | None, end: bool) -> str:
        parts = []
        if dropped:
            messages.append(f"({dropped} console messages were left out while the console was not reading)")
        if messages:
            if self._width:
                parts.append("\r" + " " * self._width + "\r")
                self._width = 0
            parts.append("".join(m + "\n" for m in messages))
        if status is not None:
            parts.append("\r" + status.ljust(self._width))
            self._width = len(status)
        if end and self._width:
            parts.append("\n")
            self._width = 0
        return "".join(parts)

    def _write(self, text: str) -> None:
        if not text:
            return
        stream = self.stream
        # The raw file under a real console or pipe, written without the buffered stream's lock: a write blocked
        # on a console that never reads again then cannot hang the interpreter's exit.
        raw = getattr(getattr(stream, "buffer", None), "raw", None)
        try:
            if raw is None:
                stream.write(text)
                stream.flush()
                return
            data = memoryview(text.encode(stream.encoding or "utf-8", errors="replace"))
            while data:
                written = raw.write(data)
                data = data[written or 0:]
        except (OSError, ValueError):  # a closed terminal (SIGHUP) must not end the stream or lose the recording
            pass


class _Lines(io.TextIOBase):
    """sys.stderr during a stream: each complete line becomes a message. Lines are put together per thread, so
    two threads printing at once do not mix halves."""

    def __init__(self, writer: ConsoleWriter, original: TextIO):
        self._writer, self._original = writer, original
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:
        return getattr(self._original, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        try:
            return self._original.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        return self._original.fileno()

    def write(self, text: str) -> int:
        key = threading.get_ident()
        with self._lock:
            *lines, rest = (self._partial.pop(key, "") + text).split("\n")
            if rest:
                self._partial[key] = rest[:LINE_CHARS]
        for line in lines:
            self._writer.message(line.rstrip("\r"))
        return len(text)

    def flush_partial(self) -> None:
        with self._lock:
            rest, self._partial = list(self._partial.values()), {}
        for line in rest:
            self._writer.message(line)
