"""`character fit`: the sample characters moved about as a user's picture would come (scaled 0.6x to 1.6x,
shifted on a canvas of another shape, flattened onto white or a colour, saved as JPEG) come back framed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.character_pictures import moved, sample, silhouette_iou
from vtube_plugin.character import fit_character
from vtube_plugin.character.background import remove_background
from vtube_plugin.character.fit import place
from vtube_plugin.character.head import BOX_LEFT, BOX_SIZE, BOX_TOP
from vtube_plugin.errors import UserError
from vtube_plugin.models.store import SAMPLE_CHARACTERS

WHITE, BLUE, PALE = (255, 255, 255), (40, 90, 200), (230, 230, 230)
# (scale, canvas, where the scaled 512 picture's corner goes, background it is flattened onto, JPEG)
MOVES = [(0.6, (500, 400), (60, 30), WHITE, True),
         (1.6, (1000, 1300), (100, 40), WHITE, True),
         (1.0, (700, 600), (120, 20), BLUE, True),
         (0.8, (600, 900), (30, 200), None, False),
         (1.3, (900, 700), (150, 10), PALE, False)]


def _where_box_lands(result, factor: float, at: tuple[int, int]) -> np.ndarray:
    """Where the sample's own head box (x, y, size) lands in the fitted picture."""
    x, y, size = (np.array([BOX_LEFT, BOX_TOP, BOX_SIZE]) * factor + [at[0], at[1], 0]) * result.scale
    return np.array([x + result.offset[0], y + result.offset[1], size])


def _corner_error(box: np.ndarray, target: np.ndarray) -> float:
    """The largest distance, in pixels, of the box's edges from the target's."""
    d = box - target
    return float(max(abs(d[0]), abs(d[1]), abs(d[0] + d[2]), abs(d[1] + d[2])))


# The silhouette finds these two heads within 2 px and 3 % of their own framing (crypko_04 was not among the
# four pictures the constants in head.py were tuned on). For the other samples the hairstyle hides the neck
# or the hair is not centred on the face, and the guess is off by up to 21 px and 16 % (the table in
# docs/character-images.md): for them the next test's promise holds, that a moved picture comes back as the
# unmoved one does.
@pytest.mark.parametrize("name, move", [("lambda_00.png", MOVES[0]), ("lambda_00.png", MOVES[1]),
                                        ("crypko_04.png", MOVES[2]), ("lambda_00.png", MOVES[3]),
                                        ("lambda_00.png", MOVES[4])])
def test_a_moved_picture_comes_back_to_the_original_box(name, move):
    original = sample(name)
    factor, canvas, at, flatten, jpeg = move
    picture, real = moved(original, factor, canvas, at, flatten, jpeg)
    result = fit_character(picture)
    assert result.image.shape == (512, 512, 4)
    assert result.background_removed == (flatten is not None)
    assert _corner_error(_where_box_lands(result, real, at), np.array([BOX_LEFT, BOX_TOP, BOX_SIZE])) <= 6
    assert silhouette_iou(result.image[..., 3], original[..., 3]) >= 0.9


def test_every_sample_comes_back_as_its_unmoved_self():
    """Wherever and however large the picture is, the head lands in the same place (within 8 px, 6 % of the
    box: JPEG and a background taken off move the silhouette's edge by a pixel or two)."""
    errors = {}
    for i, name in enumerate(SAMPLE_CHARACTERS):
        original = sample(name)
        unmoved = fit_character(original)
        factor, canvas, at, flatten, jpeg = MOVES[i % len(MOVES)]
        picture, real = moved(original, factor, canvas, at, flatten, jpeg)
        result = fit_character(picture)
        target = np.array([BOX_LEFT, BOX_TOP, BOX_SIZE]) * unmoved.scale + [*unmoved.offset, 0]
        errors[name] = round(_corner_error(_where_box_lands(result, real, at), target), 1)
        assert silhouette_iou(result.image[..., 3], unmoved.image[..., 3]) >= 0.85, name
    assert max(errors.values()) <= 8, errors


def test_a_picture_with_transparency_is_only_placed():
    original = sample("crypko_01.png")
    canvas = np.zeros((700, 640, 4), np.uint8)
    canvas[100:612, 60:572] = original
    result = fit_character(canvas, head=(60 + BOX_LEFT, 100 + BOX_TOP, BOX_SIZE, BOX_SIZE))
    assert result.background is None and result.scale == 1 and result.offset == (-60, -100)
    assert np.array_equal(result.image[..., 3], original[..., 3])
    opaque = original[..., 3] == 255
    assert np.array_equal(result.image[opaque], original[opaque])


def test_a_soft_gradient_background_comes_off_with_soft_edges():
    original = sample("crypko_05.png")
    rows = np.linspace(0, 1, 512)[:, None, None]
    gradient = (np.array([250, 235, 200]) * (1 - rows) + np.array([200, 220, 250]) * rows)
    a = original[..., 3:4] / 255
    picture = np.rint(original[..., :3] * a + gradient * (1 - a)).astype(np.uint8)
    rgba, background = remove_background(picture)
    assert silhouette_iou(rgba[..., 3], original[..., 3]) >= 0.9
    edge = (rgba[..., 3] > 20) & (rgba[..., 3] < 235)
    assert edge.sum() > 1000  # anti-aliased hair ends stay partly transparent
    assert background.noise < 2


