"""Compositing, the one place every sink puts the RGBA frame on its background, and the option parsers."""

import numpy as np
import pytest
from PIL import Image

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.choose import parse_output
from vtube_plugin.sinks.compose import Background, Compositor, parse_background, parse_size


def test_background_colours_in_every_spelling():
    assert Background() == parse_background("#00ff00") == parse_background("lime")  # chroma-key green by default
    assert parse_background("green").colour == (0, 128, 0)  # the CSS colour of that name
    assert parse_background("Magenta").colour == (255, 0, 255)
    assert parse_background("1,2,3").colour == (1, 2, 3)


def test_a_background_that_is_neither_colour_nor_file():
    with pytest.raises(UserError, match="background 'chromakey' is not a colour .* or the path of an image file"):
        parse_background("chromakey")
    with pytest.raises(UserError):
        parse_background("300,0,0")


def test_a_background_image_covers_the_output(tmp_path):
    path = tmp_path / "room.png"
    picture = np.zeros((50, 200, 3), np.uint8)
    picture[:, :100] = (255, 0, 0)
    picture[:, 100:] = (0, 0, 255)
    Image.fromarray(picture).save(path)
    compose = Compositor((40, 40), parse_background(str(path)))
    out = compose(np.zeros((16, 16, 4), np.uint8))  # fully transparent: only the background shows
    assert out.shape == (40, 40, 3)
    assert tuple(out[20, 2]) == (255, 0, 0) and tuple(out[20, 37]) == (0, 0, 255)  # centre-cropped, not squashed


def test_scaling_never_lets_the_colour_of_invisible_pixels_bleed_into_edges():
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., :3] = (255, 0, 0)  # invisible red under alpha 0, as some painting tools leave it
    rgba[8:24, 8:24] = (255, 255, 255, 255)
    out = Compositor((64, 64), Background((0, 0, 0)))(rgba).astype(int)
    assert tuple(out[32, 32]) == (255, 255, 255) and tuple(out[2, 2]) == (0, 0, 0)
    # premultiplied resampling: edges blend white with the background only, so they stay grey
    assert np.abs(out[..., 0] - out[..., 1]).max() <= 1


@pytest.mark.parametrize("side", [40, 128], ids=["scaled down", "scaled up"])
def test_a_scaled_frame_leaves_the_background_as_it_is_where_transparent_and_blends_by_alpha(tmp_path, side):
    rng = np.random.default_rng(0)
    path = tmp_path / "room.png"
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., :3] = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)  # colour under alpha 0: never shows
    rgba[16:48, 16:48] = (200, 100, 50, 255)
    room = np.asarray(Image.open(path))
    out = Compositor((side, side), parse_background(str(path)))(rgba)
    k = side / 64
    outside = np.ones((side, side), bool)
    outside[int(14 * k):int(50 * k) + 1, int(14 * k):int(50 * k) + 1] = False
    assert (out[outside] == room[outside]).all()  # the room exactly, wherever the frame is transparent
    inside = out[int(20 * k):int(44 * k), int(20 * k):int(44 * k)]
    assert (inside == (200, 100, 50)).all()  # the frame exactly, wherever it is opaque
    half = np.zeros((64, 64, 4), np.uint8)
    half[...] = (255, 255, 255, 128)
    grey = Compositor((side, side), Background((0, 0, 0)))(half)
    assert (grey == 128).all()  # 255 * 128 / 255 over black, at every scale


def test_sizes_and_outputs_parse():
    assert parse_size("1280x720") == (1280, 720)
    with pytest.raises(UserError, match="size '1280' is not WIDTHxHEIGHT"):
        parse_size("1280")
    assert parse_output("virtualcam") == ("virtualcam", "")
    assert parse_output("file:out.webm") == ("file", "out.webm")
    with pytest.raises(UserError, match="must end in .mp4 or .webm"):
        parse_output("file:out.avi")
    with pytest.raises(UserError, match="'screen' is not one of: browser.*virtualcam, window, file:PATH"):
        parse_output("screen")
