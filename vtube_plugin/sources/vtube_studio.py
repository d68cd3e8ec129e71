"""Receive face tracking from the VTube Studio phone app (iPhone/iPad with ARKit, or Android), the stream it
offers "3rd Party PC Clients".

The PC asks for data by sending a JSON request to the phone's UDP port 21412:
    {"messageType": "iOSTrackingDataRequest", "time": 3.0, "sentBy": "vtube-plugin", "ports": [21413]}
`time` (0.5..10 s) is how long the phone keeps sending to the listed ports of the address the request came
from, so the request is re-sent every `resend_every` seconds, well inside `time`. Each datagram is JSON:
    {"Timestamp": ms, "Hotkey": -1, "FaceFound": true, "Rotation": {"x":, "y":, "z":}, "Position": {...},
     "EyeLeft": {"x":, "y":, "z":}, "EyeRight": {...}, "BlendShapes": [{"k": "EyeBlinkLeft", "v": 0.1}, ...]}
(DenchiSoft's public receiver example, VTubeStudioBlendshapeUDPReceiverTest). The iPhone sends the 52 ARKit
names in PascalCase (`EyeBlinkLeft`); the Android app names them as ARCore/MediaPipe-style receivers read
them (`jawOpen`, `eyeLookOut_L`, `mouthSmile_R`; Inochi2D's facetrack-d VTS adaptor): `names.normalise_name`
turns both into ARKit's camelCase, so the arkit profile fits both.

Angles: VTube Studio names its face angles FaceAngleX (turning left/right), FaceAngleY (up/down) and FaceAngleZ
(leaning), in degrees; Rotation x/y/z carry them in that order. Read like iFacialMocap's ARKit angles with x and
y swapped, as the THA3 community demos that take this stream do:
    pitch = -y,   yaw = +x,   roll = -z    (eyes: (pitch, yaw) = (-y, +x)).
These signs follow the public receivers; they have not been checked against a phone here.
"""

from __future__ import annotations

import json
import math
import socket
import time

from vtube_plugin.errors import UserError
from vtube_plugin.sources.base import Malformed
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.names import ARKIT_NAMES, normalise_name
from vtube_plugin.sources.udp import UdpSource, text_of

PHONE_PORT = 21412  # where the app listens for requests (shown in the app)
PORT = 21413  # where we ask it to send (any free port; the phone sends to the one named in the request)
APP_NAME = "vtube-plugin"  # "sentBy": 1..32 characters, only used in the app's log
MAX_BLENDSHAPES = 128  # the app sends 52; more is not a face
MAX_ANGLE = 360.0
ARKIT_SET = frozenset(ARKIT_NAMES)


def _resolve(phone: str) -> str:
    try:
        return socket.gethostbyname(phone)
    except (OSError, UnicodeError):
        raise UserError(f"'{phone}' is not an address this PC can reach. Type the IP address VTube Studio shows on "
                        "the phone under \"3rd Party PC Clients\" (for example 192.168.1.23).") from None


def start_request(port: int, seconds: float) -> bytes:
    """The request that makes the app send `seconds` of tracking to `port` of the address it came from."""
    return json.dumps({"messageType": "iOSTrackingDataRequest", "time": seconds, "sentBy": APP_NAME,
                       "ports": [port]}).encode("utf-8")


def _wrap(degrees: float) -> float:
    """-180..180: a Unity euler angle may come as 350 for -10."""
    return (degrees + 180.0) % 360.0 - 180.0


def _vector(data: dict, key: str) -> tuple[float, float, float] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"{key} is not an x/y/z object")
    out = []
    for axis in "xyz":
        v = value.get(axis, 0.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v) > MAX_ANGLE:
            raise Malformed(f"{key}.{axis} is not an angle")
        out.append(_wrap(float(v)))
    return out[0], out[1], out[2]


