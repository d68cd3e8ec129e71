"""The video file sink: the stream recorded to MP4 or WebM (chosen by the extension) by sinks/video.py, in real
time: a 20 s take is a 20 s video however fast the character was rendered, so sound recorded beside it fits.

Frames are composited and encoded on a thread of the sink's own, so encoding never delays the other outputs.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np

from vtube_plugin.sinks.compose import Background, Compositor
from vtube_plugin.sinks.video import DiskFull, VideoWriter

# Pictures waiting for the encoder (a second's worth, 1 MiB each at 512x512). When it falls this far behind,
# a new picture is skipped (the one before shows longer): the video stays real time, memory bounded.
BACKLOG = 32


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class FileSink:
    """`with FileSink("out.mp4", (512, 512), 30) as f: f.send(rgba)`.

    The live loop calls `send(rgba, at=..., repeat=...)` at each of this output's frame times (`timed`):
    a new picture is encoded once and shows until the next one; a repeated one only makes the newest last
    longer. Without `at`, a frame's time is when it is sent.

    When the disk fills, the recording stops there (cut back to its last whole second, kept under its partial
    name: sinks/video.py), `say` tells the user once, and `send` goes on taking frames, so the stream and the
    other outputs go on.
    """

    timed = True  # send() takes the output clock's time of each frame and whether it repeats (live/loop.py)

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float, *, background: Background = Background()):
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.name = f"file {self.path}"
        self.skipped = 0  # new pictures the encoder had no time for
        self.say = _say  # the live loop points it at its status line
        self.stopped: str | None = None  # why the recording stopped before the stream did (a full disk)
        self._compose = Compositor(size, background)
        self._writer = None
        self._start: float | None = None
        self._end: float | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=BACKLOG)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> FileSink:
        self._writer = VideoWriter(self.path, fps=self.fps, live=True)
        self._writer.__enter__()
        self._thread = threading.Thread(target=self._encode, name="file-sink", daemon=True)
        self._thread.start()
        return self

    def send(self, rgba: np.ndarray, at: float | None = None, repeat: bool = False) -> None:
        """`at`: when the frame shows, in seconds of time.monotonic() (or the loop's clock);
        `repeat`: the same picture as the last send."""
        if self._writer is None:
            raise RuntimeError("FileSink.send outside its `with` block")
        if self._error is not None:
            raise self._error
        if self.stopped is not None:
            return
        at = time.monotonic() if at is None else at
        if self._start is None:
            self._start = at
        since = at - self._start
        # The newest picture lasts until the next one; only the last one's end needs saying.
        self._end = since + 1.0 / self.fps
        if repeat:
            return
        try:
            self._queue.put((rgba, since), timeout=0.5 / self.fps)
        except queue.Full:
            self.skipped += 1

    def _encode(self) -> None:
        writer = self._writer
        while True:
            item = self._queue.get()
            if item is None:
                return
            rgba, since = item
            if self._error is not None or self.stopped is not None:
                continue  # keep draining, so send() never blocks on a full queue
            try:
                if rgba is None:
                    writer.hold(since)
                else:
                    writer.write(self._compose(rgba), since)
            except DiskFull as full:
                self._stop_recording(full)
            except BaseException as error:  # raised on the loop's thread at the next send
                self._error = error

    def _stop_recording(self, full: DiskFull) -> None:
        self.stopped = str(full)
        self.say(self.stopped)

    def __exit__(self, kind, error, traceback) -> None:
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        if self._thread is not None:
            if self._end is not None:
                self._queue.put((None, self._end))
            self._queue.put(None)
            self._thread.join()  # every frame sent is in the file before it is finished
            self._thread = None
        if kind is None and self._error is not None:
            kind, error = type(self._error), self._error
        try:
            writer.__exit__(kind, error, traceback)
        except DiskFull as full:  # the end of the recording did not fit
            self._stop_recording(full)
        if kind is None and self._error is not None:
            raise self._error
