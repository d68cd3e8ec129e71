"""The virtual camera sink through pyvirtualcam's own Camera, with a backend registered for the test.

A real v4l2loopback device cannot exist on CI (no kernel module), so the test backend takes its place
behind `pyvirtualcam.register_backend`; everything above it (Camera, its checks, our sink) is the real code.
"""

import platform

import numpy as np
import pytest

pyvirtualcam = pytest.importorskip("pyvirtualcam")

from vtube_plugin.errors import UserError  # noqa: E402
from vtube_plugin.sinks.compose import Background  # noqa: E402
from vtube_plugin.sinks.virtualcam import VirtualCameraSink, how_to_get_a_virtual_camera  # noqa: E402

CHARACTER = (200, 40, 90)


class RecordingBackend:
    """A pyvirtualcam backend that keeps the frames it is sent (pyvirtualcam passes them flattened)."""

    opened: list["RecordingBackend"] = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.frames: list[np.ndarray] = []
        self.closed = False
        RecordingBackend.opened.append(self)

    def send(self, frame):
        self.frames.append(frame.reshape(self.height, self.width, 3).copy())

    def close(self):
        self.closed = True

    def device(self):
        return "test camera"

    def native_fourcc(self):
        return None


@pytest.fixture
def backend():
    RecordingBackend.opened.clear()
    pyvirtualcam.register_backend("vtube-test", RecordingBackend)
    yield "vtube-test"
    pyvirtualcam.camera.BACKENDS.pop("vtube-test", None)


def character_frame(size=64):
    """Transparent all round, an opaque square of the character's colour in the middle."""
    rgba = np.zeros((size, size, 4), np.uint8)
    q = size // 4
    rgba[q:-q, q:-q, :3] = CHARACTER
    rgba[q:-q, q:-q, 3] = 255
    return rgba


def test_frames_reach_the_camera_at_its_size_over_the_chroma_key(backend):
    with VirtualCameraSink(64, 64, 30, backend=backend) as cam:
        cam.send(character_frame())
        assert cam.name == "virtual camera test camera"
    (device,) = RecordingBackend.opened
    assert device.closed  # released on leaving the `with`
    assert (device.width, device.height, device.fps) == (64, 64, 30)
    (frame,) = device.frames
    assert frame.shape == (64, 64, 3)
    assert tuple(frame[2, 2]) == (0, 255, 0)  # transparent: the green background
    assert tuple(frame[32, 32]) == CHARACTER  # opaque: the character


def test_bgr_swaps_the_channels(backend):
    with VirtualCameraSink(64, 64, 30, backend=backend, pixel_format="bgr", background=Background((10, 20, 30))) as cam:
        cam.send(character_frame())
    frame = RecordingBackend.opened[0].frames[0]
    assert RecordingBackend.opened[0].fourcc == pyvirtualcam.util.encode_fourcc(pyvirtualcam.PixelFormat.BGR.value)
    assert tuple(frame[2, 2]) == (30, 20, 10)
    assert tuple(frame[32, 32]) == CHARACTER[::-1]


def test_a_wide_camera_letterboxes_the_square_frame(backend):
    with VirtualCameraSink(128, 64, 30, backend=backend) as cam:
        cam.send(character_frame(64))
    frame = RecordingBackend.opened[0].frames[0]
    assert frame.shape == (64, 128, 3)
    assert tuple(frame[32, 10]) == (0, 255, 0)  # the bar beside the frame
    assert tuple(frame[32, 64]) == CHARACTER  # centred


def test_a_half_transparent_pixel_blends(backend):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., :3] = (255, 255, 255)
    rgba[..., 3] = 128
    with VirtualCameraSink(64, 64, 30, backend=backend, background=Background((0, 0, 0))) as cam:
        cam.send(rgba)
    assert tuple(RecordingBackend.opened[0].frames[0][5, 5]) == (128, 128, 128)


def test_an_unknown_pixel_format_is_a_user_error():
    with pytest.raises(UserError, match="pixel format 'RGBA' is not one of RGB, BGR"):
        VirtualCameraSink(64, 64, 30, pixel_format="RGBA")


def test_an_unknown_backend_is_a_user_error():
    with pytest.raises(UserError, match="unknown virtual camera backend 'nope'"):
        with VirtualCameraSink(64, 64, 30, backend="nope"):
            pass


@pytest.mark.skipif(platform.system() != "Linux", reason="the v4l2loopback backend exists on Linux only")
def test_without_a_loopback_device_the_message_says_how_to_get_one():
    try:
        with VirtualCameraSink(64, 64, 30, backend="v4l2loopback"):
            pytest.skip("this machine has a v4l2loopback device")
    except UserError as err:
        message = str(err)
    assert "no virtual camera could be opened" in message
    assert "modprobe v4l2loopback" in message and "exclusive_caps=1" in message


def test_the_help_for_windows_and_macos_points_to_obs():
    for system in ("Windows", "Darwin"):
        text = how_to_get_a_virtual_camera(system)
        assert "OBS" in text and "Start Virtual Camera" in text
    assert "OBS 26" in how_to_get_a_virtual_camera("Windows")
