"""Conv building blocks shared by THA2 (plain convs) and THA3 (depthwise-separable convs).

Every block is conv -> InstanceNorm2d(affine) -> activation, laid out as `nn.Sequential`s so that the
official checkpoints' state_dict keys (`.0.weight`, `.1.weight`, ...) load strictly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def activation(kind: str) -> nn.Module:
    """'relu' (THA2, THA3's face stages) or 'leaky_relu' (slope 0.1: THA3's rotator and editor)."""
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "leaky_relu":
        return nn.LeakyReLU(0.1, inplace=True)
    raise ValueError(f"unknown activation {kind!r}")


def _convs(in_ch: int, out_ch: int, kernel: int, stride: int, padding: int, separable: bool,
           transpose: bool = False, bias: bool = False) -> list[nn.Module]:
    """A plain conv, or a depthwise conv followed by a pointwise 1x1 conv (two modules)."""
    conv_type = nn.ConvTranspose2d if transpose else nn.Conv2d
    if not separable:
        return [conv_type(in_ch, out_ch, kernel, stride, padding, bias=bias)]
    return [conv_type(in_ch, in_ch, kernel, stride, padding, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, out_ch, 1, bias=bias)]


def conv(in_ch: int, out_ch: int, kernel: int = 3, *, separable: bool = False, bias: bool = False) -> nn.Module:
    """A same-size k x k convolution (a Sequential of two when separable)."""
    layers = _convs(in_ch, out_ch, kernel, 1, kernel // 2, separable, bias=bias)
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


def conv_block(in_ch: int, out_ch: int, kernel: int = 3, *, separable: bool, act: str) -> nn.Sequential:
    return nn.Sequential(*_convs(in_ch, out_ch, kernel, 1, kernel // 2, separable),
                         nn.InstanceNorm2d(out_ch, affine=True), activation(act))


def downsample_block(in_ch: int, out_ch: int, *, separable: bool, act: str) -> nn.Sequential:
    """Halves the size: a 4x4 stride-2 conv."""
    return nn.Sequential(*_convs(in_ch, out_ch, 4, 2, 1, separable),
                         nn.InstanceNorm2d(out_ch, affine=True), activation(act))


def upsample_block(in_ch: int, out_ch: int, *, separable: bool, act: str) -> nn.Sequential:
    """Doubles the size: a 4x4 stride-2 transposed conv."""
    return nn.Sequential(*_convs(in_ch, out_ch, 4, 2, 1, separable, transpose=True),
                         nn.InstanceNorm2d(out_ch, affine=True), activation(act))


# Nearest 2x upsampling and then a 3x3 depthwise conv is one 4x4 stride-2 depthwise transposed conv whose taps are
# sums of the 3x3 taps (output row 2i reads input rows i-1 and i, row 2i+1 rows i and i+1; the same for columns):
# the same numbers, without writing out the upsampled map, four times the input. Row k of this matrix says which
# 3x3 taps add up to tap k of the 4x4 kernel.
_NEAREST_UP_TAPS = ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 0.0))


def upsampled_depthwise(x: Tensor, weight: Tensor, *, folded: bool = True) -> Tensor:
    """= F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, padding=1, groups=channels) for a
    (channels, 1, 3, 3) depthwise weight; folded: as one depthwise transposed conv, else as written."""
    if not folded:
        return F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, padding=1, groups=x.shape[1])
    taps = weight.new_tensor(_NEAREST_UP_TAPS)
    kernel = torch.einsum("ya,cab,xb->cyx", taps, weight[:, 0], taps).unsqueeze(1)
    return F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=x.shape[1])


# Output row 2m of a 4x4 stride-2 transposed conv with padding 1 reads input rows m-1 and m (kernel rows 3 and 1),
# row 2m+1 rows m and m+1 (kernel rows 2 and 0): each of the four output phases (even/odd row, even/odd column) is
# a 3x3 depthwise correlation at the input's own size. Matrix a picks, for window row r (input row m-1+r), the
# kernel row that phase a reads there.
_PHASE_PICK = (((0.0, 0.0, 0.0, 1.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0)),
               ((0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (1.0, 0.0, 0.0, 0.0)))


def phase_split_transposed(x: Tensor, kernel: Tensor) -> Tensor:
    """= F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=channels) for a (channels, 1, 4, 4) depthwise
    kernel, as four depthwise 3x3 convs at the input's size whose outputs interleave into the doubled map (a pixel
    shuffle): kernels bf16 runs fast, where it has no fast depthwise transposed conv."""
    pick = kernel.new_tensor(_PHASE_PICK)
    n, c, h, w = x.shape
    phases = [F.conv2d(x, torch.einsum("ry,cyx,sx->crs", pick[a], kernel[:, 0], pick[b]).unsqueeze(1),
                       padding=1, groups=c) for a in (0, 1) for b in (0, 1)]
    return F.pixel_shuffle(torch.stack(phases, 2).reshape(n, 4 * c, h, w), 2)


def transposed_upsample_split(block: nn.Sequential, x: Tensor) -> Tensor:
    """upsample_block's separable block(x) (depthwise 4x4 stride-2 transposed conv, pointwise, norm, activation)
    with the transposed conv split into its four phases (phase_split_transposed)."""
    depthwise, *rest = block
    y = phase_split_transposed(x, depthwise.weight)
    for layer in rest:
        y = layer(y)
    return y


def upsample_then(block: nn.Sequential, x: Tensor, skip: Tensor | None = None, *, folded: bool = True) -> Tensor:
    """`block(cat([nearest 2x upsample of x, skip]))` for a separable conv block (depthwise 3x3, pointwise,
    norm, activation), with the concatenation split into two pointwise convs that add up, so the joined map is
    never built; folded: the upsampling folded into the depthwise conv too, so the upsampled map is not either."""
    depthwise, pointwise, norm, act = block
    n = x.shape[1]
    y = F.conv2d(upsampled_depthwise(x, depthwise.weight[:n], folded=folded), pointwise.weight[:, :n])
    if skip is not None:
        y = y + F.conv2d(F.conv2d(skip, depthwise.weight[n:], padding=1, groups=skip.shape[1]),
                         pointwise.weight[:, n:])
    return act(norm(y))


class ResidualBlock(nn.Module):
    """x + (conv, norm, act, conv, norm)(x)."""

    def __init__(self, channels: int, *, separable: bool, act: str):
        super().__init__()
        self.resnet_path = nn.Sequential(
            conv(channels, channels, separable=separable), nn.InstanceNorm2d(channels, affine=True), activation(act),
            conv(channels, channels, separable=separable), nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.resnet_path(x)


class NamedResidualBlock(nn.Module):
    """The same block with its layers as named attributes (conv1, norm1, conv2, norm2): the key layout of
    THA2's rotator and combiner, which come from the authors' earlier code."""

    def __init__(self, channels: int, *, separable: bool, act: str):
        super().__init__()
        self.conv1 = conv(channels, channels, separable=separable)
        self.norm1 = nn.InstanceNorm2d(channels, affine=True)
        self.act = activation(act)
        self.conv2 = conv(channels, channels, separable=separable)
        self.norm2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.norm2(self.conv2(self.act(self.norm1(self.conv1(x)))))


# Output heads read the last feature map with one plain conv: 3x3 with a bias in THA3 and THA2's face stages,
# 7x7 without one in THA2's rotator and combiner.
def alpha_head(in_ch: int, out_ch: int = 1, *, kernel: int = 3, bias: bool = True) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=bias), nn.Sigmoid())


def color_head(in_ch: int, out_ch: int = 4, *, kernel: int = 3, bias: bool = True) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=bias), nn.Tanh())


def grid_head(in_ch: int, *, kernel: int = 3) -> nn.Conv2d:
    """Two channels of pixel offsets for `image_ops.warp`."""
    return nn.Conv2d(in_ch, 2, kernel, padding=kernel // 2, bias=False)


def run_heads(feature: Tensor, *heads: nn.Module) -> list[Tensor]:
    """Several heads that read the same feature map, run as one convolution: one pass over a large feature
    map instead of one per head (a third of the time at 512x512), the same numbers as running them apart.
    Each head is a Conv2d, or a Sequential of a Conv2d and its activation; all share kernel and padding."""
    convs = [h[0] if isinstance(h, nn.Sequential) else h for h in heads]
    weight = torch.cat([c.weight for c in convs])
    bias = torch.cat([c.bias if c.bias is not None else c.weight.new_zeros(c.out_channels) for c in convs])
    out = F.conv2d(feature, weight, bias, padding=convs[0].padding)
    results, start = [], 0
    for head, conv in zip(heads, convs):
        part = out[:, start:start + conv.out_channels]
        start += conv.out_channels
        results.append(head[1](part) if isinstance(head, nn.Sequential) else part)
    return results
