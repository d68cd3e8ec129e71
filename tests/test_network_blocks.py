"""The blocks' rewritten arithmetic computes what the plain layers would, and a frame's arithmetic is counted."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vtube_plugin.bench.floor import matmul_rate, stage_flops
from vtube_plugin.nn.blocks import conv_block, upsample_then, upsampled_depthwise
from vtube_plugin.nn.tha3.network import THA3


@pytest.mark.parametrize("size", [1, 5, 16])
def test_upsampled_depthwise_is_nearest_upsampling_then_the_3x3_conv(size):
    torch.manual_seed(size)
    x, weight = torch.randn(2, 6, size, size + 3), torch.randn(6, 1, 3, 3)
    plain = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, padding=1, groups=6)
    ours = upsampled_depthwise(x, weight)
    assert ours.shape == plain.shape == (2, 6, 2 * size, 2 * (size + 3))
    assert torch.allclose(ours, plain, atol=1e-5)


@pytest.mark.parametrize("with_skip", [False, True])
def test_upsample_then_is_the_block_over_the_joined_maps(with_skip):
    torch.manual_seed(1)
    low, skip_ch, out_ch = 8, 4, 5
    block = conv_block(low + (skip_ch if with_skip else 0), out_ch, separable=True, act="leaky_relu").eval()
    for p in block.parameters():  # not the initial ones: a norm's unit weight would hide a mix-up
        p.data.normal_()
    x, skip = torch.randn(1, low, 6, 6), torch.randn(1, skip_ch, 12, 12)
    joined = F.interpolate(x, scale_factor=2, mode="nearest")
    if with_skip:
        joined = torch.cat([joined, skip], dim=1)
    with torch.no_grad():
        assert torch.allclose(upsample_then(block, x, skip if with_skip else None), block(joined), atol=1e-5)


def test_a_tha3_frame_is_counted_stage_by_stage():
    flops = stage_flops(THA3().eval())
    # Convolutions (a multiply-add is two operations), the same counts OpenVINO's graph gives.
    assert {stage: round(n / 1e6) for stage, n in flops.items()} == {
        "morph_eyebrows": 2707, "morph_face": 6292, "rotate": 11058, "edit": 14777}
    assert 1e9 < matmul_rate(repeats=2) < 1e14  # FLOP/s: some CPU, not a unit mix-up