def test_a_busy_background_is_refused_with_the_tools_that_remove_it(tmp_path):
    original = sample("crypko_00.png")
    noise = np.random.default_rng(1).integers(0, 256, (512, 512, 3))
    a = original[..., 3:4] / 255
    busy = np.rint(original[..., :3] * a + noise * (1 - a)).astype(np.uint8)
    with pytest.raises(UserError, match="rembg"):
        fit_character(busy)
    path = tmp_path / "busy.jpg"
    Image.fromarray(busy).save(path)
    done = _cli("fit", str(path), "-o", str(tmp_path / "out.png"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not one flat colour" in done.stderr and "rembg" in done.stderr


def test_fit_on_the_command_line_says_what_it_did(tmp_path):
    picture, _ = moved(sample("lambda_00.png"), 1.4, (900, 1100), (80, 150), WHITE, jpeg=True)
    source = tmp_path / "me.jpg"
    Image.fromarray(picture).save(source, quality=92)
    out = tmp_path / "me.png"
    done = _cli("fit", str(source), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "scale 0.71" in done.stdout and "background: removed" in done.stdout and "confidence" in done.stdout
    assert Image.open(out).size == (512, 512) and Image.open(out).mode == "RGBA"
    given = _cli("fit", str(source), "-o", str(out), "--head", "350,240,180,180")
    assert given.returncode == 0 and "given with --head" in given.stdout and "scale 0.711" in given.stdout


@pytest.mark.parametrize("args, message", [
    (["nothere.png", "-o", "out.png"], "not found"),
    (["{picture}", "-o", "out.jpg"], "must end in .png or .webp"),
    (["{picture}", "-o", "out.png", "--head", "1,2,3"], "four numbers"),
    (["{picture}", "-o", "out.png", "--head", "5000,10,100,100"], "outside"),
])
def test_fit_mistakes_are_said_plainly(tmp_path, args, message):
    picture = tmp_path / "me.png"
    Image.fromarray(sample("crypko_00.png")).save(picture)
    args = [a.replace("{picture}", str(picture)).replace("out.", str(tmp_path / "out.")) for a in args]
    done = _cli("fit", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_place_keeps_invisible_colour_out_of_the_edges():
    """Scaling is premultiplied: a red, fully transparent surround does not tint a white square's edge."""
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[16:48, 16:48] = 255
    placed = place(rgba, 2.3, (10.4, 20.7), size=256)
    visible = placed[..., 3] > 0
    assert placed[visible, 1].min() >= 250  # green stays full: no red bled in


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vtube_plugin", "character", *args], capture_output=True,
                          text=True, timeout=120)


def _face(frame: np.ndarray) -> np.ndarray:
    """The face morpher's 192x192 region of a frame, over mid grey."""
    a = frame[..., 3:4] / 255
    return (frame[..., :3] * a + 128 * (1 - a))[32:224, 160:352]


def _psnr(difference: np.ndarray) -> float:
    return float(10 * np.log10(255 ** 2 / max(1e-9, np.mean(difference ** 2))))


@pytest.mark.parametrize("name, move", [("crypko_04.png", MOVES[2])])
def test_the_fitted_character_blinks_and_speaks_like_the_original(name, move):
    """Rendered with the real network, the fitted character's blink and open mouth are the original's.

    The fitted picture sits a pixel or two and a few per cent off the original (JPEG, a background taken off,
    the silhouette's guess), which alone costs the still pictures some PSNR; so both are compared in the fitted
    frame (the original's frames moved by the same known amount), and what is compared is the motion: the
    posed frame minus the unposed one. Threshold: the motion's error must be at least 3 dB below the motion
    itself, i.e. carry under half its energy; a character that did not blink at all scores 0 dB over, one
    framed so that the network misses the eyes a few dB. Measured: 8-9 dB for the blink, 4-7 for the mouth.
    """
    from vtube_plugin.pose import Pose
    from vtube_plugin.render.renderer import Renderer

    original = sample(name)
    factor, canvas, at, flatten, jpeg = move
    picture, real = moved(original, factor, canvas, at, flatten, jpeg)
    fitted = fit_character(picture)
    scale = real * fitted.scale
    offset = (at[0] * fitted.scale + fitted.offset[0], at[1] * fitted.scale + fitted.offset[1])
    renderer = Renderer.load(engine="openvino", precision="fp32")
    poses = {"open": Pose(), "blink": Pose.from_dict({"eye_wink_left": 1, "eye_wink_right": 1}),
             "mouth": Pose.from_dict({"mouth_aaa": 1})}
    frames = {}
    for who, rgba in (("original", original), ("fitted", fitted.image)):
        renderer.set_character(rgba)
        for pose_name, pose in poses.items():
            frame = renderer.render(pose)
            frames[who, pose_name] = _face(place(frame, scale, offset) if who == "original" else frame)
    for pose_name in ("blink", "mouth"):
        motion = frames["original", pose_name] - frames["original", "open"]
        fitted_motion = frames["fitted", pose_name] - frames["fitted", "open"]
        assert _psnr(fitted_motion - motion) >= _psnr(motion) + 3, pose_name
    # And the posed pictures as a whole are as close as the still pictures were: the network does not make
    # the small difference fitting left much larger (measured: 0.5-4.5 dB below the still pictures' 26-33 dB).
    still = _psnr(_face(place(original, scale, offset)) - _face(fitted.image))
    assert _psnr(frames["fitted", "blink"] - frames["original", "blink"]) >= still - 6
