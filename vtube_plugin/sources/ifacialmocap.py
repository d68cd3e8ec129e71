"""Receive face tracking from the iFacialMocap iPhone app (ARKit), and Facemotion3d's compatible stream.

The PC asks the phone to stream by sending a start string to the phone's UDP port 49983; the phone
then sends text datagrams to our port 49983 at 60 fps: `name-value|...` (v1) or `name&value|...` (v2),
values 0..100, plus `=head#rx,ry,rz,px,py,pz`, `rightEye#rx,ry,rz` and `leftEye#rx,ry,rz` in degrees.

Angles: iFacialMocap passes on ARKit's face anchor, whose axes are right-handed with x toward the
face's own left, y up and z out of the face. A right-handed rotation about x tips the face down,
about y turns it toward its own left, about z tilts it toward its own right shoulder, so:
    pitch = -rx,   yaw = +ry,   roll = -rz    (head; eyes likewise: (pitch, yaw) = (-rx, +ry)).
The pitch sign agrees with the THA3 authors' demo (head_x = -rx, and THA's head_x > 0 looks up);
the yaw and roll signs follow from ARKit's documented axes and have not been checked on a phone here.
"""

from __future__ import annotations

import math
import socket
import time

from vtube_plugin.errors import UserError
from vtube_plugin.ports import check_port, port_type
from vtube_plugin.sources.base import Malformed
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.names import ARKIT_NAMES, normalise_name
from vtube_plugin.sources.udp import LISTEN_PORT, UdpSource, text_of

PORT = 49983
START_STRING = "iFacialMocap_sahuasouryya9218sauhuiayeta91555dy3719"
V2_SUFFIX = "|sendDataVersion=v2"
MAX_ANGLE = 360.0
ARKIT_SET = frozenset(ARKIT_NAMES)


def _float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Malformed(f"{what} is not a number") from None
    if not math.isfinite(value):
        raise Malformed(f"{what} is NaN or infinite")
    return value


def _angles(text: str, count: int, what: str) -> list[float]:
    parts = text.split(",")
    if len(parts) < count:
        raise Malformed(f"{what} needs {count} numbers")
    values = [_float(p, what) for p in parts[:count]]
    if any(abs(v) > MAX_ANGLE for v in values):
        raise Malformed(f"{what} angle out of range")
    return values


def parse_datagram(text: str) -> FaceFrame:
    """One iFacialMocap datagram (v1 or v2) as a FaceFrame; Malformed if a known field is broken.

    Unknown keys (Facemotion3d's `FM_*`, future additions) are ignored; any key may be missing.
    """
    frame = FaceFrame(source="ifacialmocap")
    understood = False
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        if "#" in part:  # rotations; checked before v1 pairs because their numbers carry '-'
            key, _, values = part.partition("#")
            if key == "=head":
                rx, ry, rz = _angles(values, 3, "head")
                frame.head = (-rx, ry, -rz)
            elif key in ("rightEye", "leftEye"):
                rx, ry, _ = _angles(values, 3, key)
                setattr(frame, "right_eye" if key == "rightEye" else "left_eye", (-rx, ry))
            else:
                continue
            understood = True
            continue
        if "&" in part:
            key, _, value = part.partition("&")
        elif "-" in part:
            key, _, value = part.rpartition("-")
        else:
            continue  # a flag or setting we do not use (e.g. sendDataVersion=v2 echoed back)
        name = normalise_name(key)
        if name not in ARKIT_SET:
            continue  # Facemotion3d's FM_* keys, and whatever a later app version adds
        weight = _float(value, key) / 100.0
        if abs(weight) > 10.0:
            raise Malformed(f"{key} value out of range")
        frame.blendshapes[name] = min(max(weight, 0.0), 1.0)
        understood = True
    if not understood:
        raise Malformed("no face data")
    return frame


class IFacialMocapSource(UdpSource):
    """FaceFrames from iFacialMocap on a phone at `phone` (its IP address, shown in the app).

    Sends the start string on start and again whenever nothing has arrived from the phone for `resend_after`
    seconds (the phone restarted the app, the Wi-Fi dropped). Datagrams from other addresses are ignored and
    counted. Without `phone` it only listens, to the first address it hears.
    """

    name = "ifacialmocap"
    OPTIONS = {"phone": str, "port": LISTEN_PORT, "phone_port": port_type(), "host": str, "version": int,
               "resend_after": float, "start": str}
    WAITING_HINT = ("is iFacialMocap open on the phone at {phone}, on the same network, with no firewall blocking "
                    "UDP {port}?")
    FLAGS = {"phone_ip": ("phone", "the phone's IP address (shown in the app)"),
             "port": ("port", f"UDP port (default {PORT})")}

    def __init__(
        self,
        phone: str | None = None,
        port: int = PORT,
        phone_port: int = PORT,
        host: str = "0.0.0.0",
        version: int = 2,
        resend_after: float = 2.0,
        start: str = START_STRING,
    ) -> None:
        super().__init__(host, port)
        if version not in (1, 2):
            raise ValueError("version is 1 or 2")
        if not resend_after > 0:  # 0 would send a start request after every datagram, 60 times a second
            raise ValueError(f"resend_after must be more than 0 seconds, got {resend_after:g}")
        self.phone = phone
        self.phone_port = check_port(phone_port, "phone_port")
        self.resend_after = resend_after
        self.start_string = (start + (V2_SUFFIX if version == 2 else "")).encode("utf-8")
        self.starts_sent = 0
        self._last_heard = 0.0  # monotonic time of the last good datagram or start request

    def _open(self) -> None:
        if self.phone is not None:
            self.phone = resolve_phone(self.phone)
            self.allowed = frozenset({self.phone})  # only the phone drives the character (else: the first sender)
        super()._open()
        self._send_start()

    def _send_start(self) -> None:
        self._last_heard = time.monotonic()
        if self.phone is None or self._sock is None:
            return
        try:
            self._sock.sendto(self.start_string, (self.phone, self.phone_port))
            self.starts_sent += 1
        except (OSError, UnicodeError):
            pass  # unreachable phone or bad name: we simply try again after resend_after

    def _idle(self) -> None:
        if time.monotonic() - self._last_heard >= self.resend_after:
            self._send_start()

    def _handle(self, data: bytes, sender: tuple) -> None:
        frame = parse_datagram(text_of(data))
        frame.timestamp = time.monotonic()
        self._last_heard = frame.timestamp
        self._publish(frame)


def resolve_phone(phone: str) -> str:
    """The phone's address as typed by the user, checked early so a typo is a clear message."""
    try:
        return socket.gethostbyname(phone)
    except (OSError, UnicodeError):
        raise UserError(
            f"'{phone}' is not an address this PC can reach. Type the IP address iFacialMocap shows "
            "on the phone (for example 192.168.1.23)."
        ) from None
