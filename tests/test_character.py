"""Loading character pictures: good ones come back as (size, size, 4) uint8; bad ones get a message
that says how to fix the picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vtube_plugin.character import load_character
from vtube_plugin.errors import UserError


def _character(width: int, height: int, mode: str = "RGBA") -> Image.Image:
    """A transparent canvas with an opaque orange disc where the head goes (centre of the top half)."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    disc = Image.new("RGBA", (width // 4, width // 4), (240, 140, 40, 255))
    image.paste(disc, (width // 2 - width // 8, height // 4 - width // 8))
    return image.convert(mode)


def _fails(path: Path, size: int = 512) -> UserError:
    with pytest.raises(UserError) as caught:
        load_character(path, size)
    assert caught.value.exit_code == 2
    return caught.value


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_a_512_rgba_picture_loads_unchanged(tmp_path, capsys, suffix):
    path = tmp_path / f"me{suffix}"
    _character(512, 512).save(path, lossless=True)

    pixels = load_character(path, 512)

    assert pixels.shape == (512, 512, 4) and pixels.dtype == np.uint8
    assert tuple(pixels[128, 256]) == (240, 140, 40, 255)
    assert pixels[500, 10, 3] == 0
    assert capsys.readouterr().err == ""


def test_a_larger_square_is_resized_with_a_notice(tmp_path, capsys):
    path = tmp_path / "big.png"
    _character(1024, 1024).save(path)

    pixels = load_character(path, 512)

    assert pixels.shape == (512, 512, 4)
    assert tuple(pixels[128, 256]) == (240, 140, 40, 255)
    assert "resized 1024x1024 -> 512x512" in capsys.readouterr().err


def test_a_palette_png_with_a_transparent_colour_counts_as_transparent(tmp_path):
    path = tmp_path / "palette.png"
    _character(256, 256).convert("RGB").quantize(4).save(path, transparency=0)
    pixels = load_character(path, 256)
    assert pixels.shape == (256, 256, 4)
    assert set(np.unique(pixels[..., 3])) == {0, 255}


def test_a_missing_file(tmp_path):
    err = _fails(tmp_path / "nobody.png")
    assert str(err) == f"character image {tmp_path / 'nobody.png'} not found."


def test_a_folder_instead_of_a_file(tmp_path):
    assert "is a folder" in str(_fails(tmp_path))


def test_a_file_that_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is a text file")
    assert "is not an image (expected a PNG or WebP file)" in str(_fails(path))


def test_a_truncated_png(tmp_path):
    path = tmp_path / "cut.png"
    _character(512, 512).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    message = str(_fails(path))

    assert "is damaged or incomplete" in message
    assert "export it again" in message


def test_no_alpha_channel_says_how_to_make_the_background_transparent(tmp_path):
    path = tmp_path / "photo.jpg"
    _character(512, 512, "RGB").save(path)

    message = str(_fails(path))

    assert "has no transparency (alpha channel)" in message
    assert "transparent background" in message
    assert "Add Alpha Channel" in message and "PNG or WebP" in message


def test_an_alpha_channel_with_nothing_transparent(tmp_path):
    path = tmp_path / "opaque.png"
    Image.new("RGBA", (512, 512), (20, 30, 40, 255)).save(path)
    assert "no transparent pixels" in str(_fails(path))


def test_not_square_gives_its_size_and_how_to_fix_it(tmp_path):
    path = tmp_path / "wide.png"
    _character(800, 600).save(path)

    message = str(_fails(path))

    assert "is 800x600; it must be square" in message
    assert "vtube-plugin character fit" in message and "head in the network's box" in message


def test_too_small(tmp_path):
    path = tmp_path / "tiny.png"
    _character(200, 200).save(path)
    assert "is 200x200, too small: the smallest usable size is 256x256" in str(_fails(path))
