"""The blocks' rewritten arithmetic computes what the plain layers would, and a frame's arithmetic is counted."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vtube_plugin.bench.floor import matmul_rate, stage_flops
from vtube_plugin.nn.blocks import conv_block, phase_split_transposed, upsample_then, upsampled_depthwise
from vtube_plugin.nn.encoder_decoder import UPSAMPLING_FORMS, set_upsampling
from vtube_plugin.nn.tha3.network import THA3
from vtube_plugin.render.export import STAGE_IO, StageModule, sample_inputs


@pytest.mark.parametrize("size", [1, 5, 16])
def test_upsampled_depthwise_is_nearest_upsampling_then_the_3x3_conv(size):
    torch.manual_seed(size)
    x, weight = torch.randn(2, 6, size, size + 3), torch.randn(6, 1, 3, 3)
    plain = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, padding=1, groups=6)
    ours = upsampled_depthwise(x, weight)
    assert ours.shape == plain.shape == (2, 6, 2 * size, 2 * (size + 3))
    assert torch.allclose(ours, plain, atol=1e-5)


@pytest.mark.parametrize("size", [1, 5, 16])
def test_the_four_phases_are_the_depthwise_transposed_conv(size):
    torch.manual_seed(size)
    x, kernel = torch.randn(2, 6, size, size + 3), torch.randn(6, 1, 4, 4)
    transposed = F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=6)
    ours = phase_split_transposed(x, kernel)
    assert ours.shape == transposed.shape == (2, 6, 2 * size, 2 * (size + 3))
    assert torch.allclose(ours, transposed, atol=1e-5)
    # Each phase lands where it belongs: a kernel with one tap lit moves the input by that tap only.
    one = torch.zeros(6, 1, 4, 4)
    one[:, 0, 0, 3] = 1.0  # output (2i - 1, 2j + 2) reads input (i, j)
    shifted = phase_split_transposed(x, one)
    assert torch.equal(shifted[:, :, 1::2, 2::2][:, :, :size - 1, :size + 2], x[:, :, 1:, :size + 2])


@pytest.mark.parametrize("folded", [True, False], ids=["folded", "resized"])
@pytest.mark.parametrize("with_skip", [False, True])
def test_upsample_then_is_the_block_over_the_joined_maps(with_skip, folded):
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
        ours = upsample_then(block, x, skip if with_skip else None, folded=folded)
        assert torch.allclose(ours, block(joined), atol=1e-5)


def test_every_upsampling_form_computes_the_same_stages():
    """The forms an engine can export (folded, plain, split) are one network written three ways."""
    torch.manual_seed(3)
    network = THA3().eval()
    for p in network.parameters():  # not the initial ones: a norm's unit weight would hide a mix-up
        p.data.normal_(0, 0.2)
    inputs = {stage: tuple(torch.randn_like(t) * 0.5 for t in ins) for stage, ins in sample_inputs(network).items()}
    outputs = {}
    with torch.no_grad():
        for form in UPSAMPLING_FORMS:
            set_upsampling(network, form)
            outputs[form] = {stage: StageModule(network, stage)(*inputs[stage]) for stage in STAGE_IO}
    set_upsampling(network, "folded")
    for form in UPSAMPLING_FORMS[1:]:
        for stage, out in outputs[form].items():
            ref = outputs["folded"][stage]
            for a, b in zip(out if isinstance(out, tuple) else (out,), ref if isinstance(ref, tuple) else (ref,)):
                assert torch.allclose(a, b, atol=1e-3), (form, stage)
    with pytest.raises(ValueError, match="unknown upsampling form"):
        set_upsampling(network, "fancy")


def test_a_tha3_frame_is_counted_stage_by_stage():
    flops = stage_flops(THA3().eval())
    # Convolutions (a multiply-add is two operations), the same counts OpenVINO's graph gives.
    assert {stage: round(n / 1e6) for stage, n in flops.items()} == {
        "morph_eyebrows": 2707, "morph_face": 6292, "rotate": 11058, "edit": 14777}
    assert 1e9 < matmul_rate(repeats=2) < 1e14  # FLOP/s: some CPU, not a unit mix-up
