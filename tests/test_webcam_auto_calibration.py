"""A new user's first minute with a webcam, as the issue tried it: a video of a frontal face made from a real
photograph (scikit-image's astronaut) through `--source webcam:device=FILE` with no calibration stored. The
session's own mapper (live.session.live_mapper) takes the first steady seconds as the neutral head, stores
it, and from then on the upright face reads near 0 while the tilted part of the video still tilts the head.

Why not no offset at all: MediaPipe's own canonical face is upright (its forehead-to-chin line is 0.7 degrees
from vertical), yet it reads this photo at pitch -14.9 degrees, a face seen a little from above, as a webcam on
top of a monitor sees everyone; the sign is right (OpenSeeFace reads the same photo at -19), the neutral is the
user's own, hence calibration.
"""

from __future__ import annotations

import struct
import time
import zipfile

import av
import numpy as np
import pytest
import skimage.data
from test_source_webcam import rotated

from vtube_plugin.live.session import LiveConfig, live_mapper
from vtube_plugin.mapping.calibration import calibration_path, load_calibration
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.models.store import landmarker_path
from vtube_plugin.sources.webcam import WebcamSource

if not landmarker_path().is_file():
    pytest.skip("the face landmarker model is not fetched: run `vtube-plugin models fetch`", allow_module_level=True)

FPS = 20
UPRIGHT_SECONDS, TILTED_SECONDS = 3.0, 1.5  # 2 s of steady tracking calibrate
TILT = 15.0  # degrees counter-clockwise on screen: her head leans toward her own right shoulder


def write_video(path, pictures) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 512, 512, "yuv420p"
        stream.bit_rate = 4_000_000
        for rgb in pictures:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        container.mux(stream.encode())


def test_the_first_steady_seconds_calibrate_a_webcam_by_themselves(tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path / "config"))  # a new user: nothing stored
    face = skimage.data.astronaut()
    video = tmp_path / "face.mp4"
    write_video(video, [face] * int(UPRIGHT_SECONDS * FPS) + [rotated(face, TILT)] * int(TILTED_SECONDS * FPS))

    config = LiveConfig(source="webcam", source_options={"device": str(video), "loop": False})
    source = WebcamSource(device=str(video), loop=False)
    mapper = live_mapper(config, load_profile("arkit"), source)
    assert mapper.auto_calibrating and mapper.calibration is None

    poses = []  # (tilted picture, calibrated yet, pose); the picture's roll tells the two parts apart
    with source:
        last = None
        while not source.finished:
            frame = source.latest()
            if frame is not None and frame is not last:
                last = frame
                poses.append((frame.head[2] < -TILT / 2, mapper.calibration is not None, mapper(frame)))
            time.sleep(0.02)

    stored = load_calibration("webcam", "arkit")
    assert stored is not None and calibration_path("webcam", "arkit").is_file()
    assert stored.blendshapes == {}  # her broad smile is not taken as her resting face
    assert stored.head[0] == pytest.approx(-14.9, abs=3)  # the pitch a frontal face reads before calibration

    upright = [p for tilt, done, p in poses if done and not tilt]
    tilted = [p for tilt, done, p in poses if done and tilt]
    assert len(upright) >= 5 and len(tilted) >= 5
    for pose in upright:
        assert abs(pose["head_x"]) < 0.15 and abs(pose["head_y"]) < 0.15 and abs(pose["neck_z"]) < 0.15
    # leaning toward her own right shoulder: neck_z > 0 (toward the character's own right), pitch unchanged
    assert np.median([p["neck_z"] for p in tilted]) > 0.6
    assert np.median([abs(p["head_x"]) for p in tilted]) < 0.3
    first = [p for _, done, p in poses if not done]
    assert first and first[0]["head_x"] < -0.8  # before: staring down, as the issue saw


def _fields(data: bytes):
    """The fields of a protocol-buffer message: (number, value) with varints, bytes and 32-bit floats."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, i = _varint(data, i)
        elif kind == 2:
            size, i = _varint(data, i)
            value, i = data[i : i + size], i + size
        elif kind == 5:
            value, i = struct.unpack_from("<f", data, i)[0], i + 4
        else:
            raise ValueError(f"wire type {kind}")
        yield number, value


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def test_mediapipes_canonical_face_is_upright():
    # The face landmarker's geometry metadata holds the canonical face mesh its transformation matrix maps
    # (field 1, a Mesh3d: vertices x, y, z, u, v). Upright means its forehead (landmark 10) is straight above
    # its chin (152): so the pitch a frontal photo reads is the photo's, not a built-in offset to subtract.
    with zipfile.ZipFile(landmarker_path()) as task:
        metadata = task.read("geometry_pipeline_metadata_landmarks.binarypb")
    mesh = next(value for number, value in _fields(metadata) if number == 1)
    vertices = np.array([v for number, v in _fields(mesh) if number == 3]).reshape(-1, 5)[:, :3]
    assert len(vertices) == 468
    forehead_to_chin = vertices[152] - vertices[10]
    assert abs(np.degrees(np.arctan2(forehead_to_chin[2], -forehead_to_chin[1]))) < 2.0
    assert vertices[1][2] > vertices[152][2]  # the nose tip is in front: +z is the face's forward
