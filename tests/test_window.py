"""The preview window through real pygame on SDL's offscreen ("dummy") video driver, and the no-display message."""

import numpy as np
import pytest

pytest.importorskip("pygame")

from vtube_plugin.errors import UserError  # noqa: E402
from vtube_plugin.sinks.compose import Background  # noqa: E402
from vtube_plugin.sinks.window import WindowSink, display_problem  # noqa: E402


def test_the_window_shows_the_frame_over_the_background(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[8:24, 8:24] = (250, 120, 10, 255)
    with WindowSink((64, 64), background=Background((0, 0, 255))) as window:
        window.send(rgba)
        shown = window.screen_pixels()
        assert window.closed is False and window.take_keys() == []
    assert shown.shape == (64, 64, 3)
    assert tuple(shown[2, 2]) == (0, 0, 255)
    assert tuple(shown[32, 32]) == (250, 120, 10)


def test_no_display_is_a_clear_message(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("platform.system", lambda: "Linux")
    with pytest.raises(UserError, match=r"no display to open a preview window on .*--output virtualcam"):
        WindowSink((64, 64)).__enter__()
    assert display_problem("Windows", {}) is None
    assert display_problem("Linux", {"WAYLAND_DISPLAY": "wayland-0"}) is None
