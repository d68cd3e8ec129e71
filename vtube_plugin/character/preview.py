"""A contact sheet of a character in a few poses (as loaded, eyes closed, mouth open, head turned, a smile),
rendered with the real network, so a user sees what will move before going live."""

from __future__ import annotations

import sys
from typing import TextIO

import numpy as np
from PIL import Image, ImageDraw

from vtube_plugin.pose import Pose

POSES: tuple[tuple[str, dict[str, float]], ...] = (
    ("as drawn", {}),
    ("eyes closed", {"eye_wink_left": 1.0, "eye_wink_right": 1.0}),
    ("mouth open", {"mouth_aaa": 1.0}),
    ("head turned", {"head_y": 1.0}),
    ("smile", {"eye_happy_wink_left": 1.0, "eye_happy_wink_right": 1.0, "mouth_raised_corner_left": 1.0,
               "mouth_raised_corner_right": 1.0, "mouth_iii": 0.6}),
)
TILE = 256
_LABEL = 22


def render_poses(renderer, rgba: np.ndarray, progress: TextIO | None = None) -> list[tuple[str, np.ndarray]]:
    """The character posed in each of POSES: (label, RGBA frame); a progress line goes to `progress`."""
    renderer.set_character(rgba)
    frames = []
    for n, (label, values) in enumerate(POSES, start=1):
        if progress is not None:
            print(f"\rrendering the preview: {n}/{len(POSES)} ({label})   ", end="", file=progress, flush=True)
        frames.append((label, renderer.render(Pose.from_dict(values))))
    if progress is not None:
        print(file=progress)
    return frames


def contact_sheet(frames: list[tuple[str, np.ndarray]]) -> Image.Image:
    """The frames side by side on a checkerboard (so transparency shows), each labelled, cropped to the
    upper body where the face is."""
    sheet = Image.new("RGB", (TILE * len(frames), TILE + _LABEL), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    checker = _checkerboard(TILE)
    for i, (label, frame) in enumerate(frames):
        size = frame.shape[0]
        # The top 5/8, centred: the head and shoulders, where everything the preview shows happens.
        crop = Image.fromarray(frame, "RGBA").crop((size * 3 // 16, 0, size * 13 // 16, size * 5 // 8))
        tile = checker.copy()
        tile.alpha_composite(crop.resize((TILE, TILE), Image.Resampling.LANCZOS))
        sheet.paste(tile.convert("RGB"), (i * TILE, _LABEL))
        draw.text((i * TILE + 8, 5), label, fill=(0, 0, 0))
    return sheet


def preview(renderer, rgba: np.ndarray, progress: TextIO | None = sys.stderr) -> Image.Image:
    """The contact sheet of `rgba` (as the renderer takes it) posed in each of POSES."""
    return contact_sheet(render_poses(renderer, rgba, progress))


def _checkerboard(size: int, cell: int = 16) -> Image.Image:
    ys, xs = np.mgrid[0:size, 0:size]
    light = ((ys // cell + xs // cell) % 2 == 0)
    pixels = np.where(light[..., None], 236, 204).astype(np.uint8).repeat(3, axis=2)
    return Image.fromarray(np.dstack([pixels, np.full((size, size), 255, np.uint8)]), "RGBA")
