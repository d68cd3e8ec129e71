"""The encoder-decoder bodies every stage is built on; each returns its last (full-size) feature map.

- PoseEncoderDecoder: conv down to a bottleneck, the pose tiled in there, transposed convs back up
  (the eyebrow and face stages of THA2 and THA3).
- EncoderDecoder: 7x7 conv in, transposed convs back up, all in one flat list (THA2's rotator).
- UNet: the same with skip connections at every size (THA2's combiner).
- ResizeEncoderDecoder: 7x7 conv in, resize-conv (nearest upsample + conv) back up (THA3's rotator).
- ResizeUNet: the same with skip connections at every size (THA3's editor).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vtube_plugin.nn.blocks import (
    NamedResidualBlock,
    ResidualBlock,
    conv_block,
    downsample_block,
    transposed_upsample_split,
    upsample_block,
    upsample_then,
)


def _down_channels(start_ch: int, image_size: int, bottleneck_size: int, max_ch: int) -> list[int]:
    """Channels at each size from the input down to the bottleneck: doubling while halving the size."""
    channels, size = [start_ch], image_size
    while size > bottleneck_size:
        size //= 2
        channels.append(min(start_ch * (image_size // size), max_ch))
    return channels


def _down_path(in_ch: int, channels: list[int], first_kernel: int, separable: bool, act: str) -> list[nn.Module]:
    """A conv block into the first size's channels, then one halving block per further size."""
    return [conv_block(in_ch, channels[0], first_kernel, separable=separable, act=act)] + [
        downsample_block(a, b, separable=separable, act=act) for a, b in zip(channels, channels[1:])]


def tile_pose(pose: Tensor, size: int) -> Tensor:
    """(n, c) -> (n, c, size, size): the pose as constant image channels."""
    n, c = pose.shape
    return pose.view(n, c, 1, 1).expand(n, c, size, size)


# How the separable bodies double their size (render/plan.py FORMS):
# - "folded": the resize bodies run blocks.upsample_then folded (fastest in fp32 in torch and OpenVINO);
# - "plain": the upsample and concatenation as written (ONNX Runtime's CPU provider runs depthwise transposed
#   convs slowly);
# - "split": what bf16 kernels run fastest: the morphers' depthwise transposed convs split into their four phases
#   (blocks.transposed_upsample_split), the resize bodies' concatenations into two pointwise convs that add
#   (blocks.upsample_then, not folded): bf16 has no fast depthwise transposed conv, nor a fast concatenation.
UPSAMPLING_FORMS = ("folded", "plain", "split")


def set_upsampling(network: nn.Module, form: str) -> None:
    """Every separable body of `network` upsamples in `form` (one of UPSAMPLING_FORMS)."""
    if form not in UPSAMPLING_FORMS:
        raise ValueError(f"unknown upsampling form {form!r}")
    for module in network.modules():
        if hasattr(module, "upsampling"):
            module.upsampling = form


class PoseEncoderDecoder(nn.Module):
    def __init__(self, *, image_size: int, in_ch: int, start_ch: int, bottleneck_size: int,
                 num_bottleneck_blocks: int, max_ch: int, num_pose: int, separable: bool, act: str = "relu"):
        super().__init__()
        self.bottleneck_size = bottleneck_size
        self.num_pose = num_pose
        channels = _down_channels(start_ch, image_size, bottleneck_size, max_ch)
        self.downsample_blocks = nn.ModuleList(_down_path(in_ch, channels, 3, separable, act))
        ch = channels[-1]
        self.bottleneck_blocks = nn.ModuleList([conv_block(ch + num_pose, ch, separable=separable, act=act)])
        self.bottleneck_blocks.extend(ResidualBlock(ch, separable=separable, act=act)
                                      for _ in range(1, num_bottleneck_blocks))
        self.upsample_blocks = nn.ModuleList(upsample_block(a, b, separable=separable, act=act)
                                             for a, b in zip(channels[:0:-1], channels[-2::-1]))
        self.separable = separable
        self.upsampling = "folded"  # see set_upsampling: only "split" changes how these blocks run

    def forward(self, image: Tensor, pose: Tensor | None = None) -> Tensor:
        x = image
        for block in self.downsample_blocks:
            x = block(x)
        if self.num_pose:
            x = torch.cat([x, tile_pose(pose, self.bottleneck_size)], dim=1)
        for block in self.bottleneck_blocks:
            x = block(x)
        split = self.separable and self.upsampling == "split"
        for block in self.upsample_blocks:
            x = transposed_upsample_split(block, x) if split else block(x)
        return x


