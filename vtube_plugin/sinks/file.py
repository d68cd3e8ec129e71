"""The video file sink: the stream recorded to MP4 or WebM (chosen by the extension) by sinks/video.py.

Frames are composited here like every other sink's, so a recording looks like what the camera sent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vtube_plugin.sinks.compose import Background, Compositor


class FileSink:
    """`with FileSink("out.mp4", (512, 512), 30) as f: f.send(rgba)`."""

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float, *, background: Background = Background()):
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.name = f"file {self.path}"
        self._compose = Compositor(size, background)
        self._writer = None

    def __enter__(self) -> FileSink:
        from vtube_plugin.sinks.video import VideoWriter  # imports av

        self._writer = VideoWriter(self.path, fps=self.fps)
        self._writer.__enter__()
        return self

    def send(self, rgba: np.ndarray) -> None:
        if self._writer is None:
            raise RuntimeError("FileSink.send outside its `with` block")
        self._writer.write(self._compose(rgba))

    def __exit__(self, *exc) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.__exit__(*exc)
