"""The video file sink: the stream recorded to MP4 or WebM (chosen by the extension) by sinks/video.py, in real
time: a 20 s take is a 20 s video however fast the character was rendered, so sound recorded beside it fits.

Frames are composited here like every other sink's, so a recording looks like what the camera sent.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from vtube_plugin.sinks.compose import Background, Compositor


class FileSink:
    """`with FileSink("out.mp4", (512, 512), 30) as f: f.send(rgba)`.

    The live loop calls `send(rgba, at=..., repeat=...)` at each of this output's frame times (`timed`):
    a new picture is encoded once and shows until the next one; a repeated one only makes the newest last
    longer. Without `at`, a frame's time is when it is sent.
    """

    timed = True  # the live loop hands over the output clock's time of each frame (live/loop.py)

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float, *, background: Background = Background()):
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.name = f"file {self.path}"
        self._compose = Compositor(size, background)
        self._writer = None
        self._start: float | None = None

    def __enter__(self) -> FileSink:
        from vtube_plugin.sinks.video import VideoWriter  # imports av

        self._writer = VideoWriter(self.path, fps=self.fps, live=True)
        self._writer.__enter__()
        return self

    @property
    def written_to(self) -> Path | None:
        """Where the recording is now: the partial name while it runs (None before the first frame)."""
        return self._writer.partial_path if self._writer is not None else None

    def send(self, rgba: np.ndarray, at: float | None = None, repeat: bool = False) -> None:
        """`at`: when the frame shows, in seconds of time.monotonic() (or the loop's clock);
        `repeat`: the same picture as the last send."""
        if self._writer is None:
            raise RuntimeError("FileSink.send outside its `with` block")
        at = time.monotonic() if at is None else at
        if self._start is None:
            self._start = at
        since = at - self._start
        if repeat and self._writer.frames_written:
            self._writer.hold(since + 1.0 / self.fps)
        else:
            self._writer.write(self._compose(rgba), since)

    def __exit__(self, *exc) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.__exit__(*exc)
