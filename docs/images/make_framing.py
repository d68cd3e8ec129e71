"""Draws docs/images/framing.png: where a character's head goes in the 512x512 picture.

A schematic figure stands in for a real character (the sample characters' licences do not allow
committing them here). Run from anywhere: `python docs/images/make_framing.py`.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 512
BOX = (192, 64, 320, 192)  # the 128x128 head box, centred in the top half (x0, y0, x1, y1)
MARGIN = 40
PANEL = 300  # room on the right for the notes
OUT = Path(__file__).with_name("framing.png")

INK = (40, 40, 48)
HALF = (40, 110, 220)
HEAD = (220, 40, 40)
SKIN = (250, 224, 200)
HAIR = (120, 84, 60)
CLOTHES = (90, 130, 100)


def checkerboard(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
    """How image editors show transparency: the background must be see-through, not white."""
    step = 16
    for row in range(SIZE // step):
        for col in range(SIZE // step):
            shade = 236 if (row + col) % 2 else 250
            draw.rectangle((x + col * step, y + row * step, x + (col + 1) * step - 1, y + (row + 1) * step - 1),
                           fill=(shade, shade, shade))


def figure(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
    """A schematic upper body: hair and face filling the head box, neck, shoulders, torso."""
    x0, y0, x1, y1 = BOX
    draw.polygon([(x + 150, y + 420), (x + 190, y + 225), (x + 322, y + 225), (x + 362, y + 420)], fill=CLOTHES)
    draw.rectangle((x + 238, y + 180, x + 274, y + 230), fill=SKIN)
    draw.ellipse((x + x0 + 2, y + y0 + 2, x + x1 - 2, y + y1 - 6), fill=HAIR)
    draw.ellipse((x + x0 + 20, y + y0 + 36, x + x1 - 20, y + y1 - 4), fill=SKIN)
    for eye_x in (x0 + 42, x1 - 52):
        draw.ellipse((x + eye_x, y + y0 + 78, x + eye_x + 12, y + y0 + 94), fill=INK)
    draw.line((x + 248, y + y0 + 108, x + 264, y + y0 + 108), fill=INK, width=2)


def main() -> None:
    font = ImageFont.load_default(size=15)
    small = ImageFont.load_default(size=13)
    canvas = Image.new("RGB", (SIZE + 2 * MARGIN + PANEL, SIZE + 2 * MARGIN), "white")
    draw = ImageDraw.Draw(canvas)
    ox, oy = MARGIN, MARGIN

    checkerboard(draw, ox, oy)
    figure(draw, ox, oy)
    draw.rectangle((ox, oy, ox + SIZE // 2 * 2 - 1, oy + SIZE // 2 - 1), outline=HALF, width=2)
    draw.rectangle((ox + BOX[0], oy + BOX[1], ox + BOX[2] - 1, oy + BOX[3] - 1), outline=HEAD, width=3)
    draw.line((ox + SIZE // 2, oy, ox + SIZE // 2, oy + SIZE // 2), fill=HALF, width=1)
    draw.rectangle((ox, oy, ox + SIZE - 1, oy + SIZE - 1), outline=INK, width=2)

    draw.text((ox, oy - 26), "512 x 512 px, RGBA (PNG or WebP)", fill=INK, font=font)
    draw.text((ox + 6, oy + SIZE // 2 - 20), "top half (y 0-255)", fill=HALF, font=small)
    draw.text((ox + BOX[2] + 8, oy + BOX[1]), "head box", fill=HEAD, font=small)
    draw.text((ox + BOX[2] + 8, oy + BOX[1] + 16), "128 x 128", fill=HEAD, font=small)
    draw.text((ox + 6, oy + SIZE - 22), "background: fully transparent (alpha 0)", fill=INK, font=small)

    notes = [
        ("Square, 512 x 512 px", INK),
        ("(other square sizes >= 256 px", INK),
        (" are resized automatically)", INK),
        ("", INK),
        ("Transparent background:", INK),
        ("only the character is opaque", INK),
        ("", INK),
        ("Head inside the red box:", HEAD),
        ("x 192-319, y 64-191,", HEAD),
        ("centred in the top half", HEAD),
        ("", INK),
        ("One character, upright,", INK),
        ("facing forward; hands below", INK),
        ("and away from the head", INK),
    ]
    tx, ty = ox + SIZE + 28, oy + 8
    for line, colour in notes:
        draw.text((tx, ty), line, fill=colour, font=font)
        ty += 22
    canvas.save(OUT, optimize=True)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
