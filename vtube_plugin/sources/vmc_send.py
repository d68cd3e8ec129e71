"""VMC out (`--send-vmc HOST:PORT`): what we track, sent on as a VMC Performer, so a webcam tracked here can drive
VSeeFace, VNyan, Warudo or another vtube-plugin.

Beside the receiver (vmc.py) because it speaks the same protocol the other way: per tracked frame, bundles of
`/VMC/Ext/Blend/Val name value` (Perfect Sync names in PascalCase, VRM 0.x presets, or both), then one with
`/VMC/Ext/Blend/Apply`, `/VMC/Ext/Bone/Pos` for Head, LeftEye and RightEye (Unity quaternions: the inverse of
what vmc.py reads), `/VMC/Ext/Root/Pos`, `/VMC/Ext/OK 1` and `/VMC/Ext/T`. Each datagram stays under
MAX_DATAGRAM bytes, as VMC senders keep them. Sent with python-osc's client on a thread of its own, at its own
rate (30-60 Hz), never the render rate: a slow renderer must not slow the avatar in the other app.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from functools import lru_cache

from pythonosc.osc_bundle_builder import IMMEDIATELY
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing import osc_types
from pythonosc.udp_client import UDPClient

from vtube_plugin.errors import UserError
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.names import ARKIT_NAMES
from vtube_plugin.sources.rotation import matrix_from_angles, person_to_unity, quaternion_from_matrix

NAMES = ("both", "arkit", "vrm")  # which blendshape vocabularies go out
MAX_DATAGRAM = 1400  # bytes: VMC bundles stay within one Ethernet frame (the spec speaks of about 1500)
HEAD_HEIGHT = 0.06  # metres above the neck: a plausible local position for the Head bone
_PASCAL = {name: name[0].upper() + name[1:] for name in ARKIT_NAMES}
# The VRM 0.x presets sent, and the VRM 1.0 spelling a received frame carries them in (sources/names.py).
VRM0_FROM_VRM1 = {"A": "aa", "I": "ih", "U": "ou", "E": "ee", "O": "oh", "Blink": "blink", "Blink_L": "blinkLeft",
                  "Blink_R": "blinkRight", "Joy": "happy", "Angry": "angry", "Sorrow": "sad", "Fun": "relaxed"}


def parse_target(text: str) -> tuple[str, int]:
    """`HOST:PORT` as typed after --send-vmc, checked; a UserError says what is wrong."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UserError(f"--send-vmc {text}: give HOST:PORT, e.g. 127.0.0.1:39539 (VSeeFace's VMC receiver port) "
                        "or 192.168.1.20:39540")
    return host, int(port)


def _check(rate: float, names: str) -> None:
    if not 1.0 <= rate <= 120.0:
        raise UserError(f"--send-vmc-rate must be between 1 and 120 frames a second, got {rate:g}")
    if names not in NAMES:
        raise UserError(f"--send-vmc-names must be one of {', '.join(NAMES)}, got {names!r}")


def check_target(text: str, rate: float, names: str, source: str, options: dict) -> None:
    """Everything about --send-vmc that can be said before anything starts; a UserError for a mistake."""
    host, port = parse_target(text)
    _check(rate, names)
    if source == "vmc" and port == options.get("port", 39539) and host in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
        raise UserError(f"--send-vmc {text} is where this vtube-plugin receives VMC: it would send to itself. "
                        "Give the other app's port (VSeeFace and VNyan receive on 39539 by default, so move one).")


def _mean(frame: FaceFrame, *names: str) -> float:
    return sum(frame.weight(n) for n in names) / len(names)


def vrm_presets(frame: FaceFrame) -> dict[str, float]:
    """VRM 0.x presets for a frame: passed on when the tracker sent presets, else made from its ARKit weights
    (the vowels from the jaw and lips, blinks, Joy from the smile)."""
    if any(vrm1 in frame.blendshapes for vrm1 in VRM0_FROM_VRM1.values()):
        return {vrm0: frame.weight(vrm1) for vrm0, vrm1 in VRM0_FROM_VRM1.items() if vrm1 in frame.blendshapes}
    if "jawOpen" not in frame.blendshapes and "eyeBlinkLeft" not in frame.blendshapes:
        return {}
    clamp = lambda v: min(max(v, 0.0), 1.0)  # noqa: E731
    return {
        "A": clamp(frame.weight("jawOpen") * 1.5),
        "I": clamp(_mean(frame, "mouthStretchLeft", "mouthStretchRight") * 2.0),
        "U": frame.weight("mouthPucker"),
        "E": clamp(_mean(frame, "mouthUpperUpLeft", "mouthUpperUpRight") * 2.0),
        "O": frame.weight("mouthFunnel"),
        "Blink_L": frame.weight("eyeBlinkLeft"),
        "Blink_R": frame.weight("eyeBlinkRight"),
        "Joy": clamp((_mean(frame, "mouthSmileLeft", "mouthSmileRight") - 0.3) / 0.5),
    }


def _message(address: str, *args: object) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg, "f" if isinstance(arg, float) else None)
    return builder.build().dgram


@lru_cache(maxsize=1024)  # bounded: the names come from the tracker
def _prefix(address: str, name: str, floats: int) -> bytes:
    """python-osc's encoding of `address name f...` up to the floats, which are all that change per frame
    (building every message with python-osc costs 8 ms a frame: it parses each one back)."""
    return _message(address, name, *([0.0] * floats))[: -4 * floats]


@lru_cache(maxsize=1)
def _loaded() -> bytes:
    return _message("/VMC/Ext/OK", 1)


