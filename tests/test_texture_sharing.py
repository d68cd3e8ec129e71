"""The Spout2 (Windows) and Syphon (macOS) outputs through their real sink classes, with the OS library replaced
by a stand-in: neither can exist on a Linux test machine, the one case the project allows a stand-in for.

Each stand-in keeps what the real library would put into the shared texture, arranged as a receiver (OBS) reads
it: Spout's SendImage takes rows top-down (DirectX's origin) unless told to invert; a Metal texture's origin is
its top-left and Syphon flips it only when told the texture is flipped. Asserted: size (width and height not
swapped), orientation, straight alpha (what OBS's Spout2 "Default" composite mode and the Syphon source with
"Allow Transparency" blend), the sender's name and the life cycle.
"""

from __future__ import annotations

import platform

import numpy as np
import pytest

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.browser import BrowserSink
from vtube_plugin.sinks.choose import make_sink
from vtube_plugin.sinks.compose import Background
from vtube_plugin.sinks.spout import GL_RGBA, SpoutSink
from vtube_plugin.sinks.syphon import SyphonSink


def sample_frame() -> np.ndarray:
    """64 wide, 48 high: red top rows, blue bottom rows, a transparent column and a half-transparent pixel."""
    frame = np.zeros((48, 64, 4), np.uint8)
    frame[:24] = (255, 0, 0, 255)
    frame[24:] = (0, 0, 255, 255)
    frame[:, 60:] = 0
    frame[10, 10] = (200, 100, 50, 128)
    return frame




class SpoutStandIn:
    """SpoutGL's surface (`SpoutSender()` with setSenderName, sendImage, setFrameSync, releaseSender)."""

    def __init__(self):
        self.senders: list[_SpoutSender] = []

    def SpoutSender(self):  # noqa: N802 - SpoutGL's spelling
        sender = _SpoutSender()
        self.senders.append(sender)
        return sender


class _SpoutSender:
    def __init__(self):
        self.name, self.received, self.syncs, self.released = None, None, [], False

    def setSenderName(self, name):  # noqa: N802
        self.name = name

    def sendImage(self, buffer, width, height, gl_format, invert, host_fbo):  # noqa: N802
        view = memoryview(buffer)
        assert view.c_contiguous, "SpoutGL refuses a buffer that is not C-contiguous"
        assert gl_format == 0x1908 and host_fbo == 0
        pixels = np.frombuffer(view.tobytes(), np.uint8)
        assert pixels.size >= width * height * 4, "SpoutGL refuses a buffer smaller than width x height x 4"
        rows = pixels[: width * height * 4].reshape(height, width, 4)
        self.received = rows[::-1] if invert else rows  # the shared DirectX texture, top row first
        return True

    def setFrameSync(self, name):  # noqa: N802
        self.syncs.append(name)

    def releaseSender(self):  # noqa: N802
        self.released = True


class SyphonStandIn:
    """syphon-python's surface: SyphonMetalServer(name) with .device, publish_frame_texture, stop; and the
    texture helpers create_mtl_texture (RGBA8Unorm) and copy_image_to_mtl_texture."""

    def __init__(self):
        self.servers: list[_SyphonServer] = []

    def SyphonMetalServer(self, name):  # noqa: N802
        server = _SyphonServer(name)
        self.servers.append(server)
        return server

    @staticmethod
    def create_mtl_texture(device, width, height):
        assert device == "metal device"
        return {"width": width, "height": height, "bytes": b""}

    @staticmethod
    def copy_image_to_mtl_texture(image, texture):
        assert image.shape == (texture["height"], texture["width"], 4)
        texture["bytes"] = image.tobytes()  # replaceRegion: row 0 is the texture's top (Metal's origin)


class _SyphonServer:
    device = "metal device"

    def __init__(self, name):
        self.name, self.published, self.stopped = name, [], False

    def publish_frame_texture(self, texture, is_flipped=False):
        rows = np.frombuffer(texture["bytes"], np.uint8).reshape(texture["height"], texture["width"], 4)
        self.published.append(rows[::-1] if is_flipped else rows)  # as a client shows it, top row first

    def stop(self):
        self.stopped = True


def test_spout_sends_the_frame_upright_full_size_with_straight_alpha():
    spout = SpoutStandIn()
    frame = sample_frame()
    with SpoutSink("my character", library=spout) as sink:
        sink.send(frame)
        sink.send(np.ascontiguousarray(frame[:, ::-1]))  # a mirrored view: must still arrive whole
        sender = spout.senders[0]
        assert sender.name == "my character" and not sender.released
    shown = sender.received
    assert shown.shape == (48, 64, 4), "width and height must not be swapped"
    assert (shown[12:24, 4:60, :3] == (255, 0, 0)).all() and (shown[24:, 4:60, :3] == (0, 0, 255)).all(), "upright"
    assert (shown[:, :4, 3] == 0).all(), "the mirrored frame's transparent column is on the left"
    assert tuple(shown[10, 53]) == (200, 100, 50, 128), "straight alpha: the colour is not premultiplied"
    assert sender.syncs == ["my character"] * 2 and sender.released
    assert GL_RGBA == 0x1908


def test_syphon_publishes_the_frame_upright_full_size_with_straight_alpha():
    syphon = SyphonStandIn()
    frame = sample_frame()
    with SyphonSink("my character", library=syphon) as sink:
        sink.send(frame)
        sink.send(frame[:40, :32])  # a new size gets a new texture
        server = syphon.servers[0]
        assert server.name == "my character" and not server.stopped
    first, second = server.published
    assert first.shape == (48, 64, 4) and second.shape == (40, 32, 4)
    assert np.array_equal(first, frame), "upright, every byte as rendered (straight alpha, RGBA order)"
    assert tuple(first[10, 10]) == (200, 100, 50, 128)
    assert np.array_equal(second, frame[:40, :32])
    assert server.stopped


def test_spout_and_syphon_come_from_output_specs():
    sink = make_sink("spout:name=Vtuber", size=(512, 512), fps=30, background=Background())
    assert isinstance(sink, SpoutSink) and sink.sender_name == "Vtuber"
    sink = make_sink("syphon", size=(512, 512), fps=30, background=Background())
    assert isinstance(sink, SyphonSink) and sink.server_name == "vtube-plugin"


@pytest.mark.skipif(platform.system() in ("Windows", "Darwin"), reason="the message for an OS without either")
def test_on_other_systems_the_message_points_to_the_browser_output():
    with pytest.raises(UserError, match=r"--output spout is for Windows \(Spout2\); this is Linux.*--output browser"):
        SpoutSink().__enter__()
    with pytest.raises(UserError, match=r"--output syphon is for macOS; this is Linux.*--output browser"):
        SyphonSink().__enter__()


@pytest.mark.parametrize("make", [lambda: SpoutSink(library=SpoutStandIn()),
                                  lambda: SyphonSink(library=SyphonStandIn()),
                                  lambda: BrowserSink((48, 64), port=0)], ids=["spout", "syphon", "browser"])
def test_a_frame_that_is_not_rgba_is_refused_by_name(make):
    rgb = sample_frame()[..., :3]
    with make() as sink:
        refused = r"expected a uint8 RGBA frame \(height, width, 4\), got uint8 \(48, 64, 3\)"
        with pytest.raises(ValueError, match=refused):
            sink.send(rgb)
        with pytest.raises(ValueError, match=r"got float32 \(48, 64, 4\)"):
            sink.send(sample_frame().astype(np.float32))
        sink.send(sample_frame())  # and a right one still goes out
