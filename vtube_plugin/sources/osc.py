"""A strict, quiet OSC 1.0 decoder for the VMC source: datagram -> messages, or a reason it is broken.

Why not python-osc's parser: it logs a WARNING on the root logger for every undecodable packet (a
flood of garbage becomes a flood of log lines), skips broken bundle elements without telling the
caller (so they cannot be counted), and raises UnicodeDecodeError outside its ParseError. Bundle time
tags are read and ignored: frames are used the moment they arrive (python-osc's strict_timing pitfall).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_BUNDLE_DEPTH = 8
_BUNDLE_TAG = b"#bundle\0"
_FIXED = {"i": (">i", 4), "f": (">f", 4), "h": (">q", 8), "d": (">d", 8), "t": (">Q", 8), "c": (">I", 4),
          "r": (">I", 4)}
_NO_DATA = {"T": True, "F": False, "N": None, "I": float("inf")}


class OscError(ValueError):
    """A datagram or message that does not follow OSC 1.0; the text says what was wrong."""


@dataclass(frozen=True)
class OscMessage:
    address: str
    args: tuple


def decode(datagram: bytes) -> list[OscMessage | OscError]:
    """Every message of a datagram (a message or a bundle, nested bundles flattened) in order.

    A message whose own bytes are broken appears as an OscError in its place, so its neighbours still
    count; a datagram whose framing is broken (a truncated bundle) raises OscError.
    """
    out: list[OscMessage | OscError] = []
    _decode_into(memoryview(datagram), out, 0)
    return out


def _decode_into(data: memoryview, out: list, depth: int) -> None:
    if data[:8] == _BUNDLE_TAG:
        if depth >= MAX_BUNDLE_DEPTH:
            raise OscError("bundles nested too deep")
        if len(data) < 16:
            raise OscError("truncated bundle header")
        pos = 16  # the tag and an 8-byte time tag we do not wait for
        while pos < len(data):
            if pos + 4 > len(data):
                raise OscError("truncated bundle")
            (size,) = struct.unpack_from(">i", data, pos)
            pos += 4
            if size <= 0 or size % 4 or pos + size > len(data):
                raise OscError("truncated bundle")
            _decode_into(data[pos : pos + size], out, depth + 1)
            pos += size
        return
    if data[:1] != b"/":
        if depth == 0:
            raise OscError("not an OSC packet")
        out.append(OscError("not an OSC message"))
        return
    try:
        out.append(_message(data))
    except OscError as err:
        if depth == 0:
            raise
        out.append(err)


def _string(data: memoryview, pos: int) -> tuple[str, int]:
    end = bytes(data[pos:]).find(b"\0")
    if end < 0:
        raise OscError("unterminated string")
    raw = bytes(data[pos : pos + end])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OscError("string is not UTF-8") from None
    return text, pos + (end // 4 + 1) * 4


def _message(data: memoryview) -> OscMessage:
    address, pos = _string(data, 0)
    if pos >= len(data):
        return OscMessage(address, ())  # OSC 1.0 allows a message without a type tag string
    tags, pos = _string(data, pos)
    if not tags.startswith(","):
        raise OscError("missing type tags")
    args: list = []
    try:
        for tag in tags[1:]:
            if tag in _FIXED:
                fmt, size = _FIXED[tag]
                (value,) = struct.unpack_from(fmt, data, pos)
                pos += size
                args.append(value)
            elif tag == "s" or tag == "S":
                value, pos = _string(data, pos)
                args.append(value)
            elif tag == "b":
                (size,) = struct.unpack_from(">i", data, pos)
                if size < 0 or pos + 4 + size > len(data):
                    raise OscError("truncated blob")
                args.append(bytes(data[pos + 4 : pos + 4 + size]))
                pos += 4 + (size + 3) // 4 * 4
            elif tag == "m":
                args.append(bytes(data[pos : pos + 4]))
                pos += 4
            elif tag in _NO_DATA:
                args.append(_NO_DATA[tag])
            elif tag in "[]":
                continue  # array brackets: the elements follow as plain arguments
            else:
                raise OscError(f"unknown argument type '{tag}'")
    except struct.error:
        raise OscError("truncated arguments") from None
    if pos > len(data):
        raise OscError("truncated arguments")
    return OscMessage(address, tuple(args))
