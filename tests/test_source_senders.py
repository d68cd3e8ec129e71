"""Who may drive the character: only the phone for iFacialMocap; for VMC the first sender heard, the addresses
in allow=, or anyone with allow=any. Strangers send from another loopback address (127.0.0.2), over real UDP."""

from __future__ import annotations

import socket
import time

import pytest
from vmc_packets import blend

from vtube_plugin.errors import UserError
from vtube_plugin.sources import open_source
from vtube_plugin.sources.ifacialmocap import IFacialMocapSource
from vtube_plugin.sources.vmc import MAX_NAME_BYTES, MAX_NAMES, VmcSource

FACE = "jawOpen&40|eyeBlinkLeft&10|=head#0,10,0,0,0,0|"


def udp(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    sock.settimeout(10)
    return sock


@pytest.fixture
def phone():
    with udp("127.0.0.1") as sock:
        yield sock


@pytest.fixture
def stranger():
    with udp("127.0.0.2") as sock:
        yield sock


def test_ifacialmocap_ignores_a_stranger_counts_it_and_still_asks_the_phone_again(phone, stranger):
    source = IFacialMocapSource(phone="127.0.0.1", phone_port=phone.getsockname()[1], port=0, host="127.0.0.1",
                                resend_after=0.5)
    with source:
        phone.recvfrom(1024)  # the first start request
        # A stranger streams well-formed face data faster than resend_after: before, it both drove the
        # character and kept the resend timer from ever firing.
        phone.settimeout(0.02)
        sent, asked_again, deadline = 0, False, time.monotonic() + 10
        while not asked_again and time.monotonic() < deadline:
            stranger.sendto(FACE.encode(), source.address)
            sent += 1
            try:
                asked_again = phone.recvfrom(1024)[0].startswith(b"iFacialMocap_")
            except TimeoutError:
                pass
        assert asked_again, "the stranger's datagrams silenced the start request to the phone"
        assert source.wait_until(lambda s: s.stats.ignored["127.0.0.2"] == sent)
        assert source.latest() is None and source.stats.packets == 0  # nothing of it reached the parser
        assert f"ignored {sent} datagrams from 127.0.0.2" in str(source.stats)

        phone.sendto(b"jawOpen&70|", source.address)  # the phone itself still drives the character
        assert source.wait_until(lambda s: s.stats.frames == 1)
        assert source.latest().blendshapes == pytest.approx({"jawOpen": 0.7})


def send(source, sock, *datagrams: bytes) -> None:
    for data in datagrams:
        sock.sendto(data, source.address)


def settled(source, handled: int, ignored: int = 0) -> bool:
    return source.wait_until(lambda s: s.stats.packets == handled and sum(s.stats.ignored.values()) == ignored)


def test_vmc_locks_onto_the_first_sender_and_says_so(phone, stranger, capsys):
    with VmcSource(port=0, host="127.0.0.1") as vmc:
        send(vmc, phone, blend({"jawOpen": 0.25}))
        assert settled(vmc, 1)
        send(vmc, stranger, blend({"jawOpen": 1.0}), blend({"happy": 1.0}))
        send(vmc, phone, blend({"eyeBlinkLeft": 0.5}))
        assert settled(vmc, 2, ignored=2)
        assert vmc.latest().blendshapes == pytest.approx({"jawOpen": 0.25, "eyeBlinkLeft": 0.5})
        assert vmc.stats.ignored == {"127.0.0.2": 2}
        assert "ignored 2 datagrams from 127.0.0.2" in vmc.stats.ignored_text()
    said = capsys.readouterr().err
    assert said.count("vmc: receiving from 127.0.0.1; datagrams from other addresses are ignored") == 1


def test_vmc_allow_lists_senders_and_any_takes_all(phone, stranger):
    with open_source("vmc:port=0,host=127.0.0.1,allow=127.0.0.2+127.0.0.3") as vmc:
        send(vmc, phone, blend({"jawOpen": 1.0}))
        send(vmc, stranger, blend({"jawOpen": 0.5}))
        assert settled(vmc, 1, ignored=1)
        assert vmc.latest().blendshapes == pytest.approx({"jawOpen": 0.5})
        assert vmc.stats.ignored == {"127.0.0.1": 1}
    with open_source("vmc:port=0,host=127.0.0.1,allow=any") as vmc:
        send(vmc, phone, blend({"jawOpen": 1.0}))
        assert settled(vmc, 1)
        send(vmc, stranger, blend({"eyeBlinkLeft": 0.5}))
        assert settled(vmc, 2)
        assert vmc.latest().blendshapes == pytest.approx({"jawOpen": 1.0, "eyeBlinkLeft": 0.5})
    with pytest.raises(UserError, match=r"vmc: allow=192.168.1.5\+phone: .phone. is not an IP address"):
        open_source("vmc:allow=192.168.1.5+phone")


def test_vmc_keeps_a_bounded_number_of_bounded_names(phone):
    with VmcSource(port=0, host="127.0.0.1") as vmc:
        long_names = 200
        for i in range(long_names):  # before: every 60,000-character name was kept forever
            send(vmc, phone, blend({f"{i:05d}" + "x" * 60_000: 0.5}))
        assert settled(vmc, long_names)
        assert vmc.stats.reasons["/VMC/Ext/Blend/Val: name longer than 128 bytes"] == long_names
        send(vmc, phone, blend({"y" * MAX_NAME_BYTES: 0.5}))  # exactly the limit is a name
        new_names = 1000
        for start in range(0, new_names, 50):
            send(vmc, phone, blend({f"clip{i}": 0.1 for i in range(start, start + 50)}))
        assert settled(vmc, long_names + 1 + new_names // 50)
        kept = vmc.latest().blendshapes
        assert len(kept) == MAX_NAMES and "y" * MAX_NAME_BYTES in kept
        assert vmc.stats.reasons[f"/VMC/Ext/Blend/Val: more than {MAX_NAMES} blendshape names"] == \
            new_names + 1 - MAX_NAMES
        send(vmc, phone, blend({"clip3": 0.9}))  # a name it already knows still moves
        assert settled(vmc, long_names + 2 + new_names // 50)
        assert vmc.latest().weight("clip3") == pytest.approx(0.9)
