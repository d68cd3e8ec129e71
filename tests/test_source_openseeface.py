"""The OpenSeeFace source receives face records over real UDP on loopback: records built from the public packet
layout (tests/openseeface_packets.py), and four records the real facetracker sent (tests/data/openseeface)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from openseeface_packets import record
from udp_sender import send_and_wait

from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.sources import open_source, source_class
from vtube_plugin.sources.openseeface import RECORD, OpenSeeFaceSource, parse_datagram

CAPTURED = Path(__file__).parent / "data" / "openseeface"


def captured(name: str) -> bytes:
    return (CAPTURED / f"{name}.bin").read_bytes()


@pytest.fixture
def mapper():
    return Mapper(load_profile("openseeface"))


def test_the_default_is_local_and_has_its_own_profile():
    source = open_source("openseeface")
    assert source.address == ("127.0.0.1", 11573)
    assert source_class("openseeface").DEFAULT_PROFILE == "openseeface"


def test_mouth_opens_one_eye_blinks_and_the_head_turns(sender, mapper):
    # her left eye closed, mouth open, head turned 20 degrees toward her own left (facetracker's y)
    face = record({"eye_l": -1.0, "eye_r": 0.0, "mouth_open": 0.9}, euler=(180.0, 20.0, 90.0))
    with OpenSeeFaceSource(port=0) as source:
        send_and_wait(source, sender, face)
        frame = source.latest()
    assert frame.weight("eye_closed_l") == 1.0 and frame.weight("eye_closed_r") == 0.0
    assert frame.weight("mouth_open") == pytest.approx(0.9)
    assert frame.head == pytest.approx((0.0, 20.0, 0.0), abs=1e-4)
    pose = mapper.map(frame)
    assert pose["mouth_aaa"] > 0.9
    assert pose["eye_wink_left"] > 0.9 and pose["eye_wink_right"] == 0.0
    assert pose["head_y"] < -0.9  # toward her own left is the character's own left: head_y < 0
    assert pose["head_x"] == pytest.approx(0.0, abs=1e-4) and pose["neck_z"] == pytest.approx(0.0, abs=1e-4)


def test_signed_features_become_two_weights(sender):
    face = record({"eye_r": 0.6, "eyebrow_updown_l": -0.4, "mouth_wide": -0.7, "mouth_corner_updown_r": 0.5})
    frame = parse_datagram(face)
    assert frame.weight("eye_wide_r") == pytest.approx(0.6) and frame.weight("eye_closed_r") == 0.0
    assert frame.weight("eyebrow_down_l") == pytest.approx(0.4) and frame.weight("eyebrow_up_l") == 0.0
    assert frame.weight("mouth_narrow") == pytest.approx(0.7) and frame.weight("mouth_wide") == 0.0
    assert frame.weight("mouth_corner_up_r") == pytest.approx(0.5)
    assert all(0.0 <= v <= 1.0 for v in frame.blendshapes.values())


def test_a_failed_3d_fit_keeps_the_features_but_not_the_head():
    frame = parse_datagram(record({"mouth_open": 0.5}, euler=(10.0, 50.0, 0.0), success=False))
    assert frame.head is None and frame.weight("mouth_open") == 0.5


def test_several_faces_the_first_is_used():
    frame = parse_datagram(record({"mouth_open": 0.2}, face_id=0) + record({"mouth_open": 0.8}, face_id=1))
    assert frame.weight("mouth_open") == pytest.approx(0.2)


def test_records_the_real_facetracker_sent(mapper):
    # facetracker.py --model 0 on scikit-image's astronaut photo: frontal, turned 15 degrees on screen both ways,
    # and with the middle of her face shifted toward her own left (a turn). MediaPipe reads the frontal photo
    # as pitch -14.9, yaw -0.3, roll 3.6.
    frontal = parse_datagram(captured("frontal"))
    assert len(captured("frontal")) == RECORD
    pitch, yaw, roll = frontal.head
    assert -25 < pitch < -10 and abs(yaw) < 8 and 0 < roll < 6
    assert parse_datagram(captured("rolled-right")).head[2] == pytest.approx(roll - 15, abs=3)
    assert parse_datagram(captured("rolled-left")).head[2] == pytest.approx(roll + 15, abs=3)
    assert parse_datagram(captured("turned-left")).head[1] > yaw + 5
    # through the profile, against the frontal record as the neutral face: the tilts tilt the head
    from vtube_plugin.mapping.calibration import Calibration

    mapper.calibration = Calibration.capture([frontal])
    assert mapper.map(parse_datagram(captured("rolled-right")))["neck_z"] > 0.7  # toward her right shoulder
    assert mapper.map(frontal)["head_x"] == pytest.approx(0.0, abs=1e-6)


def test_malformed_packets_are_dropped_and_counted(sender):
    nan = bytearray(record())
    struct.pack_into("<f", nan, 1729 + 12 * 4, float("nan"))  # mouth_open
    wild = record(euler=(1e9, 0.0, 0.0))
    with OpenSeeFaceSource(port=0) as source:
        send_and_wait(source, sender, b"", b"x" * 100, record()[:-1], record() + record()[:100], bytes(nan), wild,
               record({"mouth_open": 0.4}))
        frame = source.latest()
    assert source.stats.packets == 7 and source.stats.dropped == 6
    assert source.stats.frames == 1 and frame.weight("mouth_open") == pytest.approx(0.4)
