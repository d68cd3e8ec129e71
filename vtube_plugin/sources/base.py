"""What every tracking source shares: a background thread, the newest FaceFrame, and counters.

A source is started and stopped as a context manager; the render loop only ever calls `latest()`,
which never blocks, so a slow or silent tracker can never stall rendering.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections import Counter
from collections.abc import Callable

from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.names import VocabularySeen


class Malformed(ValueError):
    """Input that breaks the protocol: the packet (or message) is dropped and counted under `reason`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


MAX_IGNORED_ADDRESSES = 64


def say_on_console(line: str) -> None:
    """Where a source's lines go until the live loop points `say` at its status line."""
    print(line, file=sys.stderr, flush=True)


class SourceStats:
    """Counters a streamer (or a test) can read while the source runs: what came in, what was dropped and why."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.packets = 0  # datagrams (or camera pictures) received
        self.frames = 0  # FaceFrames published
        self.dropped = 0  # malformed datagrams or messages (webcam: pictures without a usable face)
        self.reasons: Counter[str] = Counter()  # why they were dropped
        self.ignored: Counter[str] = Counter()  # datagrams from senders not allowed to drive us, per address

    def count_ignored(self, address: str) -> None:
        with self._lock:
            if address not in self.ignored and len(self.ignored) >= MAX_IGNORED_ADDRESSES:
                address = "other addresses"  # a flood of forged addresses must not grow this without bound
            self.ignored[address] += 1

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
                    "reasons": dict(self.reasons), "ignored": dict(self.ignored)}

    def ignored_text(self) -> str:
        """"ignored 312 datagrams from 192.168.1.40", or "" when every datagram came from an allowed sender."""
        with self._lock:
            counts = self.ignored.most_common()
        if not counts:
            return ""
        (address, n), *others = counts
        parts = [f"{n} datagram{'s' if n != 1 else ''} from {address}"] + [f"{m} from {a}" for a, m in others[:2]]
        more = f" and {len(others) - 2} more addresses" if len(others) > 2 else ""
        return "ignored " + ", ".join(parts) + more

    def __str__(self) -> str:
        s = self.snapshot()
        text = f"{s['packets']} received, {s['frames']} frames, {s['dropped']} dropped"
        if s["reasons"]:
            text += " (" + ", ".join(f"{why}: {n}" for why, n in sorted(s["reasons"].items())) + ")"
        ignored = self.ignored_text()
        return f"{text}, {ignored}" if ignored else text


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
    NAMES_CHOOSE_PROFILE = False  # True where the names sent vary by sender (VMC): see profile_hint

    @classmethod
    def waiting_hint(cls, options: dict[str, object]) -> str:
        """WAITING_HINT with the options given, or the constructor's defaults for the rest."""
        defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        values = {**defaults, **options}
        return cls.WAITING_HINT.format_map({k: "?" if v is None else v for k, v in values.items()})

    def __init__(self) -> None:
        self.stats = SourceStats()
        self.say: Callable[[str], None] = say_on_console  # what it says mid-stream: a camera gone, a sender heard
        self._latest: FaceFrame | None = None
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._vocabulary = VocabularySeen()
        self._hinted_frame: FaceFrame | None = None

    # -- the public surface -------------------------------------------------------------------
    def latest(self) -> FaceFrame | None:
        """The newest frame, or None before the first one. Older frames are not kept."""
        return self._latest

    def profile_hint(self) -> str | None:
        """The bundled profile that fits the names this source has sent so far (names.VocabularySeen), or None
        when it cannot tell yet. Only for sources whose names vary by sender (NAMES_CHOOSE_PROFILE); the
        others always fit their DEFAULT_PROFILE. Called from the render thread: it reads only published frames."""
        if not self.NAMES_CHOOSE_PROFILE:
            return None
        frame = self._latest
        if frame is not None and frame is not self._hinted_frame:
            self._hinted_frame = frame
            for name in frame.blendshapes:
                self._vocabulary.see(name)
        return self._vocabulary.hint()

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