def _floats(address: str, name: str, *values: float) -> bytes:
    return _prefix(address, name, len(values)) + struct.pack(f">{len(values)}f", *values)


class _Bundle:
    """An OSC bundle to run at once, as bytes python-osc's client sends (it reads `.dgram`)."""

    HEADER = b"#bundle\0" + osc_types.write_date(IMMEDIATELY)

    def __init__(self, messages: list[bytes]):
        self.dgram = self.HEADER + b"".join(struct.pack(">i", len(m)) + m for m in messages)


def _bundles(messages: list[bytes]) -> list[_Bundle]:
    """The messages in order, in as few bundles as fit under MAX_DATAGRAM bytes each."""
    out: list[_Bundle] = []
    group: list[bytes] = []
    size = len(_Bundle.HEADER)
    for m in messages:
        if group and size + 4 + len(m) > MAX_DATAGRAM:
            out.append(_Bundle(group))
            group, size = [], len(_Bundle.HEADER)
        group.append(m)
        size += 4 + len(m)
    out.append(_Bundle(group))
    return out


def _bone(name: str, pitch: float, yaw: float, roll: float = 0.0, height: float = 0.0) -> bytes:
    x, y, z, w = quaternion_from_matrix(person_to_unity(matrix_from_angles(pitch, yaw, roll)))
    return _floats("/VMC/Ext/Bone/Pos", name, 0.0, height, 0.0, x, y, z, w)


def vmc_datagrams(frame: FaceFrame, names: str = "both", sender_time: float = 0.0) -> list[bytes]:
    """One tracked frame as the datagrams a VMC Performer sends (see the module docstring)."""
    return [b.dgram for b in vmc_bundles(frame, names, sender_time)]


def vmc_bundles(frame: FaceFrame, names: str = "both", sender_time: float = 0.0) -> list:
    """One tracked frame as bundles for python-osc's client, each small enough for one datagram."""
    blend: dict[str, float] = {}
    if names in ("both", "arkit"):
        blend.update({_PASCAL[n]: v for n, v in frame.blendshapes.items() if n in _PASCAL})
    if names in ("both", "vrm"):
        blend.update(vrm_presets(frame))
    messages = [_loaded(), _message("/VMC/Ext/T", float(sender_time)),
                _floats("/VMC/Ext/Root/Pos", "root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)]
    if frame.head is not None:
        messages.append(_bone("Head", *frame.head, height=HEAD_HEIGHT))
    for bone, eye in (("LeftEye", frame.left_eye), ("RightEye", frame.right_eye)):
        if eye is not None:
            messages.append(_bone(bone, *eye))
    messages += [_floats("/VMC/Ext/Blend/Val", name, v) for name, v in blend.items()]
    messages.append(_message("/VMC/Ext/Blend/Apply"))
    return _bundles(messages)


class VmcSender:
    """Sends `latest()`'s newest frame to HOST:PORT `rate` times a second at most (only frames not sent yet).

    `with VmcSender(source.latest, "127.0.0.1", 39539):` ...; `sent` counts frames, `errors` failed sends.
    """

    def __init__(self, latest: Callable[[], FaceFrame | None], host: str, port: int, rate: float = 60.0,
                 names: str = "both") -> None:
        _check(rate, names)
        self.latest, self.host, self.port, self.rate, self.names = latest, host, port, rate, names
        self.sent = 0
        self.errors = 0
        self._client: UDPClient | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()

    def start(self) -> VmcSender:
        try:  # resolved once: python-osc would look a host name up again for every datagram
            address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0][4][0]
            self._client = UDPClient(address, self.port)
        except (OSError, UnicodeError) as err:
            raise UserError(f"--send-vmc {self.host}:{self.port}: cannot send there ({err}). Check the address "
                            "of the PC running the other app.") from None
        self._thread = threading.Thread(target=self._run, name="vmc-send", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> VmcSender:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def send(self, frame: FaceFrame) -> None:
        """Send one frame now (the thread calls this; a test or the benchmark may too)."""
        assert self._client is not None, "start() first"
        for bundle in vmc_bundles(frame, self.names, time.monotonic() - self._started):
            try:
                self._client.send(bundle)
            except OSError:  # nobody listening yet, or the network went away: the next frame tries again
                self.errors += 1
                return
        self.sent += 1

    def _run(self) -> None:
        period = 1.0 / self.rate
        last: float | None = None
        due = time.monotonic()
        while not self._stop.is_set():
            frame = self.latest()
            if frame is not None and frame.timestamp != last:
                last = frame.timestamp
                self.send(frame)
            due += period
            self._stop.wait(max(0.0, due - time.monotonic()))
            due = max(due, time.monotonic() - period)  # after a stall, do not burst to catch up


def benchmark_send(frames: int = 2000) -> float:
    """Microseconds to build and send one frame (52 ARKit weights, VRM presets, head and eyes) to a local
    socket: what VMC out costs the machine per frame."""
    frame = FaceFrame(blendshapes={n: 0.5 for n in ARKIT_NAMES}, head=(5.0, -10.0, 3.0), left_eye=(2.0, 4.0),
                      right_eye=(2.0, 3.0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sender = VmcSender(lambda: None, "127.0.0.1", sink.getsockname()[1])
        sender._client = UDPClient("127.0.0.1", sink.getsockname()[1])
        try:
            start = time.perf_counter()
            for _ in range(frames):
                sender.send(frame)
            elapsed = time.perf_counter() - start
        finally:
            sender._client.close()
    return elapsed / frames * 1e6
