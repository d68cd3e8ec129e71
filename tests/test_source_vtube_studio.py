"""The VTube Studio source talks to a stand-in phone: a real UDP socket on loopback that receives the JSON
request (and again after the resend interval) and sends the app's JSON datagrams back; another loopback
address plays a stranger on the network."""

from __future__ import annotations

import json
import socket
import time

import pytest
from vts_packets import datagram

from vtube_plugin.errors import UserError
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.sources import open_source
from vtube_plugin.sources.vtube_studio import VTubeStudioSource


def start_source(phone: socket.socket, **options) -> VTubeStudioSource:
    options.setdefault("resend_every", 5.0)
    options.setdefault("request_seconds", 10.0)
    return VTubeStudioSource(phone="127.0.0.1", phone_port=phone.getsockname()[1], port=0, host="127.0.0.1",
                             **options).start()


def stream(source: VTubeStudioSource, sender: socket.socket, *datagrams: bytes) -> None:
    def heard(s: VTubeStudioSource) -> int:  # datagrams read, and those from strangers ignored unread
        return s.stats.packets + sum(s.stats.ignored.values())

    before = heard(source)
    for data in datagrams:
        sender.sendto(data, source.address)
    assert source.wait_until(lambda s: heard(s) >= before + len(datagrams), timeout=10)


def test_the_request_names_our_port_and_is_sent_again_before_it_runs_out(phone):
    with start_source(phone, resend_every=0.3, request_seconds=2.0) as source:
        ours = source.address
        first, where = phone.recvfrom(4096)
        sent_at = time.monotonic()
        second, _ = phone.recvfrom(4096)
        waited = time.monotonic() - sent_at
    request = json.loads(first)
    assert request == {"messageType": "iOSTrackingDataRequest", "time": 2.0, "sentBy": "vtube-plugin",
                       "ports": [ours[1]]}
    assert where == ours  # the app answers the address the request came from
    assert json.loads(second) == request
    assert 0.2 <= waited < 2.0  # re-sent after resend_every, long before the requested 2 s run out
    assert source.requests_sent >= 2


@pytest.mark.parametrize("android", [False, True], ids=["iphone", "android"])
def test_both_apps_names_drive_the_arkit_profile(phone, android):
    with start_source(phone) as source:
        phone.recvfrom(4096)
        # mouth open, her left eye shut, head turned toward her own left (VTS x: left/right)
        stream(source, phone, datagram({"jawOpen": 0.8, "eyeBlinkLeft": 0.95}, rotation=(20.0, 0.0, 0.0),
                                       android=android))
        frame = source.latest()
    assert frame.weight("jawOpen") == pytest.approx(0.8)
    assert frame.weight("eyeBlinkLeft") == pytest.approx(0.95) and frame.weight("eyeBlinkRight") == 0.0
    assert len(frame.blendshapes) == 52
    pose = Mapper(load_profile(source.DEFAULT_PROFILE)).map(frame)
    assert pose["mouth_aaa"] > 0.8
    assert pose["eye_wink_left"] > 0.9 and pose["eye_wink_right"] == 0.0
    assert pose["head_y"] < -0.9  # toward her own left = the character's own left: head_y < 0


def test_angles(phone):
    with start_source(phone) as source:
        phone.recvfrom(4096)
        stream(source, phone, datagram(rotation=(350.0, 10.0, -5.0), eye_left=(4.0, -3.0, 0.0),
                                       eye_right=(5.0, -2.0, 0.0)))
        frame = source.latest()
    assert frame.head == pytest.approx((-10.0, -10.0, 5.0))  # 350 reads as -10: a Unity euler angle
    assert frame.left_eye == pytest.approx((3.0, 4.0))
    assert frame.right_eye == pytest.approx((2.0, 5.0))


def test_malformed_datagrams_are_dropped_and_counted(phone):
    good = datagram({"jawOpen": 0.5})
    with start_source(phone) as source:
        phone.recvfrom(4096)
        stream(source, phone, b"\xff\xfe not text", b"{not json", b'{"Rotation": {}}',
               datagram({"jawOpen": float("nan")}).replace(b"NaN", b'"NaN"'),
               json.dumps({"BlendShapes": [{"k": "JawOpen", "v": 0.1}], "Rotation": {"x": 1e9}}).encode(),
               json.dumps({"BlendShapes": [{"v": 0.2}]}).encode(), good)
        frame = source.latest()
    assert source.stats.dropped == 6
    assert source.stats.frames == 1 and frame.weight("jawOpen") == 0.5


def test_no_face_publishes_nothing(phone):
    with start_source(phone) as source:
        phone.recvfrom(4096)
        stream(source, phone, datagram({"jawOpen": 0.5}, face_found=False))
    assert source.faceless == 1 and source.latest() is None and source.stats.dropped == 0


def test_senders_other_than_the_phone_are_ignored(phone):
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.2", 0))  # another loopback address: another machine on the network
    try:
        with start_source(phone) as source:
            phone.recvfrom(4096)
            stream(source, stranger, datagram({"jawOpen": 1.0}), datagram({"jawOpen": 1.0}))
            assert sum(source.stats.ignored.values()) == 2 and source.latest() is None
            stream(source, phone, datagram({"jawOpen": 0.3}))
            assert source.latest().weight("jawOpen") == pytest.approx(0.3)
    finally:
        stranger.close()


def test_options_and_mistakes():
    source = open_source("vtube_studio:phone=127.0.0.1,port=0,request_seconds=5")
    assert source.request_seconds == 5.0 and source.resend_every == 1.0
    with pytest.raises(UserError, match="phone's address is needed"):
        open_source("vtube_studio")
    with pytest.raises(UserError, match="between 0.5 and 10"):
        open_source("vtube_studio:phone=127.0.0.1,request_seconds=20")
    with pytest.raises(UserError, match="less than request_seconds"):
        open_source("vtube_studio:phone=127.0.0.1,resend_every=4,request_seconds=3")
    with pytest.raises(UserError, match="3rd Party PC Clients"):
        VTubeStudioSource(phone="no-such-phone.invalid", port=0).start()
