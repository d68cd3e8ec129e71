"""Draws docs/images/fit-before-after.png and docs/images/check.png with the tool itself: a picture as a user
might bring it (white background, not square, the head off-centre and large) before and after
`character fit`, and what `character check` says about a badly framed one.

The schematic figure of make_framing.py stands in for a character (the sample characters' licences do not
allow committing them here). Run from the repository root: `python docs/images/make_fitting.py`.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]

from make_framing import BOX, HEAD, INK, SIZE, figure  # noqa: E402

from vtube_plugin.character import check_character, fit_character  # noqa: E402
from vtube_plugin.character.fit import place  # noqa: E402

PANEL = 300


def schematic_character() -> np.ndarray:
    """The framing figure, drawn large and smoothed, on a transparent 512x512 picture."""
    picture = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    figure(ImageDraw.Draw(picture), 0, 0)
    return np.array(picture)


def users_picture(character: np.ndarray) -> np.ndarray:
    """What a user might bring: 900x700, a white background, the character large and to the right, a JPEG."""
    canvas = Image.new("RGB", (900, 700), (255, 255, 255))
    scaled = Image.fromarray(place(character, 1.5, (0, 0), size=768), "RGBA")
    canvas.paste(scaled, (300, -40), scaled)
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    return np.array(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def on_checkerboard(rgba: np.ndarray, size: int) -> Image.Image:
    ys, xs = np.mgrid[0:rgba.shape[0], 0:rgba.shape[1]]
    shade = np.where((ys // 16 + xs // 16) % 2 == 0, 250, 230).astype(np.uint8)
    board = Image.fromarray(np.dstack([shade] * 3 + [np.full_like(shade, 255)]), "RGBA")
    board.alpha_composite(Image.fromarray(rgba, "RGBA"))
    draw = ImageDraw.Draw(board)
    draw.rectangle((BOX[0], BOX[1], BOX[2] - 1, BOX[3] - 1), outline=HEAD, width=3)
    return board.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)


def fit_figure(before: np.ndarray) -> Image.Image:
    result = fit_character(before)
    font = ImageFont.load_default(size=14)
    shown = Image.fromarray(before).resize((360, 280), Image.Resampling.LANCZOS)
    lines = [part for line in result.summary()[:3] for part in line.split("; ")]
    sheet = Image.new("RGB", (360 + 40 + 280 + 24, 280 + 44 + len(lines) * 18), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((0, 4), "before: 900x700 JPEG, white background", fill=INK, font=font)
    sheet.paste(shown, (0, 28))
    draw.rectangle((0, 28, 359, 307), outline=INK)
    draw.text((372, 150), "->", fill=INK, font=font)
    draw.text((400, 4), "after: 512x512, transparent", fill=INK, font=font)
    sheet.paste(on_checkerboard(result.image, 280), (400, 28))
    y = 318
    for line in lines:
        draw.text((0, y), line, fill=INK, font=ImageFont.load_default(size=12))
        y += 18
    return sheet


def check_figure(character: np.ndarray) -> Image.Image:
    bad = place(character, 1.5, (-40, -40))  # too large and too far right: the head misses the box
    findings = check_character(bad)
    font = ImageFont.load_default(size=14)
    sheet = Image.new("RGB", (280 + 24 + PANEL * 2, 280 + 32), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((0, 4), "character check", fill=INK, font=font)
    sheet.paste(on_checkerboard(bad, 280), (0, 28))
    y = 40
    for finding in findings:
        words, line = finding.message.split(), ""
        for word in words:
            if len(line) + len(word) > 70:
                draw.text((300, y), line, fill=HEAD, font=ImageFont.load_default(size=12))
                y, line = y + 17, ""
            line += word + " "
        draw.text((300, y), line, fill=HEAD, font=ImageFont.load_default(size=12))
        y += 28
    draw.text((300, y), "exit code 2", fill=INK, font=font)
    return sheet


def main() -> None:
    character = schematic_character()
    for name, image in (("fit-before-after.png", fit_figure(users_picture(character))),
                        ("check.png", check_figure(character))):
        image.save(HERE / name, optimize=True)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
