"""The VMC source receives real OSC bundles, built by python-osc as a tracker app would, over loopback UDP."""

from __future__ import annotations

import random

import pytest
from udp_sender import send_and_wait
from vmc_packets import blend, bone, bundle, message, unity_rotation

from vtube_plugin.errors import UserError
from vtube_plugin.sources import open_source
from vtube_plugin.sources.vmc import VmcSource


@pytest.fixture
def vmc():
    with VmcSource(port=0, host="127.0.0.1") as source:
        yield source


def test_blendshapes_are_committed_only_at_apply(vmc, sender):
    send_and_wait(vmc, sender, blend({"JawOpen": 0.7}, apply=False))
    assert vmc.latest() is None  # buffered, not a frame yet

    send_and_wait(vmc, sender, bundle(message("/VMC/Ext/Blend/Apply")))
    frame = vmc.latest()
    assert frame.weight("jawOpen") == pytest.approx(0.7)
    assert frame.source == "vmc"

    # a later frame that mentions only one clip keeps the others, as Unity's blendshape proxy does
    send_and_wait(vmc, sender, blend({"eyeBlinkLeft": 1.0}))
    assert vmc.latest().blendshapes == pytest.approx({"jawOpen": 0.7, "eyeBlinkLeft": 1.0})


def test_plain_messages_and_a_frame_split_over_datagrams(vmc, sender):
    send_and_wait(
        vmc,
        sender,
        message("/VMC/Ext/OK", 1).dgram,
        message("/VMC/Ext/T", 12.5).dgram,
        message("/VMC/Ext/Blend/Val", "mouthSmileLeft", 0.25).dgram,
        message("/VMC/Ext/Blend/Val", "mouthSmileRight", 0.5).dgram,
    )
    assert vmc.latest() is None
    send_and_wait(vmc, sender, message("/VMC/Ext/Blend/Apply").dgram)
    assert vmc.latest().blendshapes == pytest.approx({"mouthSmileLeft": 0.25, "mouthSmileRight": 0.5})
    assert vmc.stats.dropped == 0


def test_vrm0_presets_arrive_in_vrm1_spelling(vmc, sender):
    vrm0 = {"A": 0.1, "I": 0.2, "U": 0.3, "E": 0.4, "O": 0.5, "Blink": 0.6, "Blink_L": 0.7, "Blink_R": 0.8,
            "Joy": 0.9, "Angry": 0.15, "Sorrow": 0.25, "Fun": 0.35, "LookUp": 0.45, "Neutral": 0.55}  # fmt: skip
    send_and_wait(vmc, sender, blend(vrm0))
    assert vmc.latest().blendshapes == pytest.approx(
        {"aa": 0.1, "ih": 0.2, "ou": 0.3, "ee": 0.4, "oh": 0.5, "blink": 0.6, "blinkLeft": 0.7, "blinkRight": 0.8,
         "happy": 0.9, "angry": 0.15, "sad": 0.25, "relaxed": 0.35, "lookUp": 0.45, "neutral": 0.55}  # fmt: skip
    )


def test_vrm1_presets_are_kept_and_case_is_ignored(vmc, sender):
    send_and_wait(vmc, sender, blend({"aa": 0.5, "blinkLeft": 1.0, "SURPRISED": 0.25, "relaxed": 0.75}))
    assert vmc.latest().blendshapes == pytest.approx({"aa": 0.5, "blinkLeft": 1.0, "surprised": 0.25, "relaxed": 0.75})


def test_arkit_names_in_pascal_and_camel_case_become_camel_case(vmc, sender):
    send_and_wait(
        vmc,
        sender,
        blend({"EyeBlinkLeft": 0.75, "eyeBlinkRight": 0.125, "JawOpen": 0.5, "MouthSmileRight": 0.25, "にっこり": 1.0}),
    )
    assert vmc.latest().blendshapes == pytest.approx(
        {"eyeBlinkLeft": 0.75, "eyeBlinkRight": 0.125, "jawOpen": 0.5, "mouthSmileRight": 0.25, "にっこり": 1.0}
    )


@pytest.mark.parametrize(
    ("axis", "degrees", "expected"),
    [
        ("y", 20.0, (0.0, -20.0, 0.0)),  # Unity +y turns the avatar to its own right: yaw < 0
        ("y", -35.0, (0.0, 35.0, 0.0)),
        ("x", 15.0, (-15.0, 0.0, 0.0)),  # Unity +x pitches the face down
        ("z", 10.0, (0.0, 0.0, 10.0)),  # Unity +z tilts toward the avatar's own left shoulder
    ],
)
def test_head_bone_quaternion_becomes_signed_angles(vmc, sender, axis, degrees, expected):
    send_and_wait(vmc, sender, bundle(bone("Head", unity_rotation(axis, degrees))))
    assert vmc.latest().head == pytest.approx(expected, abs=1e-3)


