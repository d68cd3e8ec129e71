"""Fuzzing both network protocols over real loopback UDP: thousands of broken datagrams from generators written
here, interleaved with good ones. The source must stay alive, apply every good frame and count every broken one.

Two kinds of generator per protocol: one that breaks a good datagram in one known way at a random place
(so each must be exactly one drop), and blind random byte flips (which may or may not break it: then only
"alive, every datagram handled, the next good frame applied" can be asserted).
"""

from __future__ import annotations

import random
import socket
import struct

import pytest
from vmc_packets import blend, bundle, message

from vtube_plugin.sources.ifacialmocap import IFacialMocapSource
from vtube_plugin.sources.vmc import MAX_NAME_BYTES, VmcSource

SEED = 20261201
BATCH = 100  # datagrams sent before waiting for the source: the kernel's queue must not overflow


def send_all(source, sender, datagrams: list[bytes]) -> None:
    for start in range(0, len(datagrams), BATCH):
        expected = source.stats.packets + len(datagrams[start:start + BATCH])
        for data in datagrams[start:start + BATCH]:
            sender.sendto(data, source.address)
        assert source.wait_until(lambda s, n=expected: s.stats.packets >= n, timeout=20), \
            f"the source stopped taking datagrams after {source.stats.packets}"


# --- VMC / OSC ------------------------------------------------------------------------------------
def osc_string(text: bytes) -> bytes:
    return text + b"\0" * (4 - len(text) % 4)


def raw_message(address: bytes, tags: bytes, payload: bytes) -> bytes:
    return osc_string(address) + osc_string(tags) + payload


def raw_bundle(*elements: bytes) -> bytes:
    return b"#bundle\0" + bytes(8) + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def broken_osc(rng: random.Random) -> bytes:
    """A VMC datagram broken in exactly one way (one drop), with no Apply (no frame)."""
    value = struct.pack(">f", rng.random())
    val = raw_message(b"/VMC/Ext/Blend/Val", b",sf", osc_string(b"jawOpen") + value)
    kind = rng.randrange(10)
    if kind == 0:  # truncated anywhere inside the element (never on its end)
        whole = raw_bundle(val, val)
        return whole[: rng.randrange(16 + 4 + len(val) + 5, len(whole) - 1)]
    if kind == 1:  # a bundle header cut short
        return raw_bundle(val)[: rng.randrange(9, 16)]
    if kind == 2:  # an element size that lies: negative, unaligned or past the end
        size = rng.choice([-rng.randrange(1, 2**31), len(val) + rng.choice([1, 2, 3]),
                           len(val) + 4 * rng.randrange(1, 99)])
        return b"#bundle\0" + bytes(8) + struct.pack(">i", size) + val
    if kind == 3:  # not OSC at all
        return bytes([rng.choice([b for b in range(256) if b not in b"/#"])]) + rng.randbytes(rng.randrange(200))
    if kind == 4:  # an unknown type tag
        tag = rng.choice([c for c in b"abeglnopquvwxyzABCDEGHJKLMOPQRUVWXYZ0123456789"])
        return raw_bundle(raw_message(b"/VMC/Ext/Blend/Val", b",s" + bytes([tag]), osc_string(b"jawOpen") + value))
    if kind == 5:  # NaN, an infinity or a huge weight
        bits = rng.choice([0x7FC00000, 0x7F800000, 0xFF800000, 0x7F000000 | rng.randrange(1 << 23)])
        return raw_bundle(raw_message(b"/VMC/Ext/Blend/Val", b",sf", osc_string(b"jawOpen") + struct.pack(">I", bits)))
    if kind == 6:  # an address or name that is not UTF-8
        name = bytearray(b"jawOpen")
        name[rng.randrange(len(name))] = rng.choice([0xFF, 0xFE, 0xC0, 0x80])
        return raw_bundle(raw_message(b"/VMC/Ext/Blend/Val", b",sf", osc_string(bytes(name)) + value))
    if kind == 7:  # a string without its terminator
        return raw_message(b"/VMC/Ext/Blend/Val", b",sf", b"jawOpen")[:-1] + b"x" * rng.randrange(1, 9)
    if kind == 8:  # bundles nested past the limit
        inner = raw_bundle(val)
        for _ in range(rng.randrange(8, 12)):
            inner = raw_bundle(inner)
        return inner
    # a name longer than the limit
    return raw_bundle(raw_message(b"/VMC/Ext/Blend/Val", b",sf",
                                  osc_string(b"n" * rng.randrange(MAX_NAME_BYTES + 1, 2000)) + value))


def flipped(rng: random.Random, data: bytes) -> bytes:
    """Blind damage: a few random bytes overwritten, sometimes cut short."""
    damaged = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        damaged[rng.randrange(len(damaged))] = rng.randrange(256)
    return bytes(damaged[: rng.randrange(1, len(damaged) + 1)] if rng.random() < 0.3 else damaged)


