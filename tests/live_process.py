"""`vtube-plugin` started as a user starts it (a subprocess of this Python, from the repository root), and
reading back what it wrote: the --record-poses lines and the video's frames.

`LiveProcess` keeps everything the command prints and lets a test wait for a line or for the exit; the
user's own settings (config folder, OBS_* variables) are kept out so only the test's options count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Where the sample character's face and eyes are in a 512x512 frame (rows, columns). Her own left eye is on
# the viewer's right.
SAMPLE_FACE = (slice(100, 200), slice(200, 310))
SAMPLE_LEFT_EYE = (slice(125, 165), slice(256, 300))
SAMPLE_RIGHT_EYE = (slice(125, 165), slice(210, 256))


class LiveProcess:
    """`with LiveProcess(["run", ...], config_dir) as run:` ... `code, output = run.finish(timeout)`."""

    def __init__(self, argv: list[str], config_dir: Path):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                   VTUBE_PLUGIN_CONFIG=str(config_dir), XDG_CONFIG_HOME=str(config_dir))
        for name in ("OBS_HOST", "OBS_PORT", "OBS_PASSWORD"):
            env.pop(name, None)
        self.argv = [sys.executable, "-m", "vtube_plugin", *argv]
        self.env = env
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> LiveProcess:
        self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        for line in self.process.stdout:  # universal newlines: the status line's \r ends a line too
            self.lines.append(line.rstrip("\n"))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float) -> bool:
        """True once a printed line contains `text`; False at the timeout or if the command ended without it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.lines)):
                return True
            if not self.running and not self._reader.is_alive():
                return False
            time.sleep(0.05)
        return False

    def finish(self, timeout: float) -> tuple[int, str]:
        """Wait for the command to end by itself; its exit code and everything it printed."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code, self.output

    def finish_while(self, feed: Callable[[threading.Event], None], timeout: float) -> tuple[int, str]:
        """`finish`, with `feed(stop)` on a thread of its own (a tracker sending to the command) until it ends."""
        stop = threading.Event()
        feeder = threading.Thread(target=feed, args=(stop,), daemon=True)
        feeder.start()
        try:
            return self.finish(timeout)
        finally:
            stop.set()
            feeder.join(timeout=10)

    def __exit__(self, *exc) -> None:
        if self.running:  # a failed test: stop the command we started, by its own handle
            self.process.kill()
            self.process.wait(timeout=30)
        if self._reader is not None:
            self._reader.join(timeout=10)


def read_poses(path: Path) -> list[dict]:
    """The complete lines of a --record-poses file so far (a line still being written is left out)."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n")[:-1] if line]


def read_video(path: Path) -> list[np.ndarray]:
    """Every frame of a video file as int16 RGB (height, width, 3), so frames can be subtracted."""
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24").astype(np.int16) for frame in container.decode(video=0)]


def iris_pixels(rgb: np.ndarray, box: tuple[slice, slice]) -> int:
    """How many of the box's pixels are the blue of the sample character's irises: an open eye shows about 80
    to 100, a closed one none."""
    r, g, b = (rgb[box][..., i] for i in range(3))
    return int(((b > r + 40) & (b > g + 10)).sum())
