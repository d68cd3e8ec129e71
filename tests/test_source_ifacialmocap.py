"""The iFacialMocap source talks to a stand-in phone: a real UDP socket on loopback that receives the start
string and sends the app's text datagrams back."""

from __future__ import annotations

import random
import socket

import pytest
from udp_sender import send_and_wait

from vtube_plugin.errors import UserError
from vtube_plugin.sources.ifacialmocap import START_STRING, IFacialMocapSource, parse_datagram

V2_SAMPLE = (
    "mouthSmileLeft&12|eyeBlinkLeft&3|jawOpen&40|eyeBlinkRight&95|"
    "=head#-21.4,-6.0,-4.9,-0.02,0.00,-0.01|rightEye#3.1,-4.0,0.0|leftEye#3.0,-3.8,0.0|"
)
V1_SAMPLE = ("mouthSmile_L-12|eyeBlink_L-3|jawOpen-40|eyeBlink_R-95|"
             "=head#-21.4,-6.0,-4.9,-0.02,0.00,-0.01|rightEye#3.1,-4.0,0.0|")



def start_source(phone: socket.socket, **options) -> IFacialMocapSource:
    options.setdefault("resend_after", 60.0)
    return IFacialMocapSource(phone="127.0.0.1", phone_port=phone.getsockname()[1], port=0, host="127.0.0.1",
                              **options).start()


def test_v2_start_string_and_datagram(phone):
    with start_source(phone) as source:
        request, _ = phone.recvfrom(1024)
        assert request == (START_STRING + "|sendDataVersion=v2").encode()
        send_and_wait(source, phone, V2_SAMPLE)
        frame = source.latest()
    assert frame.blendshapes == pytest.approx(
        {"mouthSmileLeft": 0.12, "eyeBlinkLeft": 0.03, "jawOpen": 0.40, "eyeBlinkRight": 0.95})
    # rx -21.4 (ARKit: tipped up) -> pitch +21.4; ry -6 (toward own right) -> yaw -6; rz -4.9 -> roll +4.9
    assert frame.head == pytest.approx((21.4, -6.0, 4.9))
    assert frame.right_eye == pytest.approx((-3.1, -4.0))
    assert frame.left_eye == pytest.approx((-3.0, -3.8))
    assert frame.source == "ifacialmocap"


def test_v1_start_string_and_side_suffixes(phone):
    with start_source(phone, version=1) as source:
        request, _ = phone.recvfrom(1024)
        assert request == START_STRING.encode()
        send_and_wait(source, phone, V1_SAMPLE)
        frame = source.latest()
    assert frame.blendshapes == pytest.approx(
        {"mouthSmileLeft": 0.12, "eyeBlinkLeft": 0.03, "jawOpen": 0.40, "eyeBlinkRight": 0.95})
    assert frame.head == pytest.approx((21.4, -6.0, 4.9))
    assert frame.left_eye is None  # this datagram had no leftEye: missing stays missing


def test_facemotion3d_extras_and_unknown_keys_are_ignored():
    frame = parse_datagram("FM_SAD&20|tongueOut&55|rightEyeBoneX&3|trackingStatus&1|cheekPuff&10|=head#0,12.5,0,0,0,0|")
    assert frame.blendshapes == pytest.approx({"tongueOut": 0.55, "cheekPuff": 0.10})
    assert frame.head == pytest.approx((0.0, 12.5, 0.0))


def test_the_start_string_is_sent_again_when_the_stream_stops(phone):
    with start_source(phone, resend_after=0.2):
        first, _ = phone.recvfrom(1024)
        again, _ = phone.recvfrom(1024)  # nothing was streamed, so the source asks once more
        assert first == again


def test_a_resend_interval_of_zero_is_a_clear_error():
    from vtube_plugin.sources import open_source

    with pytest.raises(UserError, match="ifacialmocap: resend_after must be more than 0 seconds, got 0"):
        open_source("ifacialmocap:resend_after=0")


def test_a_phone_name_that_does_not_resolve_is_a_clear_error():
    with pytest.raises(UserError, match="IP address iFacialMocap shows"):
        IFacialMocapSource(phone="no-such-phone.invalid", port=0, host="127.0.0.1").start()


BAD_DATAGRAMS = [
    b"\xff\xfe\x00garbage",  # not UTF-8
    b"eyeBlinkLeft&abc|jawOpen&10|",
    b"=head#1.0,2.0|",  # too few angles
    b"=head#nan,0,0,0,0,0|",
    b"=head#999,0,0,0,0,0|",
    b"jawOpen&1e30|",
    b"leftEye#inf,0,0|",
    b"||||",  # nothing in it
    b"jawOpen-",  # v1 pair without a value
]


def test_a_flood_of_malformed_datagrams_is_dropped_and_counted(phone):
    rng = random.Random(7)
    with start_source(phone) as source:
        sent_bad = sent_good = 0
        jaw = 0
        for _batch in range(25):
            datagrams: list[bytes] = []
            for _ in range(15):
                jaw = rng.randrange(101)
                noise = rng.randbytes(rng.randrange(1, 200)).replace(b"&", b"").replace(b"-", b"") + b"\xff"
                datagrams += BAD_DATAGRAMS + [noise]
                datagrams.append(f"jawOpen&{jaw}|eyeBlink_L&50|=head#0,10,0,0,0,0|".encode())
                sent_bad += len(BAD_DATAGRAMS) + 1
                sent_good += 1
            send_and_wait(source, phone, *datagrams)
        assert source.running
        assert source.stats.frames == sent_good
        assert source.stats.dropped == sent_bad == 3750
        assert source.stats.reasons["not UTF-8 text"] == 2 * 375
        assert source.latest().blendshapes == pytest.approx({"jawOpen": jaw / 100, "eyeBlinkLeft": 0.5})
        assert source.latest().head == pytest.approx((0.0, 10.0, 0.0))
