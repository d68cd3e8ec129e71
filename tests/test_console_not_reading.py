"""A console that stops reading never holds up the stream: `vtube-plugin run` started with its output on a real
pipe shrunk to one page that nobody reads (a launcher that does not drain it, a Windows console with a QuickEdit
selection, a terminal paused with Ctrl+S), while the streamer types into its console. The recording and
--record-poses go on; once the pipe is read again, every message arrives, in order.
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import subprocess
import sys
import termios
import threading
import time

import av
import pytest
from live_process import ROOT, LiveProcess, read_poses

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux's")

F_SETPIPE_SZ = 1031
PAGE = 4096
TYPED = [f"nope-{i}" for i in range(40)]  # each answers "error unknown expression 'nope-N'; known: ..."


def bytes_waiting(fd: int) -> int:
    import array

    n = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, n)
    return n[0]


def wait_until(condition, timeout: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.1)


def test_a_console_that_does_not_read_holds_up_nothing(tmp_path, tha3_weights_dir):
    video, poses = tmp_path / "take.mp4", tmp_path / "poses.jsonl"
    argv = ["run", "--source", "none", "--output", f"file:{video}", "--record-poses", str(poses),
            "--size", "128x128", "--control-port", "0", "--keys", "off", "--engine", "openvino", "--precision", "fp32"]
    spec = LiveProcess(argv, tmp_path / "config")
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, PAGE)
    typing, console_in = pty.openpty()  # a terminal as stdin: what the streamer types goes to the run's console
    attrs = termios.tcgetattr(console_in)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(console_in, termios.TCSANOW, attrs)
    process = subprocess.Popen(spec.argv, cwd=ROOT, env=spec.env, stdin=console_in, stdout=write_end,
                               stderr=write_end)
    os.close(write_end)
    os.close(console_in)
    received = bytearray()
    try:
        # The first frames, then a full pipe: status lines every half second fill one page within seconds.
        wait_until(lambda: len(read_poses(poses)) > 0, 300, "first frame", process)
        wait_until(lambda: bytes_waiting(read_end) > PAGE - 512, 60, "full pipe", process)
        for line in TYPED:
            os.write(typing, (line + "\n").encode())
        time.sleep(2.0)
        assert bytes_waiting(read_end) <= PAGE  # still full: nothing could be written since
        before, began = read_poses(poses)[-1]["time"], time.monotonic()
        time.sleep(8.0)
        after, waited = read_poses(poses)[-1]["time"], time.monotonic() - began
        # Rendering and --record-poses went on in real time while the console was stuck (today's bug: they
        # stopped dead, the loop's thread blocked in a write to the full pipe).
        assert after - before > waited / 2, (before, after, waited)

        reader = threading.Thread(target=lambda: _read_all(read_end, received), daemon=True)
        reader.start()
        wait_until(lambda: f"'{TYPED[-1]}'".encode() in received, 60, "last answer after draining", process)
        stop_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        reader.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        os.close(typing)

    text = received.decode("utf-8", errors="replace")
    answers = [line.split("'")[1] for line in text.replace("\r", "\n").split("\n")
               if line.startswith("error unknown expression")]
    assert answers == TYPED, text[-3000:]  # every message, in the order typed
    assert "stopped (SIGTERM) after" in text
    with av.open(str(video)) as container:
        frames = list(container.decode(video=0))
        seconds = float((frames[-1].pts + frames[-1].duration) * frames[-1].time_base)
    # The recording is real time, the stuck console's seconds included (it began before them).
    assert seconds > stop_at - began, (seconds, stop_at - began)


def _read_all(fd: int, into: bytearray) -> None:
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        into.extend(chunk)
