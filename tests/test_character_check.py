"""`character check`: each kind of bad picture is named, every sample character passes, and the commands that
load a badly framed picture warn of it but go on."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.character_pictures import moved, sample
from vtube_plugin.character import check_character
from vtube_plugin.character.fit import place
from vtube_plugin.models.store import SAMPLE_CHARACTERS


def _shifted(rgba: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return place(rgba, 1.0, (dx, dy))


def _scaled_about_the_box(rgba: np.ndarray, factor: float) -> np.ndarray:
    return place(rgba, factor, (256 - 256 * factor, 128 - 128 * factor))


def _with_background_left(rgba: np.ndarray) -> np.ndarray:
    out = rgba.copy()
    out[:30] = out[:, :20] = (180, 180, 180, 255)
    return out


def _two_figures(rgba: np.ndarray) -> np.ndarray:
    half = place(rgba, 0.5, (0, 0), size=256)
    out = np.zeros((512, 512, 4), np.uint8)
    out[128:384, 0:256] = half
    out[128:384, 256:512] = half
    return out


def _hand_beside_the_face(rgba: np.ndarray) -> np.ndarray:
    out = rgba.copy()
    ys, xs = np.mgrid[0:512, 0:512]
    out[(ys - 125) ** 2 + (xs - 178) ** 2 < 11 ** 2] = (250, 220, 200, 255)
    return out


BAD = {
    "no-transparency": lambda rgba: moved(rgba, 1.0, (512, 512), (0, 0), (255, 255, 255), jpeg=True)[0],
    "not-square": lambda rgba: moved(rgba, 1.0, (512, 700), (0, 0))[0],
    "too-small": lambda rgba: np.array(Image.fromarray(rgba).resize((200, 200), Image.Resampling.LANCZOS)),
    "head-off-box": lambda rgba: _shifted(rgba, 60, 0),
    "head-size": lambda rgba: _scaled_about_the_box(rgba, 1.5),
    "background-left": _with_background_left,
    "second-figure": _two_figures,
    "beside-face": _hand_beside_the_face,
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_each_kind_of_bad_picture_is_named(kind):
    findings = check_character(BAD[kind](sample("crypko_00.png")))
    assert kind in [f.kind for f in findings], findings


def test_it_says_which_way_and_by_how_much_the_head_is_off():
    right = [f.message for f in check_character(_shifted(sample("lambda_00.png"), 60, 0))]
    assert any("about 60 px too far right" in m or "about 59 px too far right" in m or "about 61 px too far right" in m
               for m in right), right
    high = [f.message for f in check_character(_shifted(sample("lambda_00.png"), 0, -50))]
    assert any("too high" in m for m in high), high
    small = [f.message for f in check_character(_scaled_about_the_box(sample("lambda_00.png"), 0.6))]
    assert any("too small" in m for m in small), small


@pytest.mark.parametrize("name", SAMPLE_CHARACTERS)
def test_every_sample_character_passes(name):
    assert check_character(sample(name)) == []


def test_check_on_the_command_line(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(sample("crypko_02.png")).save(good)
    done = _cli("character", "check", str(good))
    assert done.returncode == 0 and "fine" in done.stdout
    bad = tmp_path / "bad.png"
    Image.fromarray(_shifted(sample("crypko_02.png"), -70, 0)).save(bad)
    done = _cli("character", "check", str(bad))
    assert done.returncode == 2 and "problem: the head is about" in done.stdout and "left" in done.stdout
    missing = _cli("character", "check", str(tmp_path / "nothere.png"))
    assert missing.returncode == 2 and "not found" in missing.stderr and "Traceback" not in missing.stderr


def test_render_warns_of_a_badly_framed_picture_and_still_renders(tmp_path):
    bad = tmp_path / "off.png"
    Image.fromarray(_shifted(sample("crypko_00.png"), 64, 0)).save(bad)
    out = tmp_path / "posed.png"
    done = _cli("render", str(bad), "--pose", "mouth_aaa=1", "-o", str(out), "--engine", "openvino",
                "--precision", "fp32")
    assert done.returncode == 0, done.stderr
    assert "warning: off.png: the head is about" in done.stderr and "too far right" in done.stderr
    assert out.is_file()


def test_the_preview_shows_the_character_posed(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(sample("lambda_00.png")).save(good)
    sheet_path = tmp_path / "sheet.png"
    done = _cli("character", "check", str(good), "--preview", str(sheet_path), "--engine", "openvino",
                "--precision", "fp32")
    assert done.returncode == 0, done.stderr
    assert "rendering the preview: 5/5" in done.stderr
    sheet = np.asarray(Image.open(sheet_path).convert("RGB")).astype(float)
    assert sheet.shape == (278, 5 * 256, 3)
    tiles = [sheet[22:, i * 256:(i + 1) * 256] for i in range(5)]
    # The eyes (upper face) change when they close; the head turned moves the face; as drawn is the character.
    for i in (1, 2, 3, 4):
        assert np.abs(tiles[i] - tiles[0]).mean() > 0.05, i


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vtube_plugin", *args], capture_output=True, text=True, timeout=300)