def test_vmc_survives_broken_datagrams_counts_each_and_applies_every_good_frame(sender):
    rng = random.Random(SEED)
    datagrams, broken, good, last = [], 0, 0, 0.0
    for _ in range(4000):
        if rng.random() < 0.2:
            last = round(rng.random(), 3)
            datagrams.append(blend({"jawOpen": last, "eyeBlinkLeft": 0.25}))
            good += 1
        else:
            datagrams.append(broken_osc(rng))
            broken += 1
    with VmcSource(port=0, host="127.0.0.1") as vmc:
        send_all(vmc, sender, datagrams)
        assert vmc.running
        assert vmc.stats.frames == good
        assert vmc.stats.dropped == broken > 3000
        assert vmc.latest().blendshapes == pytest.approx({"jawOpen": last, "eyeBlinkLeft": 0.25})
        assert len(vmc.stats.reasons) >= 10  # every kind of break was met and told apart


def test_vmc_survives_random_byte_flips(sender):
    rng = random.Random(SEED + 1)
    good = bundle(message("/VMC/Ext/Blend/Val", "jawOpen", 0.5), message("/VMC/Ext/Bone/Pos", "Head", 0.0, 0.0, 0.0,
                                                                         0.0, 0.0, 0.0, 1.0),
                  message("/VMC/Ext/Blend/Apply"))
    datagrams = [flipped(rng, good) for _ in range(3000)]
    with VmcSource(port=0, host="127.0.0.1") as vmc:
        send_all(vmc, sender, datagrams)
        assert vmc.running and vmc.stats.packets == len(datagrams)
        assert vmc.stats.dropped > 1000  # most flips break something, and each break is counted
        send_all(vmc, sender, [blend({"jawOpen": 0.875})])
        assert vmc.latest().weight("jawOpen") == pytest.approx(0.875)  # garbage names may linger; ours is right


# --- iFacialMocap -----------------------------------------------------------------------------------
GOOD_FACE = ("mouthSmileLeft&12|jawOpen&{jaw}|eyeBlinkRight&95|=head#-21.4,-6.0,-4.9,-0.02,0.00,-0.01|"
             "rightEye#3.1,-4.0,0.0|")
NOT_NUMBERS = "bcdghjklmopqrstuvwxyzBCDGHJKLMOPQRSTUVWXYZ!?()[]{}<>/'\""  # no space, _, e, n, i, f: float() reads those


def broken_face(rng: random.Random) -> bytes:
    """An iFacialMocap datagram broken in exactly one way (one drop, no frame)."""
    fine = GOOD_FACE.format(jaw=rng.randrange(101))
    kind = rng.randrange(7)
    if kind == 0:  # a byte that is not UTF-8, anywhere
        data = bytearray(fine.encode())
        data.insert(rng.randrange(len(data) + 1), rng.choice([0xFF, 0xFE, 0xC0, 0x80]))
        return bytes(data)
    if kind == 1:  # a weight that is not a number
        junk = "".join(rng.choice(NOT_NUMBERS) for _ in range(rng.randrange(1, 12)))
        return fine.replace("jawOpen&", f"jawOpen&{junk}", 1).encode()
    if kind == 2:
        return fine.replace("=head#-21.4", f"=head#{rng.choice(['nan', 'inf', '-inf', 'NaN'])}", 1).encode()
    if kind == 3:  # a weight far out of range
        return f"jawOpen&{rng.choice([-1, 1]) * rng.uniform(1001, 1e30):g}|".encode()
    if kind == 4:  # a head with too few numbers
        return f"=head#{','.join(str(rng.uniform(-30, 30)) for _ in range(rng.randrange(0, 3)))}|".encode()
    if kind == 5:  # an angle beyond a full turn
        return f"rightEye#{rng.uniform(361, 1e9):.1f},0,0|".encode()
    # nothing a face is made of
    return "|".join(rng.choice(["", "FM_SAD&20", "trackingStatus&1", "x", "#", "&&"]) for _ in range(5)).encode()


def start_ifacialmocap(sender: socket.socket) -> IFacialMocapSource:
    return IFacialMocapSource(phone="127.0.0.1", phone_port=sender.getsockname()[1], port=0, host="127.0.0.1",
                              resend_after=60.0).start()


def test_ifacialmocap_survives_broken_datagrams_counts_each_and_applies_every_good_frame(sender):
    rng = random.Random(SEED + 2)
    datagrams, broken, good, jaw = [], 0, 0, 0
    for _ in range(4000):
        if rng.random() < 0.2:
            jaw = rng.randrange(101)
            datagrams.append(GOOD_FACE.format(jaw=jaw).encode())
            good += 1
        else:
            datagrams.append(broken_face(rng))
            broken += 1
    with start_ifacialmocap(sender) as source:
        send_all(source, sender, datagrams)
        assert source.running
        assert source.stats.frames == good
        assert source.stats.dropped == broken > 3000
        assert source.latest().weight("jawOpen") == pytest.approx(jaw / 100)
        assert source.latest().head == pytest.approx((21.4, -6.0, 4.9))
        assert len(source.stats.reasons) >= 6


def test_ifacialmocap_survives_random_byte_flips(sender):
    rng = random.Random(SEED + 3)
    datagrams = [flipped(rng, GOOD_FACE.format(jaw=40).encode()) for _ in range(3000)]
    with start_ifacialmocap(sender) as source:
        send_all(source, sender, datagrams)
        assert source.running and source.stats.packets == len(datagrams)
        assert source.stats.dropped > 500
        send_all(source, sender, [GOOD_FACE.format(jaw=77).encode()])
        assert source.latest().weight("jawOpen") == pytest.approx(0.77)
