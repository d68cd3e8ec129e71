"""The right profile and calibration without asking: a real VMC source on loopback UDP tells the live mapper
which vocabulary the sender speaks, and the first steady seconds of tracking become the neutral head."""

from __future__ import annotations

import socket

import pytest
from vmc_packets import bundle, message

from vtube_plugin.mapping.calibration import Calibration, SteadyCapture
from vtube_plugin.mapping.live_mapper import LiveMapper
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.vmc import VmcSource

VRM_FRAME = bundle(message("/VMC/Ext/Blend/Val", "A", 1.0), message("/VMC/Ext/Blend/Val", "Blink_L", 1.0),
                   message("/VMC/Ext/Blend/Apply"))
# a Perfect Sync avatar: the 52 ARKit names in PascalCase, and (usually) its VRM presets beside them
PERFECT_SYNC_FRAME = bundle(message("/VMC/Ext/Blend/Val", "JawOpen", 1.0),
                            message("/VMC/Ext/Blend/Val", "EyeBlinkLeft", 1.0),
                            message("/VMC/Ext/Blend/Val", "A", 0.0), message("/VMC/Ext/Blend/Apply"))


@pytest.fixture
def vmc():
    with VmcSource(port=0, host="127.0.0.1") as source, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        def send(datagram: bytes):
            before = source.stats.frames
            sender.sendto(datagram, source.address)
            assert source.wait_until(lambda s: s.stats.frames > before, timeout=10)
            return source.latest()

        yield source, send


def live_mapper(source, said, named: bool = False) -> LiveMapper:
    return LiveMapper(load_profile(source.DEFAULT_PROFILE), hint=None if named else source.profile_hint,
                      say=said.append, auto_calibrate=False)


def test_vrm_presets_keep_the_vrm_profile(vmc):
    source, send = vmc
    said: list[str] = []
    mapper = live_mapper(source, said)
    pose = mapper(send(VRM_FRAME))
    assert source.profile_hint() == "vrm"
    assert mapper.profile.name == "vrm" and said == []
    assert pose["mouth_aaa"] > 0.5


def test_perfect_sync_names_switch_to_arkit_once(vmc):
    source, send = vmc
    said: list[str] = []
    mapper = live_mapper(source, said)
    mapper(send(PERFECT_SYNC_FRAME))  # the vrm profile would read neither name
    assert source.profile_hint() == "arkit"
    assert mapper.profile.name == "arkit"
    assert said == ["Perfect Sync names seen: using the arkit profile"]
    for _ in range(3):
        pose = mapper(send(PERFECT_SYNC_FRAME))
    assert said == ["Perfect Sync names seen: using the arkit profile"]  # announced once
    assert pose["mouth_aaa"] > 0.5 and pose["eye_wink_left"] > 0.5 and pose["eye_wink_right"] == 0.0


def test_both_vocabularies_mean_arkit_for_the_face(vmc):
    source, send = vmc
    said: list[str] = []
    mapper = live_mapper(source, said)
    mapper(send(VRM_FRAME))
    assert mapper.profile.name == "vrm"
    mapper(send(PERFECT_SYNC_FRAME))
    mapper(send(VRM_FRAME))  # presets again later: ARKit names were seen, arkit stays
    assert mapper.profile.name == "arkit" and len(said) == 1


def test_a_named_profile_always_wins(vmc):
    source, send = vmc
    said: list[str] = []
    mapper = live_mapper(source, said, named=True)
    mapper(send(PERFECT_SYNC_FRAME))
    assert mapper.profile.name == "vrm" and said == []


def test_the_new_profile_gets_its_stored_calibration_or_calibrates_itself(vmc):
    source, send = vmc
    stored = {"arkit": None}
    mapper = LiveMapper(load_profile("vrm"), hint=source.profile_hint, calibration_for=lambda p: stored[p.name],
                        say=lambda line: None, steady_seconds=0.05)
    assert mapper.auto_calibrating  # nothing stored for vrm either
    mapper(send(PERFECT_SYNC_FRAME))
    assert mapper.profile.name == "arkit" and mapper.auto_calibrating


def frame(t: float, head=(0.0, 0.0, 0.0), **shapes) -> FaceFrame:
    return FaceFrame(blendshapes=shapes, head=head, timestamp=t)


def test_steady_seconds_become_the_neutral_head_and_a_moving_head_restarts_the_wait():
    capture = SteadyCapture(seconds=2.0, spread=4.0, min_frames=5)
    assert all(capture.add(frame(t / 10, head=(-15.0 + (t % 2), 1.0, 3.0))) is None for t in range(15))
    assert capture.add(frame(1.6, head=(5.0, 1.0, 3.0))) is None  # looked up: the window starts again
    assert capture.add(frame(1.7, head=(-15.0, 1.0, 3.0))) is None
    assert all(capture.add(frame(1.7 + t / 10, head=(-15.0, 1.0, 3.0))) is None for t in range(1, 20))
    done = capture.add(frame(3.8, head=(-15.0, 1.0, 3.0), mouthSmileLeft=0.9))
    assert done is not None and done.head == pytest.approx((-15.0, 1.0, 3.0))
    assert done.blendshapes == {}  # a smile held meanwhile is not taken as the resting face
    assert capture.add(frame(3.8)) is None  # the same frame twice counts once


def test_auto_calibration_is_saved_once_and_makes_the_neutral_head_zero():
    saved = []
    mapper = LiveMapper(load_profile("arkit"), calibrated=lambda cal, p: saved.append((cal, p.name)),
                        say=lambda line: None, steady_seconds=1.0)
    for t in range(40):
        pose = mapper(frame(t / 20, head=(-14.9, -0.3, 3.6), jawOpen=0.6))
    assert len(saved) == 1 and saved[0][1] == "arkit" and not mapper.auto_calibrating
    assert pose["head_x"] == pytest.approx(0.0, abs=0.01) and pose["neck_z"] == pytest.approx(0.0, abs=0.01)
    assert mapper.map(frame(5.0, head=(-14.9, -0.3, -11.4)))["neck_z"] == pytest.approx(1.0, abs=0.01)
    assert mapper.map(frame(5.0, head=(-14.9, -0.3, 3.6), jawOpen=0.6))["mouth_aaa"] > 0.5  # not calibrated away
    mapper.calibration = None  # `r`: forgotten for the session, and not captured again by itself
    mapper(frame(9.0))
    assert mapper.calibration is None and len(saved) == 1


def test_c_before_the_steady_seconds_cancels_the_automatic_one():
    saved = []
    mapper = LiveMapper(load_profile("arkit"), calibrated=lambda cal, p: saved.append(cal), steady_seconds=1.0)
    mapper(frame(0.0))
    mapper.calibration = Calibration(head=(1.0, 2.0, 3.0))  # what the loop's `c` does when it finishes
    for t in range(1, 40):
        mapper(frame(t / 20))
    assert saved == [] and mapper.calibration.head == (1.0, 2.0, 3.0)
