"""The camera goes away and comes back, 20 times in one stream: a video-file camera (`--source webcam` with a
file) whose file is removed and put back, tracked by the real MediaPipe on a real photograph. Each time it is
said once, idle life takes over, it is tried again with a growing pause, and tracking resumes by itself.
"""

from __future__ import annotations

import cv2
import pytest
import skimage.data
from loop_on_thread import LoopOnThread

from vtube_plugin.models.store import landmarker_path
from vtube_plugin.sources.webcam import WebcamSource

if not landmarker_path().is_file():
    pytest.skip("the face landmarker model is not fetched: run `vtube-plugin models fetch`", allow_module_level=True)

TIMES = 20
RETRY = 0.05


def video_of_her(path) -> bytes:
    """A 0.1 s video of the astronaut photo (3 pictures at 30 fps), as the bytes of the file."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (256, 256))
    bgr = cv2.cvtColor(cv2.resize(skimage.data.astronaut(), (256, 256)), cv2.COLOR_RGB2BGR)
    for _ in range(3):
        writer.write(bgr)
    writer.release()
    return path.read_bytes()


def tracked(row) -> bool:
    return row["tracking"]


def idle(row) -> bool:
    """Lost and eased out: idle life has the whole face (here: both eyes shut in a blink)."""
    return not row["tracking"] and row["pose"]["eye_wink_left"] == 1.0 and row["pose"]["eye_wink_right"] == 1.0


def test_a_camera_file_removed_and_put_back_twenty_times(tmp_path):
    path = tmp_path / "camera.avi"
    video = video_of_her(path)
    source = WebcamSource(device=str(path), retry_after=RETRY)
    with LoopOnThread(source, tmp_path, lost_after=0.1) as live:
        since = live.wait_row(tracked, 0, "the first tracking")
        for time in range(TIMES):
            path.unlink()
            since = live.wait_row(idle, since, f"idle life {time}")
            # Away for at least two tries the first time (three pauses: the back-off shows), one try later on.
            tries = source.retries + (3 if time == 0 else 1)
            assert source.wait_until(lambda s: s.retries >= tries, timeout=20), source.retries  # noqa: B023
            if time == 0:
                assert list(source.retry_waits)[:3] == [RETRY, 2 * RETRY, 4 * RETRY]  # each pause twice the last
            path.write_bytes(video)
            since = live.wait_row(tracked, since, f"tracking again {time}")
            assert source.away_since is None
    said = live.messages()
    gone = [line for line in said if line.startswith("webcam: ") and " is gone; idle life until it is back" in line]
    back = [line for line in said if line.startswith("webcam: ") and " is back after " in line]
    assert len(gone) == TIMES and len(back) == TIMES, said
    assert str(path) in gone[0] and "trying again after 0.05 s" in gone[0]
    assert source.outages == TIMES
    assert sum("tracking lost" in line for line in said) >= TIMES  # once each time (a busy machine may add a gap)
    assert source.stats.frames > 3 * TIMES  # every return was tracked (she is in every picture)
    assert live.summary.stopped_by == "the test ended"


def test_a_camera_that_stops_giving_pictures_is_let_go_and_opened_again(tmp_path):
    """A file that is there but cannot be read (a truncated recording) reads like an unplugged camera: no
    picture. It is let go, tried again, and tracked once it reads again."""
    path = tmp_path / "camera.avi"
    video = video_of_her(path)
    source = WebcamSource(device=str(path), retry_after=RETRY)
    with LoopOnThread(source, tmp_path, lost_after=0.1) as live:
        since = live.wait_row(tracked, 0, "the first tracking")
        path.write_bytes(video[:200])  # the header, no picture
        since = live.wait_row(idle, since, "idle life")
        tries = source.retries + 2
        assert source.wait_until(lambda s: s.retries >= tries, timeout=20)
        path.write_bytes(video)
        live.wait_row(tracked, since, "tracking again")
    said = live.messages()
    assert [line for line in said if "webcam: " in line and ("cannot be read" in line or "is gone" in line)], said
    assert sum(" is back after " in line for line in said) == 1, said
