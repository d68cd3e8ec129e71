"""`vtube-plugin run --source vmc` end to end: a tracker app's VMC bundles over loopback UDP drive the real THA3
renderer on the CPU, and the character opens her mouth, closes her left eye and turns her head in the video.

The "tracker" is a thread sending what a Perfect Sync sender sends (python-osc bundles, PascalCase ARKit
names, a Head bone quaternion) every 30 ms until the command stops after --max-frames.
"""

from __future__ import annotations

import re
import socket
import threading
import time

import numpy as np
import pytest
from live_process import (
    SAMPLE_FACE,
    SAMPLE_LEFT_EYE,
    SAMPLE_RIGHT_EYE,
    LiveProcess,
    iris_pixels,
    read_poses,
    read_video,
)
from udp_sender import free_udp_port
from vmc_packets import bone, bundle, message, unity_rotation

FRAMES = 6
HEAD_TURN = 9.0  # degrees about Unity's y axis: the avatar turns to its own right (FaceFrame yaw -9)
SIZE = 512


def tracker_frame() -> bytes:
    """One tracker frame in one bundle: mouth wide open, left eye shut (Apply commits them), the head turned."""
    return bundle(
        message("/VMC/Ext/Blend/Val", "JawOpen", 1.0),
        message("/VMC/Ext/Blend/Val", "EyeBlinkLeft", 1.0),
        message("/VMC/Ext/Blend/Apply"),
        bone("Head", unity_rotation("y", HEAD_TURN)),
    )


def send_until_stopped(port: int, run: LiveProcess, stop: threading.Event) -> None:
    datagram = tracker_frame()
    deadline = time.monotonic() + 300  # bounded even if the command hangs
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        while not stop.is_set() and run.running and time.monotonic() < deadline:
            try:
                sender.sendto(datagram, ("127.0.0.1", port))
            except OSError:  # nobody listening yet (the renderer is still loading): the next send counts
                pass
            stop.wait(0.03)


def test_a_vmc_tracker_drives_the_character_in_the_video(tmp_path, tha3_weights_dir):
    port = free_udp_port()
    video, poses = tmp_path / "live.mp4", tmp_path / "poses.jsonl"
    argv = ["run", "--source", "vmc", "--host", "127.0.0.1", "--port", str(port), "--profile", "arkit",
            "--output", f"file:{video}", "--record-poses", str(poses), "--max-frames", str(FRAMES),
            "--control-port", "0", "--keys", "off", "--idle", "off",  # idle blinks would close the open eye
            "--no-calibration",  # a tracker that holds one face would be calibrated away after its first steady seconds
            "--smooth", "off"]  # the renders themselves: one file frame and one --record-poses line each
    with LiveProcess(argv, tmp_path / "config") as run:
        code, output = run.finish_while(lambda stop: send_until_stopped(port, run, stop), timeout=240)

    assert code == 0, output
    assert f"stopped (max-frames) after {FRAMES} frames" in output
    # Said once, on a line of its own (not glued to the status line that is rewritten in place).
    assert len(re.findall(r"^vmc: receiving from 127\.0\.0\.1; datagrams from other", output, re.M)) == 1, output
    rows = read_poses(poses)
    assert len(rows) == FRAMES
    # The first frame always shows the rest pose (tracking eases in from neutral); the last one is tracked.
    assert all(v == 0.0 for v in rows[0]["pose"].values())
    assert rows[-1]["tracking"] is True
    last = rows[-1]["pose"]
    # Tracking eases in from neutral over half a second, scaling every value alike; by the last frame it is
    # (nearly) all there. Relative to JawOpen 1.0 -> mouth_aaa 1.0, arkit.toml gives:
    eased = last["mouth_aaa"]  # the "a" mouth
    assert eased > 0.6
    assert last["eye_wink_left"] == pytest.approx(eased, abs=1e-3)  # EyeBlinkLeft 1.0, no smile: her own left eye
    assert last["eye_wink_right"] == 0.0 and last["eye_happy_wink_left"] == 0.0
    # head_y = -yaw / 12 degrees and body_y = -yaw / 40; Unity +y is FaceFrame yaw < 0, so both are positive:
    # the character turns toward her own right, as the avatar did.
    assert last["head_y"] == pytest.approx(eased * HEAD_TURN / 12, abs=1e-3)
    assert last["body_y"] == pytest.approx(eased * HEAD_TURN / 40, abs=1e-3)
    # Tracking eases in: every tracked value grows (or holds) frame by frame, never jumps back.
    for name in ("mouth_aaa", "eye_wink_left", "head_y"):
        values = [row["pose"][name] for row in rows]
        assert values == sorted(values), (name, values)

    frames = read_video(video)
    assert len(frames) == FRAMES
    assert frames[0].shape == (SIZE, SIZE, 3)
    face_change = np.abs(frames[-1][SAMPLE_FACE] - frames[0][SAMPLE_FACE]).mean()
    corner_change = np.abs(frames[-1][:60, :60] - frames[0][:60, :60]).mean()
    assert face_change > 10.0, face_change  # the posed face, not the rest frame again
    assert corner_change < 2.0, corner_change  # the green background stays put
    rest_left, rest_right = iris_pixels(frames[0], SAMPLE_LEFT_EYE), iris_pixels(frames[0], SAMPLE_RIGHT_EYE)
    assert rest_left > 40 and rest_right > 40  # both eyes open at rest
    assert iris_pixels(frames[-1], SAMPLE_LEFT_EYE) < rest_left * 0.1  # her left eye shut: the iris is gone
    assert iris_pixels(frames[-1], SAMPLE_RIGHT_EYE) > rest_right * 0.5  # her right eye still open
