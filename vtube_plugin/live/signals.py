"""Stopping by signal the way Ctrl+C stops: SIGTERM (kill, a service manager, shutdown), SIGHUP (the
terminal was closed) and, on Windows, SIGBREAK (Ctrl+Break) end the stream cleanly, so a recording is
finished and kept instead of lost.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STOP_SIGNALS = ("SIGTERM", "SIGHUP", "SIGBREAK")  # those this platform lacks are skipped


@contextmanager
def stop_on_signals(stop: Callable[[str], None]) -> Iterator[None]:
    """Within the block, each stop signal calls `stop(name)`; the previous handlers come back after it.
    Signal handlers can only be set from the main thread: elsewhere (a GUI's worker) nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is None:
            continue
        previous[number] = signal.signal(number, lambda _signum, _frame, name=name: stop(name))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