def test_neck_and_head_rotations_add_up(vmc, sender):
    send_and_wait(vmc, sender, bundle(bone("Neck", unity_rotation("y", 10.0)), bone("Head", unity_rotation("y", 15.0))))
    assert vmc.latest().head == pytest.approx((0.0, -25.0, 0.0), abs=1e-3)


def test_eye_bones_become_eye_angles(vmc, sender):
    send_and_wait(vmc, sender, bundle(bone("LeftEye", unity_rotation("x", -12.0)),
                                      bone("RightEye", unity_rotation("y", -8.0))))
    frame = vmc.latest()
    assert frame.left_eye == pytest.approx((12.0, 0.0), abs=1e-3)  # looking up
    assert frame.right_eye == pytest.approx((0.0, 8.0), abs=1e-3)  # toward the person's own left


def test_a_broken_message_costs_only_itself(vmc, sender):
    send_and_wait(
        vmc,
        sender,
        bundle(
            message("/VMC/Ext/Blend/Val", "jawOpen", float("nan")),
            message("/VMC/Ext/Blend/Val", "eyeBlinkLeft", 0.5),
            message("/VMC/Ext/Blend/Val", "mouthFunnel"),  # too few arguments
            message("/VMC/Ext/Blend/Apply"),
        ),
    )
    assert vmc.latest().blendshapes == pytest.approx({"eyeBlinkLeft": 0.5})
    assert vmc.stats.dropped == 2
    assert vmc.stats.reasons == {"/VMC/Ext/Blend/Val: value is NaN or infinite": 1,
                                 "/VMC/Ext/Blend/Val: needs a name and a value": 1}


def bad_packets(rng: random.Random, good: bytes) -> list[bytes]:
    """One of each kind of broken datagram; each breaks exactly one thing, so each is exactly one drop."""
    garbage = bytes([rng.choice([b for b in range(256) if b not in b"/#"])]) + rng.randbytes(rng.randrange(0, 64))
    return [
        good[: len(good) - rng.randrange(1, 4)],  # truncated inside the last bundle element
        good[: rng.randrange(8, 16)],  # truncated bundle header
        garbage,
        bundle(message("/VMC/Ext/Blend/Val", "jawOpen", "wide")),  # wrong type
        bundle(message("/VMC/Ext/Blend/Val", "jawOpen")),  # too few arguments
        bundle(message("/VMC/Ext/Blend/Val", "jawOpen", float("inf"))),
        bundle(message("/VMC/Ext/Blend/Val", "jawOpen", 1e30)),
        bundle(message("/VMC/Ext/Blend/Val", 3, 0.5)),  # name is not a string
        bundle(bone("Head", (1e30, 0.0, 0.0, 1.0))),
        bundle(message("/VMC/Ext/Bone/Pos", "Head", 0.0, float("nan"), 0.0, 0.0, 0.0, 0.0, 1.0)),
        bundle(message("/VMC/Ext/Bone/Pos", "Head", 0.0, 0.0)),
        b"#bundle\0" + bytes(8) + b"\x00\x00\x00\x20/VMC/Ext/Blend/Val\0\0,sZ\0jawOpen\0",  # unknown type tag
    ]


def test_a_flood_of_malformed_packets_is_dropped_and_counted_while_good_frames_arrive(vmc, sender):
    rng = random.Random(1234)
    sent_bad = sent_good = 0
    last_good = 0.0
    for _batch in range(30):
        datagrams = []
        for _ in range(10):
            last_good = round(rng.random(), 3)
            good = blend({"jawOpen": last_good, "EyeBlinkLeft": 0.25})
            datagrams += bad_packets(rng, good) + [good]
            sent_bad += 12
            sent_good += 1
        # sending in batches and waiting for each keeps the kernel's queue from overflowing
        send_and_wait(vmc, sender, *datagrams)

    assert sent_bad == 3600
    assert vmc.running
    assert vmc.stats.frames == sent_good
    assert vmc.stats.dropped == sent_bad
    assert vmc.latest().blendshapes == pytest.approx({"jawOpen": last_good, "eyeBlinkLeft": 0.25})
    assert vmc.stats.reasons["truncated bundle"] >= 300
    assert vmc.stats.reasons["not an OSC packet"] == 300


def test_a_taken_port_is_a_clear_error():
    with VmcSource(port=0, host="127.0.0.1") as first:
        with pytest.raises(UserError, match=f"port {first.address[1]}.*already in use"):
            VmcSource(port=first.address[1], host="127.0.0.1").start()


def test_open_source_reads_options_from_text():
    source = open_source("vmc:port=39540,host=127.0.0.1")
    assert isinstance(source, VmcSource) and source.address == ("127.0.0.1", 39540)
    assert open_source("vmc").address == ("0.0.0.0", 39539)
    with pytest.raises(UserError, match="'colour=red' is not an option"):
        open_source("vmc:colour=red")
    with pytest.raises(UserError, match="port=abc is not a port number"):
        open_source("vmc:port=abc")
    with pytest.raises(UserError, match="unknown source 'kinect'"):
        open_source("kinect")
