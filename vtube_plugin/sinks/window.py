"""A preview window on the desktop (pygame), for checking the character before going live.

Closing the window or pressing Esc/q stops the stream; other keys reach the run loop (c: calibrate).
"""

from __future__ import annotations

import os
import platform

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.compose import Background, Compositor


def display_problem(system: str | None = None, env: dict | None = None) -> str | None:
    """Why no window can open here (None when one can): only Linux/BSD desktops need $DISPLAY or $WAYLAND_DISPLAY."""
    system = system or platform.system()
    env = os.environ if env is None else env
    if system in ("Windows", "Darwin") or env.get("SDL_VIDEODRIVER"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return ("there is no display to open a preview window on ($DISPLAY and $WAYLAND_DISPLAY are unset: a headless "
            "machine or an SSH session without -X). Use --output virtualcam or --output file:out.mp4, "
            "or run on the desktop.")


class WindowSink:
    """`with WindowSink((512, 512)) as win: win.send(rgba)`; `win.closed` turns true when the user closes it.

    A frame the live loop marks as a repeat (`timed`) is not drawn again; the window still answers its events.
    """

    timed = True  # send() takes at= and repeat= (live/loop.py)

    def __init__(self, size: tuple[int, int], *, background: Background = Background(), title: str = "vtube-plugin"):
        self.size = size
        self.title = title
        self.closed = False
        self.name = "preview window"
        self._compose = Compositor(size, background)
        self._keys: list[str] = []
        self._pygame = None
        self._screen = None

    def __enter__(self) -> WindowSink:
        problem = display_problem()
        if problem:
            raise UserError(problem)
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        try:
            import pygame
        except ImportError:
            raise UserError("the preview window needs pygame: `pip install pygame`") from None
        pygame.display.init()
        try:
            self._screen = pygame.display.set_mode(self.size)
        except pygame.error as exc:
            pygame.display.quit()
            raise UserError(f"cannot open a preview window: {exc}") from None
        pygame.display.set_caption(self.title)
        self._pygame = pygame
        return self

    def send(self, rgba: np.ndarray, at: float | None = None, repeat: bool = False) -> None:
        pygame = self._pygame
        if pygame is None:
            raise RuntimeError("WindowSink.send outside its `with` block")
        if not repeat:
            rgb = self._compose(rgba)
            surface = pygame.image.frombuffer(rgb.tobytes(), self.size, "RGB")
            self._screen.blit(surface, (0, 0))
            pygame.display.flip()
        # Reading events also keeps the window responsive (the OS marks it hung otherwise).
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.closed = True
            elif event.type == pygame.KEYDOWN:
                if event.key == pygame.K_ESCAPE:
                    self.closed = True
                elif event.unicode:
                    self._keys.append(event.unicode.lower())

    def take_keys(self) -> list[str]:
        """Keys typed into the window since the last call (the run loop reads them as console commands)."""
        keys, self._keys = self._keys, []
        return keys

    def screen_pixels(self) -> np.ndarray:
        """What the window shows now, uint8 RGB (height, width, 3)."""
        return self._pygame.surfarray.array3d(self._screen).transpose(1, 0, 2).copy()

    def __exit__(self, *exc) -> None:
        if self._pygame is not None:
            self._pygame.display.quit()
            self._pygame = None
