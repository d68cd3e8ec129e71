"""The tracker falls silent and comes back, 20 times in one stream, for each network tracker (real UDP on
loopback): idle life takes over while it is away (the tracked mouth eases shut, idle blinks come back), tracking
returns by itself each time, each loss and each return is said once, and every datagram sent was received.

The phone apps are played as they behave: iFacialMocap sends only after a start request (and needs a new one
after a Wi-Fi drop or an app restart); VTube Studio sends for the seconds each request asks for.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest
from loop_on_thread import LoopOnThread
from openseeface_packets import record
from vmc_packets import blend
from vts_packets import datagram

from vtube_plugin.sources.ifacialmocap import IFacialMocapSource
from vtube_plugin.sources.openseeface import OpenSeeFaceSource
from vtube_plugin.sources.vmc import VmcSource
from vtube_plugin.sources.vtube_studio import VTubeStudioSource

DROPS = 20
EVERY = 0.01  # a datagram every 10 ms while the tracker is there


class Tracker:
    """A tracker app on `sock` sending `face` to `source` while `present`; `sent` counts what it sent."""

    def __init__(self, sock: socket.socket, source, face: bytes):
        self.sock, self.source, self.face = sock, source, face
        self.present = False
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.sock.settimeout(EVERY)
        while not self.stop.is_set():
            self.step()

    def step(self) -> None:  # a plain sender: VMC, OpenSeeFace
        if self.present:
            self.send(self.source.address)
        self.stop.wait(EVERY)

    def send(self, to) -> None:
        self.sock.sendto(self.face, to)
        self.sent += 1

    def requests(self) -> list[bytes]:
        """What the PC sent the phone since the last step."""
        out = []
        while True:
            try:
                out.append(self.sock.recvfrom(65535)[0])
            except TimeoutError:
                return out


class IFacialMocapPhone(Tracker):
    """Streams once a start string came; after a drop it waits for the next one, as the app does."""

    started = False

    def step(self) -> None:
        asked = self.requests()
        if not self.present:
            self.started = False
        elif asked:
            self.started = True
        if self.present and self.started:
            self.send(self.source.address)


class VTubeStudioPhone(Tracker):
    """Streams to the port each request names, for the seconds it asks for."""

    until, port, clock = 0.0, None, 0.0

    def step(self) -> None:
        self.clock += EVERY
        for raw in self.requests():
            request = json.loads(raw)
            if self.present:
                self.until, self.port = self.clock + request["time"], request["ports"][0]
        if not self.present:
            self.until = 0.0
        if self.port is not None and self.clock < self.until:
            self.send(("127.0.0.1", self.port))


EYES_OPEN = {"eyeBlinkLeft": 0.0, "eyeBlinkRight": 0.0}
TRACKERS = {
    "vmc": (lambda phone: VmcSource(port=0, host="127.0.0.1"), Tracker, blend({"A": 0.6, "Blink": 0.0})),
    "openseeface": (lambda phone: OpenSeeFaceSource(port=0), Tracker, record({"mouth_open": 0.8, "eye_l": 0.2,
                                                                         "eye_r": 0.2})),
    "ifacialmocap": (lambda phone: IFacialMocapSource(phone="127.0.0.1", port=0, phone_port=phone, resend_after=0.05),
                     IFacialMocapPhone, b"jawOpen&60|eyeBlinkLeft&0|eyeBlinkRight&0|=head#0,0,0,0,0,0|"),
    "vtube_studio": (lambda phone: VTubeStudioSource(phone="127.0.0.1", port=0, phone_port=phone,
                                                     resend_every=0.1, request_seconds=0.5),
                     VTubeStudioPhone, datagram({"jawOpen": 0.6, **EYES_OPEN})),
}


def tracked(row) -> bool:
    """Tracking has eased in: the tracker's open mouth and open eyes are shown."""
    return row["tracking"] and row["pose"]["mouth_aaa"] > 0.2 and row["pose"]["eye_wink_left"] == 0.0


def idle(row) -> bool:
    """Lost, eased out: the tracked mouth is gone and idle life (here: a blink) has the eyes."""
    return not row["tracking"] and row["pose"]["mouth_aaa"] == 0.0 and row["pose"]["eye_wink_left"] > 0.0


@pytest.mark.parametrize("name", TRACKERS)
def test_a_tracker_that_drops_out_and_comes_back_twenty_times(name, tmp_path, phone):
    make_source, make_tracker, face = TRACKERS[name]
    source = make_source(phone.getsockname()[1])  # the phone apps get our requests on the `phone` socket
    with LoopOnThread(source, tmp_path) as live:
        tracker = make_tracker(phone, source, face)
        tracker.thread.start()
        try:
            since = 0
            for drop in range(DROPS + 1):
                tracker.present = True
                since = live.wait_row(tracked, since, f"tracking {drop}")
                if drop == DROPS:
                    break
                tracker.present = False
                since = live.wait_row(idle, since, f"idle life {drop}")
            tracker.present = False
            assert source.wait_until(lambda s: s.stats.packets == tracker.sent, timeout=10), (
                source.stats, tracker.sent)
        finally:
            tracker.stop.set()
            tracker.thread.join(timeout=10)
    said = live.messages()
    assert sum("tracking lost" in line for line in said) == DROPS, said
    assert sum("tracking back after" in line for line in said) == DROPS, said
    assert live.loop.tracked.losses == DROPS
    # Nothing lost that was sent: every datagram received, none dropped, each a frame.
    stats = source.stats.snapshot()
    assert stats["packets"] == tracker.sent and stats["dropped"] == 0 and stats["frames"] == tracker.sent, stats
    rows = live.rows()
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)  # the stream went on throughout
    assert live.summary.stopped_by == "the test ended"
