"""A recording survives the ways a stream really ends: `vtube-plugin run --output file:take.mp4` started as a user
starts it (the real renderer on the CPU), then stopped by SIGTERM (kill, a service manager, shutdown) or killed
outright (a hard crash). What is left must play, with the frames so far, under a name that says what it is.
"""

from __future__ import annotations

import signal
import sys
import time

import av
import pytest
from live_process import LiveProcess

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def start_recording(tmp_path, video):
    argv = ["run", "--source", "none", "--output", f"file:{video}", "--size", "256x256", "--control-port", "0",
            "--keys", "off"]
    return LiveProcess(argv, tmp_path / "config")


def wait_for_frames(run: LiveProcess, partial, seconds: float) -> float:
    """Wait until the recording has run `seconds` since its first frame; the time the first frame showed."""
    deadline = time.monotonic() + 240  # model loading and the first render on a busy CPU
    while not partial.is_file():
        assert run.running and time.monotonic() < deadline, run.output
        time.sleep(0.1)
    first = time.monotonic()
    time.sleep(seconds)
    assert run.running, run.output
    return first


def playable(path) -> tuple[int, float]:
    """(frames, seconds) of the video at `path`, decoded from start to end."""
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
        end = frames[-1]
        return len(frames), float((end.pts + end.duration) * end.time_base)


def test_sigterm_finishes_the_recording_like_ctrl_c(tmp_path, tha3_weights_dir):
    video = tmp_path / "take.mp4"
    with start_recording(tmp_path, video) as run:
        first = wait_for_frames(run, tmp_path / "take.partial.mp4", 3.0)
        run.process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        code, output = run.finish(timeout=60)

    assert code == 0, output
    assert "stopped (SIGTERM) after" in output
    assert [p.name for p in tmp_path.glob("take*")] == ["take.mp4"]  # finished under its own name
    frames, seconds = playable(video)
    assert frames >= 2
    # Real time: the video lasts as long as the stream ran, from the first frame to the signal (give or take
    # the moment the partial file appeared), however few frames the CPU rendered meanwhile.
    assert 2.5 < seconds < stopped - first + 1.0, (seconds, stopped - first)


def test_a_killed_stream_leaves_a_playable_partial_recording(tmp_path, tha3_weights_dir):
    video = tmp_path / "take.mp4"
    with start_recording(tmp_path, video) as run:
        partial = tmp_path / "take.partial.mp4"
        wait_for_frames(run, partial, 3.5)
        # A fragment is flushed once a second of video is complete; on a busy CPU that takes more renders than
        # 3.5 s allow, so wait for the first one on disk (a moof box) before pulling the plug.
        deadline = time.monotonic() + 120
        while b"moof" not in partial.read_bytes():
            assert run.running and time.monotonic() < deadline, run.output
            time.sleep(0.2)
        run.process.kill()  # SIGKILL: nothing of ours runs any more
        run.process.wait(timeout=30)

    assert not video.exists()  # nothing that looks finished
    frames, seconds = playable(tmp_path / "take.partial.mp4")
    assert frames >= 1 and seconds >= 1.0  # all but the last second's fragment
