"""Saying, before a stream, what will go wrong with a character picture: no transparency, not square, too
small, the head off the network's box, background left, a second figure or something beside the face.

`check_character` is the plain API (`character check`, the studio); `warn_about_framing` prints the framing
findings as warnings for the commands that load a picture which is usable but badly framed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np
from PIL import Image

from vtube_plugin.character.fit import KINDS
from vtube_plugin.character.head import BOX_LEFT, BOX_SIZE, BOX_TOP, FRAME, find_head
from vtube_plugin.character.load import MIN_SIZE, read_picture
from vtube_plugin.errors import UserError

FIX = "`vtube-plugin character fit` fixes this"
# How far a head may sit from the box before it matters. Every sample character is within these (the
# silhouette's guess of a well-framed head varies with the hairstyle: up to 21 px and 16 % on the samples).
OFF_BOX_PX = 24
SIZE_RANGE = (0.78, 1.28)
EDGE_SHARE = 0.05  # opaque share of the top, left or right edge that means background was left


@dataclass(frozen=True)
class Finding:
    """One thing that will go wrong: a short kind for programs, a sentence for people."""

    kind: str  # no-transparency, not-square, too-small, head-off-box, head-size, background-left,
    #            second-figure, beside-face, no-character
    message: str


def check_character(picture: np.ndarray | str | Path) -> list[Finding]:
    """Everything that will go wrong with `picture` (a path, or a uint8 RGB/RGBA array); empty when it is fine."""
    if isinstance(picture, np.ndarray):
        pixels = picture
    else:
        image = read_picture(Path(picture).expanduser(), KINDS)
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        pixels = np.array(image.convert("RGBA" if has_alpha else "RGB"))
    height, width = pixels.shape[:2]
    findings = []
    if pixels.shape[2] < 4 or pixels[..., 3].min() == 255:
        findings.append(Finding("no-transparency", "the picture has no transparent background, so the background "
                                                   f"would move with the head; {FIX} when the background is flat"))
        return findings
    if width != height:
        findings.append(Finding("not-square", f"the picture is {width}x{height}, not square; {FIX}"))
    if min(width, height) < MIN_SIZE:
        findings.append(Finding("too-small", f"the picture is {width}x{height}, smaller than {MIN_SIZE}x{MIN_SIZE}: "
                                             "the character will look blurry; use a larger picture"))
    if width == height:
        findings += framing_findings(_at_frame(pixels), scale=width / FRAME)
    else:
        findings += _content_findings(pixels[..., 3])
    return findings


def framing_findings(rgba: np.ndarray, scale: float = 1.0) -> list[Finding]:
    """What is wrong with how a square picture (at 512x512, as the network sees it) is framed.

    `scale` is the picture's own size over 512, to say whether the head has enough pixels.
    """
    alpha = rgba[..., 3]
    try:
        head = find_head(alpha)
    except UserError as err:
        return [Finding("no-character", str(err))]
    findings = []
    dx = head.centre_x - (BOX_LEFT + BOX_SIZE / 2)
    if abs(dx) > OFF_BOX_PX:
        side = "right" if dx > 0 else "left"
        findings.append(Finding("head-off-box", f"the head is about {abs(dx):.0f} px too far {side} of the box "
                                                f"(x {BOX_LEFT}-{BOX_LEFT + BOX_SIZE - 1} in 512x512); {FIX}"))
    dy = head.y - BOX_TOP
    if abs(dy) > OFF_BOX_PX:
        way = "low" if dy > 0 else "high"
        findings.append(Finding("head-off-box", f"the head is about {abs(dy):.0f} px too {way} for the box "
                                                f"(y {BOX_TOP}-{BOX_TOP + BOX_SIZE - 1} in 512x512); {FIX}"))
    ratio = head.size / BOX_SIZE
    if not SIZE_RANGE[0] <= ratio <= SIZE_RANGE[1]:
        big = "large" if ratio > 1 else "small"
        findings.append(Finding("head-size", f"the head is about {ratio:.2f}x the box's size, too {big}: the eyes "
                                             f"and mouth will not move properly; {FIX}"))
    if head.size * scale < BOX_SIZE / 2:
        findings.append(Finding("too-small", f"the head is only {head.size * scale:.0f} px in the picture; the "
                                             "character will look blurry; use a larger picture"))
    return findings + _content_findings(alpha, head_box=(head.x, head.y, head.size))


def warn_about_framing(rgba: np.ndarray, name: str, stream: TextIO | None = None) -> list[Finding]:
    """Print the framing findings for a loaded picture as warnings (it still works, only worse)."""
    findings = framing_findings(rgba)
    for finding in findings:
        print(f"warning: {name}: {finding.message}", file=stream or sys.stderr)
    if findings:
        print(f"warning: {name}: see `vtube-plugin character check {name}` (docs/character-images.md)",
              file=stream or sys.stderr)
    return findings


def _at_frame(rgba: np.ndarray) -> np.ndarray:
    if rgba.shape[0] == FRAME:
        return rgba
    return np.array(Image.fromarray(np.ascontiguousarray(rgba), "RGBA").resize((FRAME, FRAME),
                                                                                Image.Resampling.LANCZOS))


def _content_findings(alpha: np.ndarray, head_box: tuple[float, float, float] | None = None) -> list[Finding]:
    findings = []
    opaque = alpha >= 128
    edges = {"top": opaque[0], "left": opaque[:, 0], "right": opaque[:, -1]}
    touched = [side for side, line in edges.items() if line.mean() > EDGE_SHARE]
    if touched:
        findings.append(Finding("background-left", f"opaque pixels run along the {' and '.join(touched)} edge: "
                                                   "background left in the picture? Only the body may touch the "
                                                   "bottom edge"))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opaque.astype(np.uint8), connectivity=8)
    if count <= 2:
        return findings
    order = 1 + np.argsort(-stats[1:, cv2.CC_STAT_AREA])
    main = stats[order[0], cv2.CC_STAT_AREA]
    second = stats[order[1], cv2.CC_STAT_AREA]
    if second > 0.2 * main:
        findings.append(Finding("second-figure", "there is a second figure in the picture (a separate shape "
                                                 f"{second / main:.0%} the size of the main one); the network "
                                                 "animates one character: remove the other"))
    elif head_box is not None:
        x, y, size = head_box
        margin = size / 4
        for label in order[1:]:
            area = stats[label, cv2.CC_STAT_AREA]
            if area < 0.004 * main:
                break
            left, top = stats[label, cv2.CC_STAT_LEFT], stats[label, cv2.CC_STAT_TOP]
            right = left + stats[label, cv2.CC_STAT_WIDTH]
            bottom = top + stats[label, cv2.CC_STAT_HEIGHT]
            if right > x - margin and left < x + size + margin and bottom > y - margin and top < y + size + margin:
                findings.append(Finding("beside-face", "something separate from the character sits near the face "
                                                       "(a hand, a prop?); keep hands and props away from the "
                                                       "head, or they move with it"))
                break
    return findings