class EncoderDecoder(nn.Module):
    """THA2's rotator body. The checkpoint keeps every block in one list, `module_list`."""

    def __init__(self, *, image_size: int, in_ch: int, start_ch: int, bottleneck_size: int,
                 num_bottleneck_blocks: int, max_ch: int, separable: bool, act: str):
        super().__init__()
        channels = _down_channels(start_ch, image_size, bottleneck_size, max_ch)
        blocks = _down_path(in_ch, channels, 7, separable, act)
        blocks += [NamedResidualBlock(channels[-1], separable=separable, act=act)
                   for _ in range(num_bottleneck_blocks)]
        blocks += [upsample_block(a, b, separable=separable, act=act)
                   for a, b in zip(channels[:0:-1], channels[-2::-1])]
        self.module_list = nn.ModuleList(blocks)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.module_list:
            x = block(x)
        return x


class UNet(nn.Module):
    """THA2's combiner body: transposed convs up, each after the first one reading (feature, skip) together,
    then a 7x7 conv block at full size. The checkpoint stores `upsampling_modules` in reverse order of use."""

    def __init__(self, *, image_size: int, in_ch: int, start_ch: int, bottleneck_size: int,
                 num_bottleneck_blocks: int, max_ch: int, separable: bool, act: str):
        super().__init__()
        channels = _down_channels(start_ch, image_size, bottleneck_size, max_ch)
        self.downward_modules = nn.ModuleList(_down_path(in_ch, channels, 7, separable, act))
        self.bottleneck_modules = nn.ModuleList([NamedResidualBlock(channels[-1], separable=separable, act=act)
                                                 for _ in range(num_bottleneck_blocks)])
        in_use_order = [upsample_block(channels[-1], channels[-2], separable=separable, act=act)]
        in_use_order += [upsample_block(2 * channels[i], channels[i - 1], separable=separable, act=act)
                         for i in range(len(channels) - 2, 0, -1)]
        in_use_order.append(conv_block(2 * start_ch, start_ch, 7, separable=separable, act=act))
        self.upsampling_modules = nn.ModuleList(reversed(in_use_order))

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for block in self.downward_modules:
            x = block(x)
            skips.append(x)
        for block in self.bottleneck_modules:
            x = block(x)
        x = self.upsampling_modules[-1](x)
        for i in range(len(self.upsampling_modules) - 2, -1, -1):
            x = self.upsampling_modules[i](torch.cat([x, skips[i]], dim=1))
        return x


class ResizeEncoderDecoder(nn.Module):
    def __init__(self, *, image_size: int, in_ch: int, start_ch: int, bottleneck_size: int,
                 num_bottleneck_blocks: int, max_ch: int, separable: bool, act: str):
        super().__init__()
        channels = _down_channels(start_ch, image_size, bottleneck_size, max_ch)
        self.downsample_blocks = nn.ModuleList(_down_path(in_ch, channels, 7, separable, act))
        self.bottleneck_blocks = nn.ModuleList(
            [ResidualBlock(channels[-1], separable=separable, act=act) for _ in range(num_bottleneck_blocks)])
        self.separable = separable
        self.upsampling = "folded"  # see set_upsampling
        self.upsample_blocks = nn.ModuleList(
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv_block(a, b, separable=separable, act=act))
            for a, b in zip(channels[:0:-1], channels[-2::-1]))

    def forward(self, x: Tensor) -> Tensor:
        for block in self.downsample_blocks:
            x = block(x)
        for block in self.bottleneck_blocks:
            x = block(x)
        for block in self.upsample_blocks:
            if self.separable and self.upsampling != "plain":
                x = upsample_then(block[1], x, folded=self.upsampling == "folded")
            else:
                x = block(x)
        return x


class ResizeUNet(nn.Module):
    def __init__(self, *, image_size: int, in_ch: int, start_ch: int, bottleneck_size: int,
                 num_bottleneck_blocks: int, max_ch: int, separable: bool, act: str):
        super().__init__()
        channels = _down_channels(start_ch, image_size, bottleneck_size, max_ch)
        self.downsample_blocks = nn.ModuleList(_down_path(in_ch, channels, 3, separable, act))
        self.bottleneck_blocks = nn.ModuleList(
            [ResidualBlock(channels[-1], separable=separable, act=act) for _ in range(num_bottleneck_blocks)])
        self.separable = separable
        self.upsampling = "folded"  # see set_upsampling
        self.upsample_blocks = nn.ModuleList(conv_block(a + b, b, separable=separable, act=act)
                                             for a, b in zip(channels[:0:-1], channels[-2::-1]))

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for block in self.downsample_blocks:
            x = block(x)
            skips.append(x)
        for block in self.bottleneck_blocks:
            x = block(x)
        for i, block in enumerate(self.upsample_blocks):
            if self.separable and self.upsampling != "plain":
                x = upsample_then(block, x, skips[-i - 2], folded=self.upsampling == "folded")
            else:
                x = block(torch.cat([F.interpolate(x, scale_factor=2, mode="nearest"), skips[-i - 2]], dim=1))
        return x
