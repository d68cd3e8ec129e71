"""Stage 5: at full 512x512 size, refine the rotator's warp and retouch colour: the final image."""

import torch
from torch import Tensor, nn

from vtube_plugin.nn.blocks import alpha_head, color_head, grid_head, run_heads
from vtube_plugin.nn.encoder_decoder import ResizeUNet, tile_pose
from vtube_plugin.nn.image_ops import partial_change, warp


class Editor(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = ResizeUNet(image_size=512, in_ch=4 + 4 + 2 + 6, start_ch=32, bottleneck_size=64,
                               num_bottleneck_blocks=6, max_ch=512, separable=True, act="leaky_relu")
        self.color_change_creator = color_head(32)
        self.alpha_creator = alpha_head(32, 4)
        self.grid_change_creator = grid_head(32)

    def forward(self, original: Tensor, warped: Tensor, grid_change: Tensor, pose: Tensor) -> Tensor:
        feature = self.body(torch.cat([original, warped, grid_change, tile_pose(pose, original.shape[-1])], dim=1))
        more_grid_change, color, alpha = run_heads(feature, self.grid_change_creator, self.color_change_creator,
                                                   self.alpha_creator)
        return partial_change(warp(original, grid_change + more_grid_change), color, alpha)
