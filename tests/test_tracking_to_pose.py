"""Real tracker datagrams over loopback UDP, through a running source and the bundled profile, to pose values:
the chain `vtube-plugin run` uses, short of rendering."""

from __future__ import annotations

import socket

import pytest
from vmc_packets import blend, bone, bundle, message, unity_rotation

from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.sources.ifacialmocap import IFacialMocapSource
from vtube_plugin.sources.vmc import VmcSource


def pose_from_vmc(profile: str, *datagrams: bytes):
    with VmcSource(port=0, host="127.0.0.1").start() as source, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for data in datagrams:
            sender.sendto(data, source.address)
        assert source.wait_until(lambda s: s.stats.packets >= len(datagrams), timeout=10)
        assert source.wait_until(lambda s: s.latest() is not None, timeout=10)
        return Mapper(load_profile(profile)).map(source.latest())


@pytest.mark.parametrize("profile, names", [
    ("vrm", {"A": 1.0, "Blink_L": 1.0}),  # VRM 0.x presets
    ("vrm", {"aa": 1.0, "blinkLeft": 1.0}),  # VRM 1.0 presets
    ("arkit", {"JawOpen": 1.0, "EyeBlinkLeft": 1.0}),  # Perfect Sync, PascalCase
    ("arkit", {"jawOpen": 1.0, "eyeBlinkLeft": 1.0}),  # ARKit's own camelCase
])
def test_vmc_mouth_open_and_left_blink(profile, names):
    pose = pose_from_vmc(profile, blend(names))
    assert pose["mouth_aaa"] > 0.6
    assert pose["eye_wink_left"] > 0.6 and pose["eye_wink_right"] < 0.1


def test_vmc_head_turn_turns_the_character_the_same_way():
    # A Head bone turned +20 degrees about Unity's up axis turns the avatar to its own right; THA's
    # head_y > 0 turns the character's face toward the image's left, which is the character's own right.
    right = pose_from_vmc("arkit", bundle(bone("Head", unity_rotation("y", 20.0))))
    left = pose_from_vmc("arkit", bundle(bone("Head", unity_rotation("y", -20.0))))
    assert right["head_y"] > 0.5 and left["head_y"] < -0.5
    assert abs(right["head_x"]) < 0.05 and abs(right["neck_z"]) < 0.05


def test_vmc_values_wait_for_apply():
    with VmcSource(port=0, host="127.0.0.1").start() as source, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(blend({"jawOpen": 1.0}, apply=False), source.address)
        assert source.wait_until(lambda s: s.stats.packets >= 1, timeout=10)
        assert source.latest() is None  # nothing committed yet: no frame for the mapper
    pose = pose_from_vmc("arkit", blend({"jawOpen": 1.0}, apply=False), bundle(message("/VMC/Ext/Blend/Apply")))
    assert pose["mouth_aaa"] > 0.6


@pytest.mark.parametrize("version, datagram", [
    (2, "jawOpen&100|eyeBlinkLeft&100|eyeBlinkRight&0|=head#0.0,20.0,0.0,0.0,0.0,0.0|"),
    (1, "jawOpen-100|eyeBlink_L-100|eyeBlink_R-0|=head#0.0,20.0,0.0,0.0,0.0,0.0|"),
])
def test_ifacialmocap_datagrams_drive_the_pose(version, datagram):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as phone:
        phone.bind(("127.0.0.1", 0))
        phone.settimeout(10)
        with IFacialMocapSource(phone="127.0.0.1", phone_port=phone.getsockname()[1], port=0, host="127.0.0.1",
                                version=version, resend_after=60.0).start() as source:
            phone.recvfrom(1024)  # the start string
            phone.sendto(datagram.encode(), source.address)
            assert source.wait_until(lambda s: s.latest() is not None, timeout=10)
            frame = source.latest()
    pose = Mapper(load_profile("arkit")).map(frame)
    assert pose["mouth_aaa"] > 0.6
    assert pose["eye_wink_left"] > 0.6 and pose["eye_wink_right"] < 0.1
    # The person turned toward their own left (FaceFrame yaw > 0): the character turns toward its own left.
    assert frame.head[1] > 0 and pose["head_y"] < -0.5