def parse_datagram(text: str) -> FaceFrame | None:
    """One VTube Studio datagram as a FaceFrame, None when the app says no face is found; Malformed if broken."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Malformed("not JSON") from None
    if not isinstance(data, dict) or "BlendShapes" not in data:
        raise Malformed("not VTube Studio tracking data")
    if data.get("FaceFound") is False:
        return None
    shapes = data["BlendShapes"]
    if not isinstance(shapes, list) or len(shapes) > MAX_BLENDSHAPES:
        raise Malformed("BlendShapes is not a list of up to 128 entries")
    frame = FaceFrame(source="vtube_studio")
    for entry in shapes:
        if not isinstance(entry, dict) or not isinstance(entry.get("k"), str):
            raise Malformed("a blendshape entry without a name")
        value = entry.get("v")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Malformed(f"{entry['k'][:40]}: value is not a number")
        name = normalise_name(entry["k"])
        if name in ARKIT_SET:  # others (an app version's additions) are ignored, never kept unbounded
            frame.blendshapes[name] = min(max(float(value), 0.0), 1.0)
    head = _vector(data, "Rotation")
    if head is not None:
        x, y, z = head
        frame.head = (-y, x, -z)
    for key, attr in (("EyeLeft", "left_eye"), ("EyeRight", "right_eye")):
        eye = _vector(data, key)
        if eye is not None:
            setattr(frame, attr, (-eye[1], eye[0]))
    return frame


class VTubeStudioSource(UdpSource):
    """FaceFrames from the VTube Studio app on a phone at `phone` (its IP address: the app shows it under
    "3rd Party PC Clients"). Asks for `request_seconds` of data every `resend_every` seconds; only datagrams
    from the phone's address are read, others are ignored and counted (`stats.ignored`)."""

    name = "vtube_studio"
    OPTIONS = {"phone": str, "port": int, "phone_port": int, "host": str, "resend_every": float,
               "request_seconds": float}
    WAITING_HINT = ("is VTube Studio open on the phone at {phone} with \"3rd Party PC Clients\" on, on the same "
                    "network, with no firewall blocking UDP {port} here?")
    FLAGS = {"phone_ip": ("phone", "the phone's IP address (shown in the app)"),
             "port": ("port", f"UDP port (default {PORT})")}

    def __init__(self, phone: str | None = None, port: int = PORT, phone_port: int = PHONE_PORT,
                 host: str = "0.0.0.0", resend_every: float = 1.0, request_seconds: float = 3.0) -> None:
        super().__init__(host, port)
        if phone is None or not str(phone).strip():
            raise ValueError("the phone's address is needed: --phone-ip 192.168.1.23 (the app shows it under "
                             "\"3rd Party PC Clients\")")
        if not 0.5 <= request_seconds <= 10.0:
            raise ValueError(f"request_seconds must be between 0.5 and 10 (the app's limits), got {request_seconds:g}")
        if not 0.1 <= resend_every < request_seconds:
            raise ValueError(f"resend_every must be at least 0.1 s and less than request_seconds "
                             f"({request_seconds:g}), or the stream stops between requests; got {resend_every:g}")
        self.phone = phone
        self.phone_port = phone_port
        self.resend_every = resend_every
        self.request_seconds = request_seconds
        self.requests_sent = 0
        self.faceless = 0  # datagrams in which the app found no face
        self._last_request = 0.0

    def _open(self) -> None:
        self.phone = _resolve(self.phone)
        self.allowed = frozenset({self.phone})  # UdpSource ignores and counts every other sender (stats.ignored)
        super()._open()
        self._request()

    def _request(self) -> None:
        self._last_request = time.monotonic()
        if self._sock is None:
            return
        try:
            self._sock.sendto(start_request(self.address[1], self.request_seconds), (self.phone, self.phone_port))
            self.requests_sent += 1
        except OSError:
            pass  # an unreachable phone: the next request goes out in resend_every seconds

    def _idle(self) -> None:
        if time.monotonic() - self._last_request >= self.resend_every:
            self._request()

    def _handle(self, data: bytes, sender: tuple) -> None:
        frame = parse_datagram(text_of(data))
        if frame is None:
            self.faceless += 1
            return
        frame.timestamp = time.monotonic()
        self._publish(frame)
