"""MediaPipe's and TensorFlow Lite's own log lines kept off the console: their C++ writes them straight to the
process's stderr (file descriptor 2), where no Python setting and no environment variable reaches, while the face
landmarker starts and reads its first pictures. Meanwhile fd 2 goes through a pipe that drops only those lines;
everything else written there (errors included) passes on at once. `run --verbose` shows them all.
"""

from __future__ import annotations

import os
import re
import sys
import threading

# "WARNING: Logging before InitGoogle() is written to STDERR", glog/absl INFO and WARNING lines
# ("W0000 00:00:1796287529.885947    7668 face_landmarker_graph.cc:181] ..."), and TensorFlow Lite's
# "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.". Errors (E..., F...) are kept.
CHATTER = re.compile(rb"WARNING: Logging before InitGoogle\(\)|[IW]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]|INFO: ")
_MAYBE_CHATTER = re.compile(rb"(W(A(R(N(I(N(G(:.*)?)?)?)?)?)?)?|I(N(F(O(:.*)?)?)?)?|[IW]\d.*)$")  # its start


class _Filter:
    """fd 2 through a pipe, read by a thread that passes on what is not chatter. One for the whole process
    (fd 2 is the process's), shared by everyone who asked for it; put back when the last one is done."""

    def __init__(self, fd: int = 2):
        self.fd = fd
        self.users = 0
        self.dropped = 0
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        self._original = os.dup(fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self._reader = threading.Thread(target=self._pass_on, args=(read_end,), name="native-logs", daemon=True)
        self._reader.start()

    def _pass_on(self, read_end: int) -> None:
        rest = b""
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                *lines, rest = (rest + chunk).split(b"\n")
                out = []
                for line in lines:
                    if CHATTER.match(line):
                        self.dropped += 1
                    else:
                        out.append(line + b"\n")
                if rest and not _MAYBE_CHATTER.match(rest):  # a status line (no newline): pass it on now
                    out.append(rest)
                    rest = b""
                self._write(b"".join(out))
        if rest and not CHATTER.match(rest):
            self._write(rest)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._original, view):]
            except OSError:
                return

    def close(self) -> None:
        os.dup2(self._original, self.fd)  # the pipe's last writer is gone: the reader passes on the rest, then ends
        self._reader.join(timeout=5)
        os.close(self._original)


_lock = threading.Lock()
_filter: _Filter | None = None


class QuietNativeLogs:
    """`start()` before the landmarker is made, `stop()` once it has read its first pictures (or is closed);
    stop() is safe to call twice. Nothing happens with `verbose=True`, or where fd 2 cannot be redirected."""

    def __init__(self, verbose: bool = False):
        self.verbose = verbose
        self._on = False

    def start(self) -> QuietNativeLogs:
        global _filter
        if self.verbose or self._on:
            return self
        with _lock:
            if _filter is None:
                try:
                    _filter = _Filter()
                except OSError:
                    return self
            _filter.users += 1
            self._on = True
        return self

    def stop(self) -> None:
        global _filter
        with _lock:
            if not self._on or _filter is None:
                return
            self._on = False
            _filter.users -= 1
            if _filter.users == 0:
                _filter.close()
                _filter = None
