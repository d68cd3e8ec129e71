"""Renders the newest requested pose on one worker thread; requests that go stale while it works are dropped.

Sliders send a pose on every input event but a CPU frame takes about a second, so the page must never
wait for a queue of old poses: a single-slot mailbox keeps only the newest request.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.pose import Pose

T = TypeVar("T")


class Mailbox(Generic[T]):
    """One slot: `put` replaces whatever is still waiting; `take` blocks until there is something."""

    def __init__(self) -> None:
        self._item: T | None = None
        self._closed = False
        self._ready = threading.Condition()

    def put(self, item: T) -> None:
        with self._ready:
            self._item = item
            self._ready.notify()

    def take(self) -> T | None:
        """The newest item, or None once the mailbox is closed."""
        with self._ready:
            while self._item is None and not self._closed:
                self._ready.wait()
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()


class PoseRenderer(Protocol):
    """What the worker needs of `vtube_plugin.render.Renderer`."""

    def set_character(self, rgba: np.ndarray) -> None: ...

    def render(self, pose: Pose) -> np.ndarray: ...


@dataclass(frozen=True)
class Request:
    ticket: int  # increases with every request, across all pages: a larger ticket is a newer pose
    pose: Pose
    character: str


@dataclass(frozen=True)
class Frame:
    """A finished request: the PNG of the rendered frame, or why it could not be rendered."""

    ticket: int
    pose: Pose
    character: str
    png: bytes | None
    error: str | None = None


def encode_png(rgba: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    # Level 1: a preview is encoded every frame and re-read at once; size matters less than time.
    Image.fromarray(rgba, "RGBA").save(out, format="PNG", compress_level=1)
    return out.getvalue()


class PreviewWorker:
    """Owns the renderer: only its thread calls it, so the renderer needs no locking of its own.

    `characters(name)` turns a character name into the RGBA image the renderer takes.
    Keeps the last `keep` frames so a page can fetch (and save) the frame it was told about.
    """

    def __init__(self, renderer: PoseRenderer, characters: Callable[[str], np.ndarray], keep: int = 8):
        self._renderer = renderer
        self._characters = characters
        self._keep = keep
        self._mailbox: Mailbox[Request] = Mailbox()
        self._lock = threading.Condition()
        self._next_ticket = 1
        self._frames: dict[int, Frame] = {}
        self._newest: Frame | None = None
        self._character: str | None = None
        self.renders = 0  # frames the network actually rendered (fewer than requests when some went stale)
        self._thread = threading.Thread(target=self._work, name="poser-preview", daemon=True)
        self._thread.start()

    # --- what the HTTP handlers call ------------------------------------------------------------
    def submit(self, pose: Pose, character: str) -> int:
        """Queue a pose (replacing any not yet started); returns its ticket."""
        with self._lock:
            ticket = self._next_ticket
            self._next_ticket += 1
            # Put while holding the lock so the mailbox never holds an older ticket than one handed out later.
            self._mailbox.put(Request(ticket, pose, character))
        return ticket

    def wait_newer(self, than: int, timeout: float) -> Frame | None:
        """The newest finished frame once its ticket is above `than`; None if none came within `timeout`."""
        with self._lock:
            self._lock.wait_for(lambda: self._newest is not None and self._newest.ticket > than, timeout)
            newest = self._newest
            return newest if newest is not None and newest.ticket > than else None

    def frame(self, ticket: int) -> Frame | None:
        with self._lock:
            return self._frames.get(ticket)

    def close(self) -> None:
        self._mailbox.close()
        self._thread.join(timeout=30)

    # --- the worker thread ----------------------------------------------------------------------
    def _work(self) -> None:
        while (request := self._mailbox.take()) is not None:
            self._finish(self._render(request))

    def _render(self, request: Request) -> Frame:
        try:
            if request.character != self._character:
                self._renderer.set_character(self._characters(request.character))
                self._character = request.character
            rgba = self._renderer.render(request.pose)
            self.renders += 1
            return Frame(request.ticket, request.pose, request.character, encode_png(rgba))
        except UserError as err:
            return Frame(request.ticket, request.pose, request.character, None, str(err))
        except Exception as err:  # a renderer bug must not kill the worker: the page shows it, later poses still render
            import traceback

            traceback.print_exc()
            return Frame(request.ticket, request.pose, request.character, None, f"rendering failed: {err}")

    def _finish(self, frame: Frame) -> None:
        with self._lock:
            self._frames[frame.ticket] = frame
            for old in sorted(self._frames)[: -self._keep]:
                del self._frames[old]
            self._newest = frame
            self._lock.notify_all()
