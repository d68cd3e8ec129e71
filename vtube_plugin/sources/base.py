"""What every tracking source shares: a background thread, the newest FaceFrame, and counters.

A source is started and stopped as a context manager; the render loop only ever calls `latest()`,
which never blocks, so a slow or silent tracker can never stall rendering.
"""

from __future__ import annotations

import inspect
import threading
from collections import Counter
from collections.abc import Callable

from vtube_plugin.sources.frame import FaceFrame


class Malformed(ValueError):
    """Input that breaks the protocol: the packet (or message) is dropped and counted under `reason`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SourceStats:
    """Counters a streamer (or a test) can read while the source runs: what came in, what was dropped and why."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.packets = 0  # datagrams (or camera pictures) received
        self.frames = 0  # FaceFrames published
        self.dropped = 0  # malformed datagrams or messages (webcam: pictures without a usable face)
        self.reasons: Counter[str] = Counter()  # why they were dropped

    def count_packet(self) -> None:
        with self._lock:
            self.packets += 1

    def count_frame(self) -> None:
        with self._lock:
            self.frames += 1

    def count_drop(self, reason: str) -> None:
        with self._lock:
            self.dropped += 1
            self.reasons[reason] += 1

    def snapshot(self) -> dict:
        """A consistent copy, safe to read from another thread."""
        with self._lock:
            return {"packets": self.packets, "frames": self.frames, "dropped": self.dropped,
                    "reasons": dict(self.reasons)}

    def __str__(self) -> str:
        s = self.snapshot()
        text = f"{s['packets']} received, {s['frames']} frames, {s['dropped']} dropped"
        if s["reasons"]:
            text += " (" + ", ".join(f"{why}: {n}" for why, n in sorted(s["reasons"].items())) + ")"
        return text


class Source:
    """Base of every tracking source. Subclasses implement `_open`, `_loop` and `_close`.

    `_open` runs in the caller's thread inside `start()`, so a busy port or a missing camera raises a
    UserError right there (and `_close` then releases whatever `_open` had got so far); `_loop` runs on
    the source's own thread until `self._stopping` is set.
    """

    name = "source"
    OPTIONS: dict[str, type] = {}  # what `open_source` accepts as key=value, and each value's type
    # What the command line needs to know, declared here so a new tracker is one file:
    TRACKS = True  # False for `none`: nothing to calibrate
    DEFAULT_PROFILE = "arkit"  # the bundled profile that fits the names this source sends
    WAITING_HINT = "is the tracker sending?"  # said when nothing arrives; {option} fields are filled in
    FLAGS: dict[str, tuple[str, str]] = {}  # shared command-line flag (--phone-ip: "phone_ip") -> (option, help)

    @classmethod
    def waiting_hint(cls, options: dict[str, object]) -> str:
        """WAITING_HINT with the options given, or the constructor's defaults for the rest."""
        defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        values = {**defaults, **options}
        return cls.WAITING_HINT.format_map({k: "?" if v is None else v for k, v in values.items()})

    def __init__(self) -> None:
        self.stats = SourceStats()
        self._latest: FaceFrame | None = None
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the public surface -------------------------------------------------------------------
    def latest(self) -> FaceFrame | None:
        """The newest frame, or None before the first one. Older frames are not kept."""
        return self._latest

    def wait_until(self, condition: Callable[[Source], bool], timeout: float = 5.0) -> bool:
        """Block until `condition(self)` holds (checked whenever something arrives) or `timeout` passes."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Source:
        if self._thread is not None:
            return self
        self._stopping.clear()
        try:
            self._open()
        except BaseException:
            self._close()
            raise
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-source", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self._close()

    def __enter__(self) -> Source:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for subclasses -----------------------------------------------------------------------
    def _open(self) -> None:
        pass

    def _loop(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    def _publish(self, frame: FaceFrame) -> None:
        frame.source = frame.source or self.name
        self._latest = frame  # one reference swap: readers see the old or the new frame, never half
        self.stats.count_frame()
        self._notify()

    def _drop(self, reason: str) -> None:
        self.stats.count_drop(reason)
        self._notify()

    def _received(self) -> None:
        self.stats.count_packet()
        self._notify()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._notify()
